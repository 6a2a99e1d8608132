/**
 * Execution of Apollo query plans (`QueryPlan` from @apollo/query-planner), equivalent to
 * @apollo/gateway's `executeQueryPlan` (dist/executeQueryPlan.js, of the version
 * ../apollo/internals.ts is written for) for every plan the gateway builds without subscriptions,
 * and leaner (and stock cannot execute @defer at all, which ./defer.ts does):
 *
 * - the plan and the operation are compiled once per plan object (cached by the gateway's plan
 *   store), not re-derived for every request (stock rebuilds a federation-internals `Operation`
 *   per request and re-reads every selection's directives and types while shaping);
 * - each `_entities` fetch sends every distinct representation once (./requires.ts) and merges
 *   each answer into every entity that asked for it (entities met twice on a path are merged
 *   once); errors on a de-duplicated representation are reported at each position it stood for,
 *   as stock would report the subgraph's one error per position;
 * - the `_entities` fetches to one subgraph that are ready at the same time are sent as one
 *   request and their answer split back per fetch (./merge.ts);
 * - no usage-reporting trace tree and no OpenTelemetry spans unless a tracer is recording.
 *
 * Fetches go through each subgraph's data source `process()`, exactly as stock calls it, so the
 * transport (timeouts, circuit breaker, metrics, headers) is the data source's. The data fetched is
 * merged as stock merges it (./results.ts), and the response is shaped by ./shape.ts.
 */
import type { Operation } from '@apollo/federation-internals';
import type { GraphQLDataSource } from '@apollo/gateway';
import { evaluateCondition, type ConditionNode, type FetchNode, type PlanNode, type QueryPlan, type ResponsePath } from '@apollo/query-planner';
import type { GatewayExecutionResult, GatewayGraphQLRequestContext } from '@apollo/server-gateway-interface';
import { GraphQLError, type GraphQLSchema } from 'graphql';
import { applyRewrites, GraphQLDataSourceRequestKind, OpenTelemetrySpanNames, tracer } from '../apollo/internals.ts';
import type { DistinctRepresentations } from '../transport/representations.ts';
import { compileShape, UnsupportedOperation, type CompiledShape } from './compileShape.ts';
import { compileDefer, repeatsDeferLabels, type DeferStep } from './compileDefer.ts';
import { Deferral, deliver, executeDefer, type DeferRun, type DeferredResponse } from './defer.ts';
import { compileMergePart, FetchBatches, type FetchResult, type MergedOperation, type MergePart } from './merge.ts';
import { compileRequires, representEntities, type CompiledRequires } from './requires.ts';
import { deepMerge, downstreamServiceError, errorPathGenerator, mergeKeys, moveIntoCursor, type Cursor, type ResultMap } from './results.ts';
import { shapeResponse, shapeSelection } from './shape.ts';

// ---------------------------------------------------------------------------------------------
// Compiled plans.

type Step =
  | { readonly kind: 'Sequence' | 'Parallel'; readonly steps: readonly Step[] }
  | { readonly kind: 'Flatten'; readonly path: ResponsePath; readonly step: Step }
  | {
      readonly kind: 'Fetch';
      readonly node: FetchNode;
      readonly requires: CompiledRequires | undefined;
      /** Set when the fetch may be merged with others to its subgraph (./merge.ts). */
      readonly merge: MergePart | undefined;
    }
  | { readonly kind: 'Condition'; readonly node: ConditionNode; readonly ifClause: Step | undefined; readonly elseClause: Step | undefined }
  | DeferStep<Step>;

export interface CompiledPlan {
  readonly root: Step | undefined;
  readonly operation: Operation;
  readonly shape: CompiledShape;
  /** Whether two fetches of the plan may be merged (they go to the same subgraph). */
  readonly mergeable: boolean;
  /** Merged operations built for this plan, by the ids of their fetches. */
  readonly merged: Map<string, MergedOperation>;
  /** Whether the plan defers anything (may be answered incrementally). */
  readonly defers: boolean;
}

/** A plan being compiled: its mergeable fetches, and the operation's shape (for Defer nodes). */
interface Compiling {
  readonly parts: MergePart[];
  readonly shape: CompiledShape;
  defers: boolean;
}

function compileStep(node: PlanNode, ctx: Compiling): Step {
  const parts = ctx.parts;
  switch (node.kind) {
    case 'Sequence':
    case 'Parallel':
      return { kind: node.kind, steps: node.nodes.map((n) => compileStep(n, ctx)) };
    case 'Flatten':
      return { kind: 'Flatten', path: node.path, step: compileStep(node.node, ctx) };
    case 'Fetch': {
      const requires = node.requires ? compileRequires(node.requires) : undefined;
      const merge = requires ? compileMergePart(node, parts.length) : undefined;
      if (merge) parts.push(merge);
      return { kind: 'Fetch', node, requires, merge };
    }
    case 'Condition':
      return {
        kind: 'Condition',
        node,
        ifClause: node.ifClause ? compileStep(node.ifClause, ctx) : undefined,
        elseClause: node.elseClause ? compileStep(node.elseClause, ctx) : undefined,
      };
    case 'Defer':
      // Outside the deferred blocks (./defer.ts compiles those), Defer nodes are at the root.
      ctx.defers = true;
      return compileDefer(node, ctx.shape, [], ctx.shape.rootType, (n) => compileStep(n, ctx));
    default:
      throw new UnsupportedOperation(`${(node as { kind: string }).kind} nodes are left to the stock executor`);
  }
}

/**
 * Compiles a plan and the operation it was planned for (as stock builds it for execution);
 * throws UnsupportedOperation for what is left to stock (subscriptions, introspection).
 */
export function compilePlan(plan: QueryPlan, operation: Operation): CompiledPlan {
  if (plan.node?.kind === 'Subscription') throw new UnsupportedOperation('subscriptions are left to the stock executor');
  const ctx: Compiling = { parts: [], shape: compileShape(operation), defers: false };
  const root = plan.node ? compileStep(plan.node, ctx) : undefined;
  const services = new Set(ctx.parts.map((p) => p.serviceName));
  return { root, operation, shape: ctx.shape, mergeable: services.size < ctx.parts.length, merged: new Map(), defers: ctx.defers && !repeatsDeferLabels(operation) };
}

// ---------------------------------------------------------------------------------------------
// Execution.

/**
 * A cache in front of the fetches of one plan run (gateway/cache/run.ts). Each method answers
 * what it can, sends through `send` what it cannot, and returns what the fetch would have received
 * (errors at the positions of the whole fetch); the executor reports errors and merges as usual.
 */
export interface FetchCache {
  root(fetch: FetchNode, variables: ResultMap, send: () => Promise<FetchResult>): Promise<FetchResult>;
  entities(fetch: FetchNode, variables: ResultMap, representations: readonly unknown[], send: (representations: unknown[]) => Promise<FetchResult>): Promise<FetchResult>;
}

export type { FetchResult } from './merge.ts';

export interface PlanRun {
  readonly requestContext: GatewayGraphQLRequestContext;
  readonly serviceMap: Readonly<Record<string, GraphQLDataSource>>;
  /** The supergraph (not API) schema: `requires` and rewrites may name inaccessible types. */
  readonly supergraphSchema: GraphQLSchema;
  /** Create `gateway.fetch` spans (a tracer is recording). */
  readonly tracing: boolean;
  /** Merge the `_entities` fetches to one subgraph that are ready together into one request (./merge.ts). Default true. */
  readonly mergeFetches?: boolean;
  /** The request's fetch cache; unset: every fetch is sent. */
  readonly cache?: FetchCache | undefined;
}

interface RunState extends PlanRun {
  readonly plan: CompiledPlan;
  readonly errors: unknown[];
  /** Fetches waiting to be merged; undefined when this run does not merge. */
  readonly batches: FetchBatches | undefined;
  /** The deferred parts of an incremental response; undefined: the response is merged. */
  readonly deferral: Deferral | undefined;
  /** The deferred part being executed; undefined: the primary part. */
  readonly part: DeferRun<Step>['part'];
}

/** A Defer step's view of the run: its parts run in states of their own (errors, enclosing part). */
function deferRun(state: RunState): DeferRun<Step> {
  return {
    deferral: state.deferral,
    part: state.part,
    tracing: state.tracing,
    run: (step, cursor, errors, part) => executeStep({ ...state, errors: errors ?? state.errors, part }, step, cursor),
    skips: (step) => skips(state, step),
  };
}

function skips(state: RunState, step: Step): boolean {
  if (step.kind !== 'Condition') return false;
  const request = state.requestContext.request;
  const branch = evaluateCondition(step.node, state.plan.operation.variableDefinitions, request.variables) ? step.ifClause : step.elseClause;
  return !branch || skips(state, branch);
}

async function executeStep(state: RunState, step: Step, cursor: Cursor | undefined): Promise<void> {
  if (!cursor) return;
  switch (step.kind) {
    case 'Sequence':
      for (const child of step.steps) await executeStep(state, child, cursor);
      return;
    case 'Parallel':
      await Promise.all(step.steps.map((child) => executeStep(state, child, cursor)));
      return;
    case 'Flatten':
      return executeStep(state, step.step, moveIntoCursor(cursor, step.path));
    case 'Fetch':
      try {
        if (state.tracing) {
          await tracer.startActiveSpan(OpenTelemetrySpanNames.FETCH, { attributes: { service: step.node.serviceName } }, async (span) => {
            try {
              await executeFetch(state, step, cursor);
            } finally {
              span.end();
            }
          });
        } else {
          await executeFetch(state, step, cursor);
        }
      } catch (error) {
        state.errors.push(error);
      }
      if (step.node.id !== undefined) state.deferral?.fetched(step.node.id);
      return;
    case 'Condition': {
      const request = state.requestContext.request;
      const branch = evaluateCondition(step.node, state.plan.operation.variableDefinitions, request.variables) ? step.ifClause : step.elseClause;
      if (branch) await executeStep(state, branch, cursor);
      return;
    }
    case 'Defer':
      return executeDefer(step, cursor, deferRun(state));
  }
}

async function executeFetch(state: RunState, step: Step & { kind: 'Fetch' }, cursor: Cursor): Promise<void> {
  const fetch = step.node;
  const service = state.serviceMap[fetch.serviceName];
  if (!service) throw new Error(`Couldn't find service with name "${fetch.serviceName}"`);

  const entities: ResultMap[] = [];
  if (Array.isArray(cursor.data)) {
    for (const entity of cursor.data) if (entity !== null && entity !== undefined) entities.push(entity);
  } else {
    entities.push(cursor.data);
  }
  if (entities.length < 1) return;

  const variables: ResultMap = Object.create(null);
  const provided = state.requestContext.request.variables;
  if (fetch.variableUsages && provided) {
    for (const name of fetch.variableUsages) {
      if (Object.prototype.hasOwnProperty.call(provided, name) && typeof provided[name] !== 'undefined') variables[name] = provided[name];
    }
  }

  if (!step.requires) {
    const send = () => sendOperation(state, step, cursor, variables, undefined);
    const data = (state.cache ? await state.cache.root(fetch, variables, send) : await send()).data;
    if (data) applyRewrites(state.supergraphSchema, fetch.outputRewrites, data);
    for (const entity of entities) deepMerge(entity, data);
    return;
  }

  // One representation per entity (as stock builds them), each distinct one sent once. Entities
  // with the same representation get the same answer object merged in (stock merges a separate
  // parse of the same answer into each): what later fetches merge into its nested objects is
  // then merged once for all of them, which is what happens to each copy on stock, as every
  // copy has the same representations below it.
  const { distinct, typenames } = representEntities(state.supergraphSchema, fetch, step.requires, entities);
  if (distinct.count < 1) return;
  if ('representations' in variables) throw new Error(`Variables cannot contain key "representations"`);

  const unique = distinct.unique;
  const request = (representations: readonly unknown[]) => requestOperation(state, step, cursor, { ...variables, representations });
  const response = state.cache ? await state.cache.entities(fetch, variables, unique, request) : await request(unique);
  reportErrors(state, step, cursor, response, distinct.hasDuplicates ? distinct : undefined);
  const data = response.data;
  if (!data) return;
  const received: unknown = data['_entities'];
  if (!(received && Array.isArray(received))) throw new Error(`Expected "data._entities" in response to be an array`);
  if (received.length !== unique.length) throw new Error(`Expected "data._entities" to contain ${distinct.count} elements`);

  for (let u = 0; u < received.length; u++) {
    const entity = received[u];
    if (entity && !entity['__typename']) entity['__typename'] = typenames[u];
    applyRewrites(state.supergraphSchema, fetch.outputRewrites, entity);
  }
  // deepMerge(entity, answer) for every entity, each answer's keys listed once.
  const keysOf: (string[] | undefined)[] = new Array(received.length);
  const indexOf = distinct.indexOf;
  for (let e = 0; e < entities.length; e++) {
    const u = indexOf[e]!;
    if (u === -1) continue;
    const answer = received[u];
    if (answer === undefined || answer === null) continue;
    mergeKeys(entities[e], answer, (keysOf[u] ??= Object.keys(answer)));
  }
}

/** Sends an operation to a subgraph's data source, as stock does. */
function processFetch(
  state: RunState,
  serviceName: string,
  operation: { readonly query: string; readonly operationName: string | undefined; readonly document: FetchNode['operationDocumentNode'] },
  variables: ResultMap,
  path: ResponsePath,
): Promise<FetchResult> {
  const requestContext = state.requestContext;
  return state.serviceMap[serviceName]!.process({
    kind: GraphQLDataSourceRequestKind.INCOMING_OPERATION,
    request: { query: operation.query, variables, operationName: operation.operationName, http: undefined },
    incomingRequestContext: requestContext,
    context: requestContext.context,
    document: operation.document,
    pathInIncomingRequest: path,
  });
}

/** Sends a fetch's operation (merged with others to its subgraph when it may be); its answer as received. */
function requestOperation(state: RunState, step: Step & { kind: 'Fetch' }, cursor: Cursor, variables: ResultMap): Promise<FetchResult> {
  const fetch = step.node;
  const alone = () =>
    processFetch(state, fetch.serviceName, { query: fetch.operation, operationName: fetch.operationName, document: fetch.operationDocumentNode }, variables, cursor.path);
  return step.merge && state.batches ? state.batches.fetch(step.merge, variables, cursor.path, alone) : alone();
}

/** Sends a fetch's operation and reports its errors. */
async function sendOperation(
  state: RunState,
  step: Step & { kind: 'Fetch' },
  cursor: Cursor,
  variables: ResultMap,
  deduplicated: DistinctRepresentations | undefined,
): Promise<FetchResult> {
  const response = await requestOperation(state, step, cursor, variables);
  reportErrors(state, step, cursor, response, deduplicated);
  return response;
}

/** Reports the errors of a fetch's answer, as stock does. */
function reportErrors(
  state: RunState,
  step: Step & { kind: 'Fetch' },
  cursor: Cursor,
  response: FetchResult,
  /** The fetch's representations when some were de-duplicated (its errors are reported at every position). */
  deduplicated: DistinctRepresentations | undefined,
): void {
  const requestContext = state.requestContext;
  const fetch = step.node;
  if (response.errors) {
    const errors = deduplicated ? deduplicated.expandErrors(response.errors) : response.errors;
    const generatePath = errorPathGenerator(fetch, cursor);
    for (const error of errors) state.errors.push(downstreamServiceError(error, fetch.serviceName, generatePath));
    if (!response.extensions?.['ftv1'] && requestContext.metrics) {
      const errorPaths = errors.map((error) => ({ subgraph: fetch.serviceName, path: error.path }));
      if (requestContext.metrics.nonFtv1ErrorPaths) requestContext.metrics.nonFtv1ErrorPaths.push(...errorPaths);
      else requestContext.metrics.nonFtv1ErrorPaths = errorPaths;
    }
  }
}

/** Runs a plan's steps into a new result tree; its fetches' errors (of the primary part) in the state's `errors`. */
async function runSteps(plan: CompiledPlan, run: PlanRun, deferral: Deferral | undefined): Promise<{ state: RunState; raw: ResultMap }> {
  const batches =
    plan.mergeable && run.mergeFetches !== false
      ? new FetchBatches(plan.merged, (serviceName, operation, variables, path) => processFetch(state, serviceName, operation, variables, path))
      : undefined;
  const state: RunState = { ...run, plan, errors: [], batches, deferral, part: undefined };
  const raw: ResultMap = Object.create(null);
  if (plan.root) await executeStep(state, plan.root, { path: [], data: raw, fullResult: raw });
  return { state, raw };
}

/** The response from the execution's errors and the shaped data (or what shaping threw). */
function respond(errors: GraphQLError[], shape: () => { data: ResultMap | null; errors: GraphQLError[] }): GatewayExecutionResult {
  let data: ResultMap | null;
  try {
    let postProcessingErrors: GraphQLError[];
    ({ data, errors: postProcessingErrors } = shape());
    // A non-null field left null with no fetch error to explain it (an entity its subgraph does
    // not know): a field error, as the spec requires. Stock reports these only in
    // `extensions.valueCompletion`, with `errors` empty, so a client sees data nulled for no
    // reason. When a fetch failed, its error already explains the nulls, as with stock.
    if (errors.length === 0 && postProcessingErrors.length > 0) return { errors: postProcessingErrors, data };
  } catch (error) {
    if (error instanceof GraphQLError) return { errors: [error] };
    if (error instanceof Error) return { errors: [new GraphQLError(error.message, { originalError: error })] };
    return { errors: [new GraphQLError('Unexpected error during query plan execution')] };
  }
  return errors.length === 0 ? { data } : { errors, data };
}

/**
 * Executes a compiled plan and shapes the response: what stock's `executeQueryPlan` returns for
 * the same plan, data and errors. A plan with @defer is answered merged: the response it would
 * have without @defer.
 */
export async function executeCompiledPlan(plan: CompiledPlan, run: PlanRun): Promise<GatewayExecutionResult> {
  const { state, raw } = await runSteps(plan, run, undefined);
  return respond(state.errors as GraphQLError[], () => shapeResponse(plan.shape, raw, run.requestContext.request.variables));
}

/**
 * Executes a compiled plan for a client that accepts incremental delivery: the initial result as
 * soon as the primary part is complete, and, when the plan deferred anything that has a position
 * in it, the deferred parts that follow (./defer.ts).
 */
export async function executeCompiledPlanIncrementally(plan: CompiledPlan, run: PlanRun): Promise<{ result: GatewayExecutionResult; deferred: DeferredResponse | undefined }> {
  const deferral = new Deferral();
  const { state, raw } = await runSteps(plan, run, deferral);
  const variables = run.requestContext.request.variables;
  const primary = deferral.rootSelection;
  if (!primary) return { result: respond(state.errors as GraphQLError[], () => shapeResponse(plan.shape, raw, variables)), deferred: undefined };
  const result = respond(state.errors as GraphQLError[], () => shapeSelection(plan.shape, primary, plan.shape.rootType, raw, [], variables));
  return { result, deferred: result.data ? deliver(plan.shape, deferral, result.data, raw, variables) : undefined };
}
