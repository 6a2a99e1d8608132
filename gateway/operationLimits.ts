/**
 * Operation limits: per-role bounds on an operation's shape and estimated cost, checked
 * after validation and before anything is planned or sent to a subgraph. A refused operation gets
 * one GraphQL error, `OPERATION_LIMIT_EXCEEDED` with the limit, its maximum and the actual value,
 * and HTTP 400.
 *
 * Depth, aliases, directives and tokens are counted by graphql-armor's own rules; root fields by a
 * small walk below (no library counts them); cost by graphql-query-complexity with an estimator
 * that multiplies a paginated field's selection by its page size. Everything but a cost that
 * depends on variables is measured once per parsed document (Apollo reuses the DocumentNode of a
 * query text it has seen), so a known operation costs a few comparisons.
 */
import type { ApolloServerPlugin, GraphQLRequestListener } from '@apollo/server';
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import { MaxTokensParserWLexer } from '@escape.tech/graphql-armor-max-tokens';
import {
  GraphQLError,
  Kind,
  visit,
  visitInParallel,
  type ASTVisitor,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
} from 'graphql';
import { getComplexity, type ComplexityEstimator } from 'graphql-query-complexity';
import { ROLES, type Role } from '../lib/access.ts';
import type { Config } from '../lib/config.ts';
import type { GatewayContext } from './context.ts';
import { ErrorCode } from '../lib/errors.ts';

/** The limits of one role; an operation may reach each value, not exceed it. */
export interface OperationLimits {
  /** Deepest field nesting (fragments add no level; the `__schema` introspection subtree counts 0). */
  readonly maxDepth: number;
  /** Aliased fields, fragments expanded (aliases of `__typename` are free). */
  readonly maxAliases: number;
  /** Distinct fields of the root selection, fragments expanded (`__typename` is free). */
  readonly maxRootFields: number;
  /** Directive uses, fragments expanded. */
  readonly maxDirectives: number;
  /** Lexical tokens of the whole document (names, punctuation, values; not comments). */
  readonly maxTokens: number;
  /**
   * Estimated cost: 1 per field plus its selection's cost, which is multiplied by the page size of
   * a field that takes `first` (its value, from variables too; the default page size when absent).
   */
  readonly maxCost: number;
}

export type LimitName = keyof OperationLimits;

export const OPERATION_LIMIT_EXCEEDED = ErrorCode.OPERATION_LIMIT_EXCEEDED;

/*
 * Sized on our operations (measured with measureOperation): the explorer's and dashboard's
 * examples and the analytics reports reach depth 5, 2 root fields and cost 3,500 (the Cuneo example
 * at first: 500); the test and bench operations depth 8 (the bench's gateway-bound query), 4 root
 * fields, 3 aliases, 171 tokens and cost 8,500 (a 17-field page of 500 adoptions); GraphiQL's full
 * introspection query 183 tokens, cost 229 and depth 0 (graphql-armor leaves the `__schema`
 * subtree out; tokens and cost still bound it). Anonymous callers get room for all of them with a
 * margin; keys get more, analysts and editors (who write their own reports) much more.
 */
export const DEFAULT_OPERATION_LIMITS: Readonly<Record<Role, OperationLimits>> = Object.freeze({
  anonymous: Object.freeze({ maxDepth: 10, maxAliases: 15, maxRootFields: 15, maxDirectives: 10, maxTokens: 1_000, maxCost: 20_000 }),
  frontend: Object.freeze({ maxDepth: 12, maxAliases: 30, maxRootFields: 20, maxDirectives: 20, maxTokens: 2_000, maxCost: 50_000 }),
  partner: Object.freeze({ maxDepth: 12, maxAliases: 30, maxRootFields: 20, maxDirectives: 20, maxTokens: 2_000, maxCost: 50_000 }),
  analyst: Object.freeze({ maxDepth: 15, maxAliases: 60, maxRootFields: 25, maxDirectives: 40, maxTokens: 5_000, maxCost: 200_000 }),
  editor: Object.freeze({ maxDepth: 15, maxAliases: 60, maxRootFields: 25, maxDirectives: 40, maxTokens: 5_000, maxCost: 200_000 }),
  admin: Object.freeze({ maxDepth: 20, maxAliases: 100, maxRootFields: 40, maxDirectives: 60, maxTokens: 10_000, maxCost: 500_000 }),
});

/** The defaults with the configured per-role overrides (OPERATION_LIMITS) applied. */
export function resolveOperationLimits(overrides: Config['OPERATION_LIMITS']): Record<Role, OperationLimits> {
  const out = {} as Record<Role, OperationLimits>;
  for (const role of ROLES) {
    const override = Object.fromEntries(Object.entries(overrides[role] ?? {}).filter(([, v]) => v !== undefined));
    out[role] = Object.freeze({ ...DEFAULT_OPERATION_LIMITS[role], ...override });
  }
  return out;
}

/** What an operation measures against {@link OperationLimits} (`maxCost` for the given variables). */
export type OperationMeasures = { readonly [K in LimitName]: number };

export interface OperationLimitsPluginOptions {
  /** Page size of a field taking `first` when the operation does not give it (PAGE_SIZE_DEFAULT). */
  readonly defaultPageSize: number;
}

const UNIT: Record<LimitName, string> = {
  maxDepth: 'levels deep',
  maxAliases: 'aliases',
  maxRootFields: 'root fields',
  maxDirectives: 'directives',
  maxTokens: 'tokens',
  maxCost: 'estimated cost',
};

/** The error of a refused operation; `what` replaces the description of the actual value. */
export function limitExceeded(limit: LimitName, max: number, actual: number, what?: string): GraphQLError {
  what ??= limit === 'maxDepth' ? `is ${actual} levels deep` : limit === 'maxCost' ? `has an estimated cost of ${actual}` : `has ${actual} ${UNIT[limit]}`;
  return new GraphQLError(`Operation limit ${limit} exceeded: the operation ${what}, the limit is ${max}`, {
    extensions: { code: OPERATION_LIMIT_EXCEEDED, limit, max, actual, http: { status: 400 } },
  });
}

/** Selections walked by graphql-query-complexity before it gives up (fragments can multiply them). */
const MAX_COST_NODES = 100_000;
/** Variable-dependent costs remembered per operation (distinct `first`/`@skip`/`@include` values). */
const COST_CACHE_SIZE = 64;

/** Measures of one operation that do not depend on variables, and its cost once known. */
interface OperationAnalysis {
  readonly fixed: Omit<OperationMeasures, 'maxCost'>;
  /** Variables whose values change the cost: those given to `first`, `@skip(if:)`, `@include(if:)`. */
  readonly costVariables: readonly string[];
  /** Cost by the JSON of the cost variables' values ('' when there are none). */
  readonly costs: Map<string, number>;
}

interface DocumentAnalysis {
  readonly schema: GraphQLSchema;
  readonly operations: Map<OperationDefinitionNode, OperationAnalysis>;
}

/**
 * Measures every operation of `document`: tokens of its source, and per operation depth, aliases
 * and directives (graphql-armor's rules, run with no ceiling and read through their `onAccept`
 * callback, which they call once per operation in document order) and root fields. The costs cached
 * with it belong to `schema`: a new supergraph measures again.
 */
function analyzeDocument(schema: GraphQLSchema, document: DocumentNode, source: string): DocumentAnalysis {
  const parser = new MaxTokensParserWLexer(source, { n: Number.POSITIVE_INFINITY });
  parser.parseDocument();
  const tokens = parser.tokenCount;

  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);

  // The rules read nothing but fragments from their context, so they run over the document alone:
  // no TypeInfo, no schema (cheaper than validate(), and safe when two copies of graphql are loaded).
  const context = { getFragment: (name: string) => fragments.get(name) } as unknown as ValidationContext;
  const depth: number[] = [];
  const aliases: number[] = [];
  const directives: number[] = [];
  const record = (into: number[]) => [(_ctx: unknown, details: { n: number }) => void into.push(details.n)];
  const none = Number.POSITIVE_INFINITY;
  const visitors = [
    maxDepthRule({ n: none, flattenFragments: true, ignoreIntrospection: true, onAccept: record(depth) })(context),
    maxAliasesRule({ n: none, onAccept: record(aliases) })(context),
    maxDirectivesRule({ n: none, onAccept: record(directives) })(context),
  ] as unknown as ASTVisitor[];
  visit(document, visitInParallel(visitors));

  const operations = new Map<OperationDefinitionNode, OperationAnalysis>();
  let i = 0;
  for (const d of document.definitions) {
    if (d.kind !== Kind.OPERATION_DEFINITION) continue;
    operations.set(d, {
      fixed: {
        maxTokens: tokens,
        maxDepth: depth[i] ?? 0,
        maxAliases: aliases[i] ?? 0,
        maxDirectives: directives[i] ?? 0,
        maxRootFields: rootFieldCount(d.selectionSet, fragments),
      },
      costVariables: costVariables(d, fragments),
      costs: new Map(),
    });
    i++;
  }
  return { schema, operations };
}

/** Distinct response keys of the root selection, fragments expanded, `__typename` not counted. */
function rootFieldCount(root: SelectionSetNode, fragments: ReadonlyMap<string, FragmentDefinitionNode>): number {
  const keys = new Set<string>();
  const seen = new Set<string>();
  const walk = (set: SelectionSetNode) => {
    for (const s of set.selections) {
      if (s.kind === Kind.FIELD) {
        if (s.name.value !== '__typename') keys.add(s.alias?.value ?? s.name.value);
      } else if (s.kind === Kind.INLINE_FRAGMENT) {
        walk(s.selectionSet);
      } else if (!seen.has(s.name.value)) {
        seen.add(s.name.value);
        const f = fragments.get(s.name.value);
        if (f) walk(f.selectionSet);
      }
    }
  };
  walk(root);
  return keys.size;
}

/** Variables the cost estimate reads: values of `first` arguments and of `@skip`/`@include` conditions. */
function costVariables(operation: OperationDefinitionNode, fragments: ReadonlyMap<string, FragmentDefinitionNode>): string[] {
  const names = new Set<string>();
  const seen = new Set<string>();
  const walk = (set: SelectionSetNode) => {
    for (const s of set.selections) {
      for (const d of s.directives ?? []) {
        if (d.name.value !== 'skip' && d.name.value !== 'include') continue;
        for (const a of d.arguments ?? []) if (a.value.kind === Kind.VARIABLE) names.add(a.value.name.value);
      }
      if (s.kind === Kind.FIELD) {
        for (const a of s.arguments ?? []) if (a.name.value === 'first' && a.value.kind === Kind.VARIABLE) names.add(a.value.name.value);
        if (s.selectionSet) walk(s.selectionSet);
      } else if (s.kind === Kind.INLINE_FRAGMENT) {
        walk(s.selectionSet);
      } else if (!seen.has(s.name.value)) {
        seen.add(s.name.value);
        const f = fragments.get(s.name.value);
        if (f) walk(f.selectionSet);
      }
    }
  };
  walk(operation.selectionSet);
  return [...names];
}

/** 1 per field (`__typename` free) plus its selection, times the page size if the field takes `first`. */
export function pageSizeEstimator(defaultPageSize: number): ComplexityEstimator {
  return ({ field, args, childComplexity }) => {
    if (field.name === '__typename') return 0;
    if (!field.args.some((a) => a.name === 'first')) return 1 + childComplexity;
    const first: unknown = args.first;
    const pageSize = typeof first === 'number' && Number.isFinite(first) ? Math.max(0, first) : defaultPageSize;
    return 1 + pageSize * childComplexity;
  };
}

/** The cost variables' values, telling an absent variable (its default applies) from an explicit null. */
function costKey(names: readonly string[], variables: Record<string, unknown> | undefined): string {
  return names.map((n) => (variables && Object.hasOwn(variables, n) ? JSON.stringify(variables[n]) : '~')).join(',');
}

type CostResult = { readonly ok: true; readonly cost: number } | { readonly ok: false; readonly tooLarge: boolean };

function computeCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown> | undefined,
  estimators: ComplexityEstimator[],
): CostResult {
  try {
    const cost = getComplexity({
      schema,
      query: document,
      estimators,
      variables: variables ?? {},
      maxQueryNodes: MAX_COST_NODES,
      ...(operation.name ? { operationName: operation.name.value } : {}),
    });
    return { ok: true, cost };
  } catch (err) {
    // Invalid variables: the gateway refuses the request itself (BAD_USER_INPUT) before any fetch.
    return { ok: false, tooLarge: err instanceof Error && err.message.includes('maximum allowed number of nodes') };
  }
}

/**
 * Measures one operation of a validated document against no limit: what the plugin compares with
 * the caller's limits. `maxCost` is `null` when the variables are invalid (execution refuses them).
 */
export function measureOperation(
  schema: GraphQLSchema,
  document: DocumentNode,
  source: string,
  operationName: string | undefined,
  variables: Record<string, unknown> | undefined,
  defaultPageSize: number,
): Omit<OperationMeasures, 'maxCost'> & { maxCost: number | null } {
  const analysis = analyzeDocument(schema, document, source);
  const operation = [...analysis.operations.keys()].find((o) => operationName === undefined || o.name?.value === operationName);
  if (!operation) throw new Error(`no operation ${operationName ?? ''} in the document`);
  const cost = computeCost(schema, document, operation, variables, [pageSizeEstimator(defaultPageSize)]);
  return { ...analysis.operations.get(operation)!.fixed, maxCost: cost.ok ? cost.cost : null };
}

/**
 * Enforces `limitsFor(context)` on every operation, after validation and before planning: the first
 * limit exceeded (tokens, root fields, aliases, directives, depth, then cost) refuses the request
 * with HTTP 400 and an `OPERATION_LIMIT_EXCEEDED` error, and nothing reaches a subgraph.
 */
export function operationLimitsPlugin(
  limitsFor: (ctx: GatewayContext) => OperationLimits,
  opts: OperationLimitsPluginOptions,
): ApolloServerPlugin<GatewayContext> {
  const documents = new WeakMap<DocumentNode, DocumentAnalysis>();
  const estimators = [pageSizeEstimator(opts.defaultPageSize)];

  const listener: GraphQLRequestListener<GatewayContext> = {
    async didResolveOperation({ schema, document, operation, source, request, contextValue }) {
      if (!operation) return; // no operation chosen: execution answers with its own error
      let doc = documents.get(document);
      if (!doc || doc.schema !== schema) {
        doc = analyzeDocument(schema, document, source);
        documents.set(document, doc);
      }
      const op = doc.operations.get(operation);
      if (!op) return;
      const limits = limitsFor(contextValue);
      const fixed = op.fixed;
      if (fixed.maxTokens > limits.maxTokens) throw limitExceeded('maxTokens', limits.maxTokens, fixed.maxTokens);
      if (fixed.maxRootFields > limits.maxRootFields) throw limitExceeded('maxRootFields', limits.maxRootFields, fixed.maxRootFields);
      if (fixed.maxAliases > limits.maxAliases) throw limitExceeded('maxAliases', limits.maxAliases, fixed.maxAliases);
      if (fixed.maxDirectives > limits.maxDirectives) throw limitExceeded('maxDirectives', limits.maxDirectives, fixed.maxDirectives);
      if (fixed.maxDepth > limits.maxDepth) throw limitExceeded('maxDepth', limits.maxDepth, fixed.maxDepth);

      const variables = request.variables;
      const key = op.costVariables.length === 0 ? '' : costKey(op.costVariables, variables);
      let cost = op.costs.get(key);
      if (cost === undefined) {
        const result = computeCost(schema, document, operation, variables, estimators);
        if (!result.ok) {
          if (result.tooLarge) {
            throw limitExceeded('maxCost', limits.maxCost, MAX_COST_NODES, `has more than ${MAX_COST_NODES} selections once its fragments are expanded`);
          }
          return;
        }
        cost = result.cost;
        if (op.costs.size >= COST_CACHE_SIZE) op.costs.delete(op.costs.keys().next().value!);
        op.costs.set(key, cost);
      }
      if (cost > limits.maxCost) throw limitExceeded('maxCost', limits.maxCost, cost);
    },
  };

  return {
    async requestDidStart() {
      return listener;
    },
  };
}
