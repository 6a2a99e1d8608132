/**
 * Corrections of Apollo's JavaScript query planner where its plans answer wrong, applied to this
 * gateway's plans only, on either executor. The gateway's planner (Apollo builds a new one at
 * every supergraph load) gets a `buildQueryPlan` that:
 *
 * 1. chooses keys as a subgraph can resolve them. Going back into a subgraph after fetching what a
 *    `@requires` needs, stock takes the subgraph's first local key (`getLocallySatisfiableKey`)
 *    even when it is declared `resolvable: false`: the subgraph cannot find the entity, and a
 *    non-null field nulls its parents. Here a resolvable key is preferred, and the stock choice
 *    kept when there is none (an `@interfaceObject`'s keys may all be non-resolvable; the stock
 *    choice is then the right one);
 * 2. refuses an operation with a field the plan does not fetch (./planCoverage.ts) with
 *    UNRESOLVABLE_FIELD, where stock answers null and no error;
 * 3. separates requirements and client fields that need one response name with different
 *    arguments (./requiresRewrite.ts), which stock merges into one and answers one of them wrong.
 *
 * The plan it returns is what the plan store keeps: each correction costs once per operation.
 * Apollo's functions are replaced through ./internals.ts (which checks, for the exact versions it
 * is written for, that they are called through the exports replaced) so that nothing changes for
 * any other planner or plan of the process (the stock gateway the differential tests compare with
 * shares these modules): the key choice only while a corrected planner plans, the key renamer
 * only for the renamers the rewrite makes.
 */
import { federationMetadata, isCompositeType, parseFieldSetArgument, type SelectionSet } from '@apollo/federation-internals';
import type { ApolloGateway } from '@apollo/gateway';
import type { FetchDataRewrite, QueryPlan, QueryPlanner } from '@apollo/query-planner';
import type { GatewayExecutionResult, GatewayExecutor } from '@apollo/server-gateway-interface';
import { GraphQLError, type GraphQLSchema } from 'graphql';
import { errorSpec, ErrorCode, userError } from '../../lib/errors.ts';
import { dataRewrites, gatewayInternals, graphPath, type GatewayInternals, type KeyChoiceGraph, type KeyChoiceVertex } from './internals.ts';
import { uncoveredField, type UncoveredField } from './planCoverage.ts';
import { planSites } from './planSites.ts';
import { separateRequirements } from './requiresRewrite.ts';

/**
 * State shared by every copy of this module in the process (a test runner may load it more than
 * once over the same Apollo modules): how many corrected plannings are running (planning is
 * synchronous), the renamers the rewrite made, the replaced functions as Apollo has them.
 */
interface Corrections {
  correcting: number;
  readonly renamers: WeakSet<FetchDataRewrite>;
  readonly stockKeyChoice: typeof graphPath.getLocallySatisfiableKey;
  readonly stockApplyRewrites: typeof dataRewrites.applyRewrites;
}

const SHARED = Symbol.for('ali-graph.apollo.plannerCorrections');

/** The first key of the vertex's type in its subgraph that is resolvable and selects no external field. */
function resolvableKey(graph: KeyChoiceGraph, vertex: KeyChoiceVertex): SelectionSet | undefined {
  const schema = graph.sources.get(vertex.source);
  const metadata = schema && federationMetadata(schema);
  const type = vertex.type;
  if (!metadata || !isCompositeType(type)) return undefined;
  for (const key of type.appliedDirectivesOf(metadata.keyDirective())) {
    if (key.arguments().resolvable === false) continue;
    const selection = parseFieldSetArgument({ parentType: type, directive: key });
    if (!metadata.selectionSelectsAnyExternalField(selection)) return selection;
  }
  return undefined;
}

/** Renames `from` to `to` in the objects at `path` (`... on T` elements filter by type), when `from` is there, whatever its value. */
function renameAt(schema: GraphQLSchema, path: readonly string[], value: unknown, from: string, to: string): void {
  if (Array.isArray(value)) {
    for (const item of value) renameAt(schema, path, item, from, to);
    return;
  }
  if (value === null || typeof value !== 'object') return;
  const object = value as Record<string, unknown>;
  const [head, ...rest] = path;
  if (head === undefined) {
    if (!Object.hasOwn(object, from) || object[from] === undefined) return;
    object[to] = object[from];
    delete object[from];
  } else if (head.startsWith('... on ')) {
    if (dataRewrites.isObjectOfType(schema, object, head.slice('... on '.length), true)) renameAt(schema, rest, object, from, to);
  } else if (Object.hasOwn(object, head)) {
    renameAt(schema, rest, object[head], from, to);
  }
}

function install(): Corrections {
  const shared = globalThis as { [SHARED]?: Corrections };
  if (shared[SHARED]) return shared[SHARED];
  const state: Corrections = {
    correcting: 0,
    renamers: new WeakSet(),
    stockKeyChoice: graphPath.getLocallySatisfiableKey,
    stockApplyRewrites: dataRewrites.applyRewrites,
  };
  graphPath.getLocallySatisfiableKey = (graph, vertex) => {
    const stock = state.stockKeyChoice(graph, vertex);
    return state.correcting > 0 && stock ? (resolvableKey(graph, vertex) ?? stock) : stock;
  };
  // Apollo's key renamer renames only truthy values (a required 0, false, "" or null would stay
  // under its alias and the subgraph would not see it): the rewrite's renamers rename any value.
  dataRewrites.applyRewrites = (schema, rewrites, value) => {
    if (!rewrites?.some((r) => state.renamers.has(r))) return state.stockApplyRewrites(schema, rewrites, value);
    for (const rewrite of rewrites) {
      if (!state.renamers.has(rewrite) || rewrite.kind !== 'KeyRenamer') state.stockApplyRewrites(schema, [rewrite], value);
      else renameAt(schema, rewrite.path.slice(0, -1), value, rewrite.path[rewrite.path.length - 1]!, rewrite.renameKeyTo);
    }
  };
  shared[SHARED] = state;
  return state;
}

const state = install();

/** An input rewrite that puts an aliased requirement back under its name in a representation (any value, falsy ones too). */
export function requirementRenamer(path: string[], renameKeyTo: string): FetchDataRewrite {
  const rewrite: FetchDataRewrite = { kind: 'KeyRenamer', path, renameKeyTo };
  state.renamers.add(rewrite);
  return rewrite;
}

function unresolvable(field: UncoveredField): GraphQLError {
  return userError(
    ErrorCode.UNRESOLVABLE_FIELD,
    `Cannot fetch ${field.coordinate} at "${field.path}": the query plan has no fetch for it ` +
      '(no subgraph can resolve it there in this supergraph, or its response name is one the plan needs for another field)',
    { field: field.coordinate, responsePath: field.path, http: { status: errorSpec(ErrorCode.UNRESOLVABLE_FIELD)!.status } },
  );
}

const corrected = new WeakSet<QueryPlanner>();

/** The aliases each rewritten plan added, by position, with the name each stands for. */
const aliasesOf = new WeakMap<QueryPlan, ReadonlyMap<string, string>>();

/**
 * Gives one planner the corrected `buildQueryPlan` (once). A failure of the coverage check or of
 * the rewrite themselves (a bug, not the operation's fault) is logged and the plan kept as planned.
 */
export function correctPlanner(planner: QueryPlanner, warn: (message: string) => void): void {
  if (corrected.has(planner)) return;
  corrected.add(planner);
  const build = planner.buildQueryPlan.bind(planner);
  let schema: GraphQLSchema | undefined;
  (planner as { buildQueryPlan: QueryPlanner['buildQueryPlan'] }).buildQueryPlan = (operation, options) => {
    state.correcting++;
    let plan: QueryPlan;
    try {
      plan = build(operation, options);
    } finally {
      state.correcting--;
    }
    let uncovered: UncoveredField | undefined;
    try {
      schema ??= planner.supergraph.schema.toGraphQLJSSchema();
      const sites = planSites(plan); // read once for both; the rewrite edits what it read, so it goes last
      uncovered = uncoveredField(plan, operation, schema, sites);
      if (!uncovered) {
        const rewritten = separateRequirements(plan, { operation, supergraph: planner.supergraph, schema, renamer: requirementRenamer }, sites);
        if (rewritten.aliases) aliasesOf.set(rewritten.plan, rewritten.aliases);
        return rewritten.plan;
      }
    } catch (err) {
      warn(`the corrections of the query plan failed, it is kept as planned: ${err instanceof Error ? err.message : String(err)}`);
      return plan;
    }
    throw unresolvable(uncovered);
  };
}

/**
 * A subgraph error on a field the rewrite aliased comes back on the alias's path
 * (`product.weight__req0`): it is put back on the field's own path, as stock reports an error of
 * a required field, and dropped when that very error is already there (the client's field failed
 * the same way).
 */
export function restoreAliasedErrors(result: GatewayExecutionResult, aliases: ReadonlyMap<string, string>): GatewayExecutionResult {
  if (!result.errors?.length) return result;
  const unaliased = (path: readonly (string | number)[]) => {
    const chain: string[] = [];
    return path.map((element) => {
      if (typeof element === 'number') return element;
      const name = aliases.get([...chain, element].join('.')) ?? element;
      chain.push(name);
      return name;
    });
  };
  const placed = result.errors.map((error) => {
    const path = error.path && unaliased(error.path);
    if (!path || path.every((element, i) => element === error.path![i])) return { error, moved: false };
    const { nodes, source, positions, originalError, extensions } = error;
    return { error: new GraphQLError(error.message, { nodes, source, positions, path, originalError, extensions }), moved: true };
  });
  if (!placed.some((p) => p.moved)) return result;
  const identity = (e: GraphQLError) => JSON.stringify([e.message, e.path, e.extensions['code']]);
  const seen = new Set(placed.filter((p) => !p.moved).map((p) => identity(p.error)));
  const errors: GraphQLError[] = [];
  for (const { error, moved } of placed) {
    if (moved && seen.has(identity(error))) continue;
    seen.add(identity(error));
    errors.push(error);
  }
  return { ...result, errors };
}

/**
 * Corrects the planner of every supergraph the gateway loads, and puts subgraph errors of
 * aliased fields back on their paths. Call it last, after the executor is chosen (it wraps the
 * gateway's `executor`) and before the gateway loads a supergraph.
 */
export function useCorrectedPlanner(gateway: ApolloGateway): void {
  const internals = gatewayInternals(gateway);
  gateway.onSchemaLoadOrUpdate(() => {
    if (internals.queryPlanner) correctPlanner(internals.queryPlanner, (message) => internals.logger.warn(message));
  });
  // Both executors report the plan they run through this hook, with the request's context.
  const planOf = new WeakMap<object, QueryPlan>();
  const hook = internals as { experimental_didResolveQueryPlan?: GatewayInternals['experimental_didResolveQueryPlan'] };
  const configured = hook.experimental_didResolveQueryPlan;
  hook.experimental_didResolveQueryPlan = (options) => {
    planOf.set(options.requestContext, options.queryPlan);
    configured?.(options);
  };
  const execute = gateway.executor;
  (gateway as { executor: GatewayExecutor }).executor = async (requestContext) => {
    const result = await execute(requestContext);
    const plan = planOf.get(requestContext);
    const aliases = plan && aliasesOf.get(plan);
    return aliases ? restoreAliasedErrors(result, aliases) : result;
  };
}
