/**
 * Operation limits: per-role bounds on an operation's shape and estimated cost, checked after
 * validation and before anything is planned or sent to a subgraph. A refused operation gets one
 * GraphQL error, `OPERATION_LIMIT_EXCEEDED` with the limit, its maximum and the actual value, and
 * HTTP 400. And the execution limits, per role too: the ceilings on response size and time that
 * hold during execution whatever the estimate said (gateway/executor/ceilings.ts).
 *
 * Depth, aliases, directives and tokens are counted by graphql-armor's own rules; root fields by
 * the cost analysis's walk over the selections (gateway/cost/selections.ts); the cost by the cost
 * analysis, from the `@cost` and `@listSize` directives of the supergraph being served
 * (gateway/cost/). Everything is measured once per parsed document (Apollo reuses the
 * DocumentNode of a query text it has seen), the cost once per distinct value of the variables it
 * depends on, so a known operation costs a few comparisons. After execution the actual cost is
 * measured with the same weights, for the metrics and, when the request asks with
 * `"extensions": {"cost": true}`, for the response's `extensions.cost`.
 */
import type { ApolloServerPlugin, GraphQLRequestListener } from '@apollo/server';
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import { MaxTokensParserWLexer } from '@escape.tech/graphql-armor-max-tokens';
import { getVariableValues, GraphQLError, Kind, visit, visitInParallel, type ASTVisitor, type DocumentNode, type GraphQLSchema, type OperationDefinitionNode, type ValidationContext } from 'graphql';
import { ROLES, type Role } from '../lib/access.ts';
import type { Config } from '../lib/config.ts';
import { ErrorCode } from '../lib/errors.ts';
import type { GatewayContext } from './context.ts';
import { ActualCost, collectFields, costVariables, CostError, estimateCost, fragmentsOf, MAX_COST_NODES, type CostOptions, type Fragments } from './cost/index.ts';

/** The limits of one role; an operation may reach each value, not exceed it. */
export interface OperationLimits {
  /** Deepest field nesting (fragments add no level; the `__schema` introspection subtree counts 0). */
  readonly maxDepth: number;
  /** Aliased fields, fragments expanded (aliases of `__typename` are not counted here, but cost like any field). */
  readonly maxAliases: number;
  /** Distinct fields of the root selection, fragments expanded (`__typename` is free). */
  readonly maxRootFields: number;
  /** Directive uses, fragments expanded. */
  readonly maxDirectives: number;
  /** Lexical tokens of the whole document (names, punctuation, values; not comments). */
  readonly maxTokens: number;
  /**
   * Estimated cost (gateway/cost/): each field its weight (1 unless `@cost` says otherwise) plus
   * its selection's cost, times the size of a list: its slicing argument (`first`), else its
   * `@listSize(assumedSize:)`, else LIST_SIZE_DEFAULT.
   */
  readonly maxCost: number;
}

export type LimitName = keyof OperationLimits;

/** Ceilings that hold during execution whatever the estimate said; exceeding one stops the request's pending fetches. */
export interface ExecutionLimits {
  /** Bytes of the serialised response; also of the subgraph answers received for it, counted together as they arrive. */
  readonly maxResponseBytes: number;
  /** Milliseconds from the start of execution within which every subgraph fetch of the request must end. */
  readonly deadlineMs: number;
}

export const OPERATION_LIMIT_EXCEEDED = ErrorCode.OPERATION_LIMIT_EXCEEDED;

/*
 * Sized on our operations (measured with measureOperation, the supergraph's @listSize and @cost):
 * the explorer's and dashboard's examples and the analytics reports reach depth 5, 2 root fields
 * and cost 1,640 (the adoption dashboard: 100 adoption counts of weight 10); the test and bench
 * operations depth 8 (the bench's gateway-bound query), 4 root fields, 3 aliases, 171 tokens and
 * cost 7,832 (the batching test's dashboard); GraphiQL's full introspection query 183 tokens,
 * depth 0 (graphql-armor leaves the `__schema` subtree out; tokens and cost still bound it) and
 * cost 32,172 (its answer: 6,390, since most of the seven nested `ofType` are null). Anonymous
 * callers get room for all of them with a margin; keys get more, analysts and editors (who write
 * their own reports) much more.
 */
export const DEFAULT_OPERATION_LIMITS: Readonly<Record<Role, OperationLimits>> = Object.freeze({
  anonymous: Object.freeze({ maxDepth: 10, maxAliases: 15, maxRootFields: 15, maxDirectives: 10, maxTokens: 1_000, maxCost: 40_000 }),
  frontend: Object.freeze({ maxDepth: 12, maxAliases: 30, maxRootFields: 20, maxDirectives: 20, maxTokens: 2_000, maxCost: 100_000 }),
  partner: Object.freeze({ maxDepth: 12, maxAliases: 30, maxRootFields: 20, maxDirectives: 20, maxTokens: 2_000, maxCost: 100_000 }),
  analyst: Object.freeze({ maxDepth: 15, maxAliases: 60, maxRootFields: 25, maxDirectives: 40, maxTokens: 5_000, maxCost: 400_000 }),
  editor: Object.freeze({ maxDepth: 15, maxAliases: 60, maxRootFields: 25, maxDirectives: 40, maxTokens: 5_000, maxCost: 400_000 }),
  admin: Object.freeze({ maxDepth: 20, maxAliases: 100, maxRootFields: 40, maxDirectives: 60, maxTokens: 10_000, maxCost: 1_000_000 }),
});

/*
 * Our largest legitimate answers: a 500-row page of adoptions with 17 fields (the bench) is about
 * 180 KB, the analytics reports a few KB; every subgraph answers within a second on the seeded
 * data. Anonymous callers get five times that page; keys more, as their cost budgets.
 */
export const DEFAULT_EXECUTION_LIMITS: Readonly<Record<Role, ExecutionLimits>> = Object.freeze({
  anonymous: Object.freeze({ maxResponseBytes: 1_048_576, deadlineMs: 5_000 }),
  frontend: Object.freeze({ maxResponseBytes: 4_194_304, deadlineMs: 10_000 }),
  partner: Object.freeze({ maxResponseBytes: 4_194_304, deadlineMs: 10_000 }),
  analyst: Object.freeze({ maxResponseBytes: 16_777_216, deadlineMs: 20_000 }),
  editor: Object.freeze({ maxResponseBytes: 16_777_216, deadlineMs: 20_000 }),
  admin: Object.freeze({ maxResponseBytes: 33_554_432, deadlineMs: 30_000 }),
});

/** Per-role defaults with per-role overrides applied (any subset of roles and values). */
function withOverrides<T extends object>(defaults: Readonly<Record<Role, T>>, overrides: Partial<Record<Role, Partial<T>>> | undefined): Record<Role, T> {
  const out = {} as Record<Role, T>;
  for (const role of ROLES) {
    const override = Object.fromEntries(Object.entries(overrides?.[role] ?? {}).filter(([, v]) => v !== undefined));
    out[role] = Object.freeze({ ...defaults[role], ...override });
  }
  return out;
}

/** The most tokens any role may send: a longer document is refused before it is even parsed. */
export function largestMaxTokens(limits: Readonly<Record<Role, OperationLimits>>): number {
  return Math.max(...Object.values(limits).map((l) => l.maxTokens));
}

/** The defaults with the configured per-role overrides (OPERATION_LIMITS) applied. */
export function resolveOperationLimits(overrides: Config['OPERATION_LIMITS']): Record<Role, OperationLimits> {
  return withOverrides(DEFAULT_OPERATION_LIMITS, overrides);
}

/** The defaults with the configured per-role overrides (EXECUTION_LIMITS) applied. */
export function resolveExecutionLimits(overrides: Partial<Record<Role, Partial<ExecutionLimits>>> | undefined): Record<Role, ExecutionLimits> {
  return withOverrides(DEFAULT_EXECUTION_LIMITS, overrides);
}

/** What an operation measures against {@link OperationLimits} (`maxCost` for the given variables). */
export type OperationMeasures = { readonly [K in LimitName]: number };

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

/** Variable-dependent costs remembered per operation (distinct values of the variables its cost reads). */
const COST_CACHE_SIZE = 64;

/** Measures of one operation that do not depend on variables, and its costs once known. */
interface OperationAnalysis {
  readonly fixed: Omit<OperationMeasures, 'maxCost'>;
  /**
   * The variables its cost depends on (gateway/cost/estimate.ts costVariables), or the reason it
   * has no cost; found when its cost is first needed, once its shape passed the other limits
   * (which bound the walk: a document can expand its fragments to millions of fields).
   */
  costVariables?: readonly string[] | CostError;
  /** Cost by the JSON of the cost variables' values ('' when there are none). */
  readonly costs: Map<string, number>;
  /** The actual cost of its results, by the same key (its selections resolved once per key). */
  readonly actual: Map<string, ActualCost>;
}

interface DocumentAnalysis {
  readonly schema: GraphQLSchema;
  readonly cost: CostOptions;
  readonly fragments: Fragments;
  readonly operations: Map<OperationDefinitionNode, OperationAnalysis>;
}

/** Distinct response keys of the root selection, fragments expanded, `__typename` not counted. */
function rootFieldCount(operation: OperationDefinitionNode, fragments: Fragments): number {
  const groups = collectFields([operation.selectionSet], '', { fragments, included: () => true });
  return new Set(groups.filter((g) => g.name !== '__typename').map((g) => g.key)).size;
}

/**
 * Measures every operation of `document`: tokens of its source, and per operation depth, aliases
 * and directives (graphql-armor's rules, run with no ceiling and read through their `onAccept`
 * callback, which they call once per operation in document order) and root fields; its costs are
 * added as they are estimated. What is cached with it belongs to `schema` and `cost`: a new
 * supergraph measures again.
 */
function analyzeDocument(schema: GraphQLSchema, document: DocumentNode, source: string, cost: CostOptions): DocumentAnalysis {
  const parser = new MaxTokensParserWLexer(source, { n: Number.POSITIVE_INFINITY });
  parser.parseDocument();
  const tokens = parser.tokenCount;
  const fragments = fragmentsOf(document.definitions);

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
    const fixed = { maxTokens: tokens, maxDepth: depth[i] ?? 0, maxAliases: aliases[i] ?? 0, maxDirectives: directives[i] ?? 0, maxRootFields: rootFieldCount(d, fragments) };
    operations.set(d, { fixed, costs: new Map(), actual: new Map() });
    i++;
  }
  return { schema, cost, fragments, operations };
}

/** The cost variables' values, telling an absent variable (its default applies) from an explicit null. */
function costKey(names: readonly string[], variables: Record<string, unknown> | undefined): string {
  return names.map((n) => (variables && Object.hasOwn(variables, n) ? JSON.stringify(variables[n]) : '~')).join(',');
}

/** The estimated cost of one operation of an analysed document (cached), or why it has none; undefined for invalid variables. */
function costOf(doc: DocumentAnalysis, operation: OperationDefinitionNode, variables: Record<string, unknown> | undefined): number | CostError | undefined {
  const op = doc.operations.get(operation)!;
  if (!op.costVariables) {
    try {
      const found = costVariables(doc.schema, operation, doc.fragments, doc.cost);
      op.costVariables = found.names;
      if (found.names.length === 0) op.costs.set('', found.cost);
    } catch (err) {
      if (!(err instanceof CostError)) throw err;
      op.costVariables = err;
    }
  }
  if (op.costVariables instanceof CostError) return op.costVariables;
  const key = costKey(op.costVariables, variables);
  let cost = op.costs.get(key);
  if (cost !== undefined) return cost;
  // The estimate reads coerced values, as execution will; invalid ones are refused by execution itself (BAD_USER_INPUT).
  const coerced = getVariableValues(doc.schema, operation.variableDefinitions ?? [], variables ?? {});
  if (coerced.errors) return undefined;
  try {
    cost = estimateCost(doc.schema, operation, doc.fragments, doc.cost, coerced.coerced);
  } catch (err) {
    if (err instanceof CostError) return err;
    throw err;
  }
  if (op.costs.size >= COST_CACHE_SIZE) op.costs.delete(op.costs.keys().next().value!);
  op.costs.set(key, cost);
  return cost;
}

/** The actual cost of a result of an operation that got an estimate, kept with its estimate (same key, same bound). */
function actualCostOf(doc: DocumentAnalysis, operation: OperationDefinitionNode, variables: Record<string, unknown> | undefined): ActualCost {
  const op = doc.operations.get(operation)!;
  const names = op.costVariables;
  if (!Array.isArray(names)) return new ActualCost(doc.schema, operation, doc.fragments, doc.cost, variables);
  const key = costKey(names, variables);
  let actual = op.actual.get(key);
  if (!actual) {
    actual = new ActualCost(doc.schema, operation, doc.fragments, doc.cost, variables);
    if (op.actual.size >= COST_CACHE_SIZE) op.actual.delete(op.actual.keys().next().value!);
    op.actual.set(key, actual);
  }
  return actual;
}

/**
 * Measures one operation of a validated document against no limit: what the plugin compares with
 * the caller's limits. `maxCost` is `null` when the operation has no estimate (more selections
 * than the estimate walks, or a slicing argument missing where one is required).
 */
export function measureOperation(
  schema: GraphQLSchema,
  document: DocumentNode,
  source: string,
  operationName: string | undefined,
  variables: Record<string, unknown> | undefined,
  cost: CostOptions,
): Omit<OperationMeasures, 'maxCost'> & { maxCost: number | null } {
  const analysis = analyzeDocument(schema, document, source, cost);
  const operation = [...analysis.operations.keys()].find((o) => operationName === undefined || o.name?.value === operationName);
  if (!operation) throw new Error(`no operation ${operationName ?? ''} in the document`);
  const estimated = costOf(analysis, operation, variables);
  return { ...analysis.operations.get(operation)!.fixed, maxCost: typeof estimated === 'number' ? estimated : null };
}

export interface OperationLimitsPluginOptions {
  /** The cost model of the supergraph being served: its directives and the default sizes (a new object for a new supergraph). */
  readonly cost: () => CostOptions;
  /** After every operation that got an estimate: its role, estimated and actual cost (undefined when nothing was executed). */
  readonly onCost?: (role: Role, estimated: number, actual: number | undefined) => void;
}

/** The fixed measures, compared with the limits in this order; the first exceeded refuses. */
const FIXED_ORDER = ['maxTokens', 'maxRootFields', 'maxAliases', 'maxDirectives', 'maxDepth'] as const;

/** The refusal of an operation whose cost cannot be estimated. */
function noEstimate(err: CostError, limits: OperationLimits): GraphQLError {
  if (err.reason === 'tooLarge') return limitExceeded('maxCost', limits.maxCost, MAX_COST_NODES, err.message);
  return new GraphQLError(err.message, { extensions: { code: ErrorCode.BAD_USER_INPUT, http: { status: 400 } } });
}

/**
 * Enforces `limitsFor(context)` on every operation, after validation and before planning: the first
 * limit exceeded (tokens, root fields, aliases, directives, depth, then cost) refuses the request
 * with HTTP 400 and an `OPERATION_LIMIT_EXCEEDED` error, and nothing reaches a subgraph. Then
 * measures the actual cost of what was executed.
 */
export function operationLimitsPlugin(limitsFor: (ctx: GatewayContext) => OperationLimits, opts: OperationLimitsPluginOptions): ApolloServerPlugin<GatewayContext> {
  const documents = new WeakMap<DocumentNode, DocumentAnalysis>();
  return {
    async requestDidStart() {
      let doc: DocumentAnalysis | undefined;
      let estimated: number | undefined;
      const listener: GraphQLRequestListener<GatewayContext> = {
        async didResolveOperation({ schema, document, operation, source, request, contextValue }) {
          if (!operation) return; // no operation chosen: execution answers with its own error
          const cost = opts.cost();
          doc = documents.get(document);
          if (!doc || doc.schema !== schema || doc.cost !== cost) documents.set(document, (doc = analyzeDocument(schema, document, source, cost)));
          const op = doc.operations.get(operation);
          if (!op) return;
          const limits = limitsFor(contextValue);
          for (const limit of FIXED_ORDER) if (op.fixed[limit] > limits[limit]) throw limitExceeded(limit, limits[limit], op.fixed[limit]);
          const result = costOf(doc, operation, request.variables);
          if (result === undefined) return; // invalid variables: execution refuses them (BAD_USER_INPUT) before any fetch
          if (result instanceof CostError) throw noEstimate(result, limits);
          estimated = result;
          if (result > limits.maxCost) throw limitExceeded('maxCost', limits.maxCost, result);
        },
        async willSendResponse({ response, request, operation, contextValue }) {
          if (estimated === undefined || !doc || !operation) return;
          const result = response.body.kind === 'single' ? response.body.singleResult : undefined;
          const data = result?.data;
          const actual = data ? actualCostOf(doc, operation, request.variables).of(data) : undefined;
          opts.onCost?.(contextValue.caller.role, estimated, actual);
          if (result && request.extensions?.['cost'] === true) {
            result.extensions = { ...result.extensions, cost: { estimated, actual: actual ?? null, max: limitsFor(contextValue).maxCost } };
          }
        },
      };
      return listener;
    },
  };
}
