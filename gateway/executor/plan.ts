/**
 * Execution of Apollo query plans (`QueryPlan` from @apollo/query-planner), equivalent to
 * @apollo/gateway's `executeQueryPlan` (dist/executeQueryPlan.js, 2.14.4) for every plan the
 * gateway builds without @defer or subscriptions, and leaner:
 *
 * - the plan and the operation are compiled once per plan object (cached by the gateway's plan
 *   store), not re-derived for every request (stock rebuilds a federation-internals `Operation`
 *   per request and re-reads every selection's directives and types while shaping);
 * - each `_entities` fetch sends every distinct representation once and merges each answer into
 *   every entity that asked for it (entities met twice on a path are merged once); errors on a
 *   de-duplicated representation are reported at each position it stood for, as stock would
 *   report the subgraph's one error per position;
 * - the `_entities` fetches to one subgraph that are ready at the same time are sent as one
 *   request and their answer split back per fetch (./merge.ts);
 * - no usage-reporting trace tree and no OpenTelemetry spans unless a tracer is recording.
 *
 * Fetches go through each subgraph's data source `process()`, exactly as stock calls it, so the
 * transport (timeouts, circuit breaker, metrics, headers) is the data source's. The data fetched is
 * merged as stock merges it (`deepMerge`), and the response is shaped by ./shape.ts.
 */
import { ERRORS, errorCodeDef, type Operation } from '@apollo/federation-internals';
import type { GraphQLDataSource } from '@apollo/gateway';
import { GraphQLDataSourceRequestKind } from '@apollo/gateway/dist/datasources/types.js';
import { applyRewrites } from '@apollo/gateway/dist/dataRewrites.js';
import { generateHydratedPaths } from '@apollo/gateway/dist/executeQueryPlan.js';
import { OpenTelemetrySpanNames, tracer } from '@apollo/gateway/dist/utilities/opentelemetry.js';
import {
  evaluateCondition,
  type ConditionNode,
  type FetchNode,
  type PlanNode,
  type QueryPlan,
  type QueryPlanSelectionNode,
  type ResponsePath,
} from '@apollo/query-planner';
import type { GatewayExecutionResult, GatewayGraphQLRequestContext } from '@apollo/server-gateway-interface';
import { GraphQLError, isAbstractType, isInterfaceType, isObjectType, type GraphQLErrorOptions, type GraphQLFormattedError, type GraphQLSchema } from 'graphql';
import { compileMergePart, FetchBatches, type FetchResult, type MergedOperation, type MergePart } from './merge.ts';
import { compileShape, shapeResponse, UnsupportedOperation, type CompiledShape } from './shape.ts';

type ResultMap = Record<string, any>;

// ---------------------------------------------------------------------------------------------
// Compiled plans.

/** A `requires` selection, compiled (`executeSelectionSet` of stock). */
type RequireSelection =
  | { readonly kind: 0; readonly responseName: string; readonly selections: readonly RequireSelection[] | undefined }
  | { readonly kind: 1; readonly typeCondition: string | undefined; readonly selections: readonly RequireSelection[]; readonly applies: Map<string, boolean> };

/**
 * The usual shape of `requires`, `... on T { __typename k1 k2 }` with leaf fields only: the
 * de-duplication key is then read off the entity, and a representation built only once per key.
 */
interface FlatRequires {
  readonly fragment: RequireSelection & { kind: 1 };
  readonly fields: readonly string[];
}

type Step =
  | { readonly kind: 'Sequence' | 'Parallel'; readonly steps: readonly Step[] }
  | { readonly kind: 'Flatten'; readonly path: ResponsePath; readonly step: Step }
  | {
      readonly kind: 'Fetch';
      readonly node: FetchNode;
      readonly requires: readonly RequireSelection[] | undefined;
      readonly flat: FlatRequires | undefined;
      /** Set when the fetch may be merged with others to its subgraph (./merge.ts). */
      readonly merge: MergePart | undefined;
    }
  | { readonly kind: 'Condition'; readonly node: ConditionNode; readonly ifClause: Step | undefined; readonly elseClause: Step | undefined };

export interface CompiledPlan {
  readonly root: Step | undefined;
  readonly operation: Operation;
  readonly shape: CompiledShape;
  /** Whether two fetches of the plan may be merged (they go to the same subgraph). */
  readonly mergeable: boolean;
  /** Merged operations built for this plan, by the ids of their fetches. */
  readonly merged: Map<string, MergedOperation>;
}

function compileRequires(selections: readonly QueryPlanSelectionNode[]): RequireSelection[] {
  return selections.map((s) =>
    s.kind === 'Field'
      ? { kind: 0 as const, responseName: s.alias ?? s.name, selections: s.selections ? compileRequires(s.selections) : undefined }
      : { kind: 1 as const, typeCondition: s.typeCondition, selections: compileRequires(s.selections), applies: new Map<string, boolean>() },
  );
}

function flatRequires(requires: readonly RequireSelection[]): FlatRequires | undefined {
  const fragment = requires[0];
  if (requires.length !== 1 || fragment?.kind !== 1 || !fragment.typeCondition) return undefined;
  const fields: string[] = [];
  for (const s of fragment.selections) {
    if (s.kind !== 0 || s.selections) return undefined;
    fields.push(s.responseName);
  }
  return fields.includes('__typename') ? { fragment, fields } : undefined;
}

/** The mergeable fetches of a plan being compiled. */
type MergeParts = MergePart[];

function compileStep(node: PlanNode, parts: MergeParts): Step {
  switch (node.kind) {
    case 'Sequence':
    case 'Parallel':
      return { kind: node.kind, steps: node.nodes.map((n) => compileStep(n, parts)) };
    case 'Flatten':
      return { kind: 'Flatten', path: node.path, step: compileStep(node.node, parts) };
    case 'Fetch': {
      const requires = node.requires ? compileRequires(node.requires) : undefined;
      const merge = requires ? compileMergePart(node, parts.length) : undefined;
      if (merge) parts.push(merge);
      return { kind: 'Fetch', node, requires, flat: requires ? flatRequires(requires) : undefined, merge };
    }
    case 'Condition':
      return {
        kind: 'Condition',
        node,
        ifClause: node.ifClause ? compileStep(node.ifClause, parts) : undefined,
        elseClause: node.elseClause ? compileStep(node.elseClause, parts) : undefined,
      };
    default:
      throw new UnsupportedOperation(`${node.kind} nodes are left to the stock executor`);
  }
}

/**
 * Compiles a plan and the operation it was planned for (as stock builds it for execution);
 * throws UnsupportedOperation for what is left to stock (subscriptions, @defer, introspection).
 */
export function compilePlan(plan: QueryPlan, operation: Operation): CompiledPlan {
  if (plan.node?.kind === 'Subscription') throw new UnsupportedOperation('subscriptions are left to the stock executor');
  const parts: MergeParts = [];
  const root = plan.node ? compileStep(plan.node, parts) : undefined;
  const services = new Set(parts.map((p) => p.serviceName));
  return { root, operation, shape: compileShape(operation), mergeable: services.size < parts.length, merged: new Map() };
}

// ---------------------------------------------------------------------------------------------
// Merging and paths, as stock does them.

function isObject(value: unknown): value is ResultMap {
  return value !== undefined && value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Stock's `deepMerge` (utilities/deepMerge.ts). Response names never shadow inherited properties (see ./index.ts). */
function deepMerge(target: any, source: any): any {
  if (source === undefined || source === null) return target;
  return mergeKeys(target, source, Object.keys(source));
}

/** `deepMerge` with the source's keys given. */
function mergeKeys(target: any, source: any, keys: readonly string[]): any {
  for (let k = 0; k < keys.length; k++) {
    const key = keys[k]!;
    const value = source[key];
    if (value === undefined) continue;
    const existing = target[key];
    if (existing === value) continue; // merging a value into itself changes nothing (shared answers, see executeFetch)
    if (existing && isObject(value)) {
      deepMerge(existing, value);
    } else if (Array.isArray(value) && Array.isArray(existing) && value.length === existing.length) {
      for (let i = 0; i < value.length; i++) {
        if (isObject(existing[i]) && isObject(value[i])) deepMerge(existing[i], value[i]);
        else existing[i] = value[i];
      }
    } else {
      target[key] = value;
    }
  }
  return target;
}

/**
 * Stock's `flattenResultsAtPath`, without copying the path at every step, and with one output
 * array for the whole path (stock's nested `flatMap`s build one per list element at every `@`).
 */
function flattenResultsAtPath(value: any, path: ResponsePath, from: number): any {
  for (; from < path.length; from++) {
    if (value === undefined || value === null) return value;
    const current = path[from];
    if (current === '@') {
      if (!Array.isArray(value)) return value.flatMap((element: any) => flattenResultsAtPath(element, path, from + 1));
      const out: any[] = [];
      for (let i = 0; i < value.length; i++) collectAtPath(value[i], path, from + 1, out);
      return out;
    }
    value = stepInto(value, current!);
  }
  return value;
}

/** Pushes onto `out` the elements of `[value].flatMap((v) => flattenResultsAtPath(v, path, from))`. */
function collectAtPath(value: any, path: ResponsePath, from: number, out: any[]): void {
  for (; from < path.length; from++) {
    if (value === undefined || value === null) break;
    const current = path[from];
    if (current === '@') {
      if (!Array.isArray(value)) {
        value = value.flatMap((element: any) => flattenResultsAtPath(element, path, from + 1));
        break;
      }
      for (let i = 0; i < value.length; i++) collectAtPath(value[i], path, from + 1, out);
      return;
    }
    value = stepInto(value, current!);
  }
  if (Array.isArray(value)) for (let i = 0; i < value.length; i++) out.push(value[i]);
  else out.push(value);
}

function stepInto(value: any, current: string | number): any {
  if (typeof current !== 'string') throw new Error(`Unexpected ${typeof current} found in path`);
  if (Array.isArray(value)) throw new Error(`Unexpected array in result for path element ${current}`);
  return Object.prototype.hasOwnProperty.call(value, current) ? value[current] : undefined;
}

interface Cursor {
  readonly path: ResponsePath;
  readonly data: ResultMap | ResultMap[];
  readonly fullResult: ResultMap;
}

function moveIntoCursor(cursor: Cursor, path: ResponsePath): Cursor | undefined {
  const data = flattenResultsAtPath(cursor.data, path, 0);
  return data ? { path: cursor.path.concat(path), data, fullResult: cursor.fullResult } : undefined;
}

type ErrorPathGenerator = (path: GraphQLErrorOptions['path']) => GraphQLErrorOptions['path'];

/** Stock's `makeLazyErrorPathGenerator`. */
function errorPathGenerator(fetch: FetchNode, cursor: Cursor): ErrorPathGenerator {
  let hydratedPaths: ResponsePath[] | undefined;
  return (errorPath) => {
    if (fetch.requires && typeof errorPath?.[1] === 'number') {
      if (!hydratedPaths) {
        hydratedPaths = [];
        generateHydratedPaths([], cursor.path, cursor.fullResult, hydratedPaths);
      }
      const hydratedPath = hydratedPaths[errorPath[1]] ?? [];
      return [...hydratedPath, ...errorPath.slice(2)];
    }
    return errorPath ? [...cursor.path, ...errorPath.slice()] : undefined;
  };
}

/** Stock's `downstreamServiceError`. */
function downstreamServiceError(originalError: GraphQLFormattedError, serviceName: string, generatePath: ErrorPathGenerator): GraphQLError {
  let { message } = originalError;
  const { extensions } = originalError;
  if (!message) message = `Error while fetching subquery from service "${serviceName}"`;
  const options: GraphQLErrorOptions = {
    originalError: originalError as Error,
    path: generatePath(originalError.path),
    extensions: { ...extensions, serviceName },
  };
  const codeDef = errorCodeDef(originalError);
  if (!codeDef && extensions?.['code']) return new GraphQLError(message, options);
  return (codeDef ?? ERRORS.DOWNSTREAM_SERVICE_ERROR).err(message, options);
}

/** Per unique representation, its positions among all of them (stock's representation indices). */
function positionsOf(uniqueOfEntity: Int32Array): number[][] {
  const positions: number[][] = [];
  let position = 0;
  for (const u of uniqueOfEntity) {
    if (u === -1) continue;
    (positions[u] ??= []).push(position++);
  }
  return positions;
}

/**
 * The errors of a de-duplicated `_entities` fetch as the full fetch would have had them: an error
 * on a representation sent once stands at every position it stood for, in position order.
 */
function expandEntityErrors(errors: readonly GraphQLFormattedError[], positions: readonly (readonly number[])[]): GraphQLFormattedError[] {
  const keyed: { readonly error: GraphQLFormattedError; readonly key: number }[] = [];
  for (const error of errors) {
    const path = error.path;
    const at = path?.[0] === '_entities' && typeof path[1] === 'number' ? positions[path[1]] : undefined;
    if (!at) {
      keyed.push({ error, key: -1 });
      continue;
    }
    for (const position of at) keyed.push({ error: { ...error, path: ['_entities', position, ...path!.slice(2)] }, key: position });
  }
  keyed.sort((a, b) => a.key - b.key); // stable
  return keyed.map((k) => k.error);
}

// ---------------------------------------------------------------------------------------------
// Execution.

export interface PlanRun {
  readonly requestContext: GatewayGraphQLRequestContext;
  readonly serviceMap: Readonly<Record<string, GraphQLDataSource>>;
  /** The supergraph (not API) schema: `requires` and rewrites may name inaccessible types. */
  readonly supergraphSchema: GraphQLSchema;
  /** Create `gateway.fetch` spans (a tracer is recording). */
  readonly tracing: boolean;
  /** Merge the `_entities` fetches to one subgraph that are ready together into one request (./merge.ts). Default true. */
  readonly mergeFetches?: boolean;
}

interface RunState extends PlanRun {
  readonly plan: CompiledPlan;
  readonly errors: unknown[];
  /** Fetches waiting to be merged; undefined when this run does not merge. */
  readonly batches: FetchBatches | undefined;
}

/** Stock's `isObjectOfType(schema, obj, typeCondition)` (default false), memoised per fragment. */
function appliesTo(state: RunState, selection: RequireSelection & { kind: 1 }, source: ResultMap): boolean {
  const typename = source['__typename'];
  if (!typename) return false;
  const condition = selection.typeCondition!;
  if (condition === typename) return true;
  let applies = selection.applies.get(typename);
  if (applies === undefined) {
    const schema = state.supergraphSchema;
    const type = schema.getType(typename);
    const conditional = schema.getType(condition);
    applies = !!type && !!conditional && isAbstractType(conditional) && (isObjectType(type) || isInterfaceType(type)) && schema.isSubType(conditional, type);
    selection.applies.set(typename, applies);
  }
  return applies;
}

/** Stock's `executeSelectionSet`: an entity's representation, or null when an input is missing. */
function representation(state: RunState, source: any, selections: readonly RequireSelection[]): ResultMap | null {
  if (source === null) return null;
  const result: ResultMap = {};
  for (const selection of selections) {
    if (selection.kind === 0) {
      const value = source[selection.responseName];
      if (value === undefined || !Object.prototype.hasOwnProperty.call(source, selection.responseName)) return null;
      const sub = selection.selections;
      if (Array.isArray(value)) {
        result[selection.responseName] = sub ? value.map((v) => representation(state, v, sub)) : value.slice();
      } else if (sub) {
        result[selection.responseName] = representation(state, value, sub);
      } else {
        result[selection.responseName] = value;
      }
    } else {
      if (!selection.typeCondition || !source) continue;
      if (appliesTo(state, selection, source)) deepMerge(result, representation(state, source, selection.selections));
    }
  }
  return result;
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
      return;
    case 'Condition': {
      const request = state.requestContext.request;
      const branch = evaluateCondition(step.node, state.plan.operation.variableDefinitions, request.variables) ? step.ifClause : step.elseClause;
      if (branch) await executeStep(state, branch, cursor);
      return;
    }
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
    const data = await sendOperation(state, step, cursor, variables, undefined);
    if (data) applyRewrites(state.supergraphSchema, fetch.outputRewrites, data);
    for (const entity of entities) deepMerge(entity, data);
    return;
  }

  // One representation per entity (as stock builds them), each distinct one sent once. Entities
  // with the same representation get the same answer object merged in (stock merges a separate
  // parse of the same answer into each): what later fetches merge into its nested objects is
  // then merged once for all of them, which is what happens to each copy on stock, as every
  // copy has the same representations below it.
  const unique: ResultMap[] = [];
  const uniqueTypename: unknown[] = [];
  /** Per entity: index of its representation in `unique`, or -1 when it has none. */
  const uniqueOfEntity = new Int32Array(entities.length);
  const byKey = new Map<string, number>();
  const flat = step.flat;
  const trie: KeyTrie = new Map();
  let count = 0;
  for (let e = 0; e < entities.length; e++) {
    const entity = entities[e]!;
    let u = -1;
    if (flat) {
      if (findFlatSlot(state, flat, entity, trie)) {
        const { node, key } = slot;
        u = (node.get(key) as number | undefined) ?? -1;
        if (u === -1) {
          const rep = representation(state, entity, step.requires)!; // non-null: the key's fields are all there
          applyRewrites(state.supergraphSchema, fetch.inputRewrites, rep);
          u = unique.push(rep) - 1;
          node.set(key, u);
          uniqueTypename.push(entity['__typename']);
        }
      }
    } else {
      const rep = representation(state, entity, step.requires);
      if (rep && rep['__typename']) {
        const key = JSON.stringify(rep);
        u = byKey.get(key) ?? -1;
        if (u === -1) {
          applyRewrites(state.supergraphSchema, fetch.inputRewrites, rep);
          u = unique.push(rep) - 1;
          byKey.set(key, u);
          uniqueTypename.push(entity['__typename']);
        }
      }
    }
    uniqueOfEntity[e] = u;
    if (u !== -1) count++;
  }
  if (count < 1) return;
  if ('representations' in variables) throw new Error(`Variables cannot contain key "representations"`);

  const data = await sendOperation(state, step, cursor, { ...variables, representations: unique }, unique.length < count ? uniqueOfEntity : undefined);
  if (!data) return;
  const received: unknown = data['_entities'];
  if (!(received && Array.isArray(received))) throw new Error(`Expected "data._entities" in response to be an array`);
  if (received.length !== unique.length) throw new Error(`Expected "data._entities" to contain ${count} elements`);

  for (let u = 0; u < received.length; u++) {
    const entity = received[u];
    if (entity && !entity['__typename']) entity['__typename'] = uniqueTypename[u];
    applyRewrites(state.supergraphSchema, fetch.outputRewrites, entity);
  }
  // deepMerge(entity, answer) for every entity, each answer's keys listed once.
  const keysOf: (string[] | undefined)[] = new Array(received.length);
  for (let e = 0; e < entities.length; e++) {
    const u = uniqueOfEntity[e]!;
    if (u === -1) continue;
    const answer = received[u];
    if (answer === undefined || answer === null) continue;
    mergeKeys(entities[e], answer, (keysOf[u] ??= Object.keys(answer)));
  }
}

/**
 * The de-duplication keys of the representations of one fetch under flat `requires`: one level
 * per field, keyed by the field's value (Map keys compare strings, numbers, booleans and null by
 * value and never equal across types), the last level holding the index of the representation.
 * Objects and arrays are keyed by their JSON, in a map of their own (under OBJECT_VALUES), so that
 * they never meet a string. Built from the entities' values without making a key string per
 * entity (that was the executor's largest allocation).
 */
type KeyTrie = Map<unknown, KeyTrie | number>;
const OBJECT_VALUES = Symbol('object values');

/** Where {@link findFlatSlot} found an entity's key: `node.get(key)` is its index, if any. */
const slot: { node: KeyTrie; key: unknown } = { node: new Map(), key: undefined };

/**
 * Finds the slot of an entity's representation under flat `requires` (in `slot`), or returns
 * false when it has none (the type condition does not apply, or a field is missing): the
 * representation is determined by these values, in this order.
 */
function findFlatSlot(state: RunState, flat: FlatRequires, entity: ResultMap, trie: KeyTrie): boolean {
  if (!appliesTo(state, flat.fragment, entity)) return false;
  const fields = flat.fields;
  const last = fields.length - 1;
  let node = trie;
  for (let f = 0; ; f++) {
    let value: unknown = entity[fields[f]!];
    if (value === undefined) return false;
    if ((value !== null && typeof value === 'object') || typeof value === 'bigint') {
      let objects = node.get(OBJECT_VALUES) as KeyTrie | undefined;
      if (!objects) node.set(OBJECT_VALUES, (objects = new Map()));
      node = objects;
      value = JSON.stringify(value);
    }
    if (f === last) {
      slot.node = node;
      slot.key = value;
      return true;
    }
    let next = node.get(value) as KeyTrie | undefined;
    if (!next) node.set(value, (next = new Map()));
    node = next;
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

async function sendOperation(
  state: RunState,
  step: Step & { kind: 'Fetch' },
  cursor: Cursor,
  variables: ResultMap,
  uniqueOfEntity: Int32Array | undefined,
): Promise<ResultMap | null | undefined> {
  const requestContext = state.requestContext;
  const fetch = step.node;
  const alone = () =>
    processFetch(state, fetch.serviceName, { query: fetch.operation, operationName: fetch.operationName, document: fetch.operationDocumentNode }, variables, cursor.path);
  const response = step.merge && state.batches ? await state.batches.fetch(step.merge, variables, cursor.path, alone) : await alone();
  if (response.errors) {
    const errors = uniqueOfEntity ? expandEntityErrors(response.errors, positionsOf(uniqueOfEntity)) : response.errors;
    const generatePath = errorPathGenerator(fetch, cursor);
    for (const error of errors) state.errors.push(downstreamServiceError(error, fetch.serviceName, generatePath));
    if (!response.extensions?.['ftv1'] && requestContext.metrics) {
      const errorPaths = errors.map((error) => ({ subgraph: fetch.serviceName, path: error.path }));
      if (requestContext.metrics.nonFtv1ErrorPaths) requestContext.metrics.nonFtv1ErrorPaths.push(...errorPaths);
      else requestContext.metrics.nonFtv1ErrorPaths = errorPaths;
    }
  }
  return response.data;
}

/**
 * Executes a compiled plan and shapes the response: what stock's `executeQueryPlan` returns for
 * the same plan, data and errors.
 */
export async function executeCompiledPlan(plan: CompiledPlan, run: PlanRun): Promise<GatewayExecutionResult> {
  const batches =
    plan.mergeable && run.mergeFetches !== false
      ? new FetchBatches(plan.merged, (serviceName, operation, variables, path) => processFetch(state, serviceName, operation, variables, path))
      : undefined;
  const state: RunState = { ...run, plan, errors: [], batches };
  const unfilteredData: ResultMap = Object.create(null);
  if (plan.root) await executeStep(state, plan.root, { path: [], data: unfilteredData, fullResult: unfilteredData });
  const errors = state.errors as GraphQLError[];
  let data: ResultMap | null;
  try {
    let postProcessingErrors: GraphQLError[];
    ({ data, errors: postProcessingErrors } = shapeResponse(plan.shape, unfilteredData, run.requestContext.request.variables));
    // As stock: post-processing errors are reported only when execution had none, and then as
    // `extensions.valueCompletion` (what Apollo Router does), not as errors.
    if (errors.length === 0 && postProcessingErrors.length > 0) return { extensions: { valueCompletion: postProcessingErrors }, data };
  } catch (error) {
    if (error instanceof GraphQLError) return { errors: [error] };
    if (error instanceof Error) return { errors: [new GraphQLError(error.message, { originalError: error })] };
    return { errors: [new GraphQLError('Unexpected error during query plan execution')] };
  }
  return errors.length === 0 ? { data } : { errors, data };
}
