/**
 * The lean executor: Apollo Gateway's planning, plan cache and supergraph handling,
 * with plan execution replaced by ./plan.ts.
 *
 * Apollo Server runs a gateway through the `executor` that `gateway.load()` hands it, which is
 * the gateway's public `executor` property. {@link useLeanExecutor} replaces that property before
 * the server starts with a port of the stock one (src/index.ts `executor`, of the @apollo/gateway
 * version ../apollo/internals.ts is written for): same plan-store key, same variable validation,
 * same planner and options, same `experimental_didResolveQueryPlan` call and query-plan exposure,
 * and only the call to `executeQueryPlan` replaced. What the lean path leaves alone —
 * subscriptions, introspection, response names that shadow `Object.prototype`, usage-reporting
 * traces — goes to stock `executeQueryPlan` with the same arguments. `@defer`, which stock cannot
 * execute, the lean path answers incrementally when the request's context carries an incremental
 * handoff (gateway/pipeline/incremental.ts), and merged otherwise.
 *
 * It reads the gateway's state (schemas, planner, plan store, data sources) from the gateway's
 * private fields (../apollo/internals.ts, which checks them), read afresh for every request as
 * stock does, so a supergraph swap is followed.
 */
import { createHash } from 'node:crypto';
import { operationFromDocument, type Schema } from '@apollo/federation-internals';
import { buildOperationContext, executeQueryPlan, type ApolloGateway, type GraphQLDataSource } from '@apollo/gateway';
import { prettyFormatQueryPlan, type QueryPlan, type QueryPlanner } from '@apollo/query-planner';
import type { GatewayExecutionResult, GatewayExecutor, GatewayGraphQLRequestContext } from '@apollo/server-gateway-interface';
import type { Span } from '@opentelemetry/api';
import { getVariableValues, Kind, visit, type DocumentNode, type GraphQLError, type GraphQLSchema, type VariableDefinitionNode } from 'graphql';
import {
  gatewayInternals,
  OpenTelemetryAttributeNames,
  OpenTelemetrySpanNames,
  operationContextSpanAttributes,
  recordExceptions,
  requestContextSpanAttributes,
  tracer,
  type GatewayInternals,
  type OpenTelemetryConfig,
  type OperationContext,
} from '../apollo/internals.ts';
import { INHERITED_NAMES, UnsupportedOperation } from './compileShape.ts';
import type { GatewayContext } from '../context.ts';
import { compilePlan, executeCompiledPlan, executeCompiledPlanIncrementally, type CompiledPlan, type FetchCache, type PlanRun } from './plan.ts';

export { compilePlan, executeCompiledPlan, type CompiledPlan, type FetchCache } from './plan.ts';

/** Which executor runs the gateway's query plans (GATEWAY_EXECUTOR). */
export type ExecutorKind = 'lean' | 'stock';

/** Plan-store keys remembered (a bound on memory against many distinct operations: past it, the memo starts afresh). */
const PLAN_KEYS = 10_000;

/** OpenTelemetry's SpanStatusCode.ERROR (the API is @apollo/gateway's dependency, not ours). */
const SPAN_ERROR = 2;

function failSpan(span: Span, errors: readonly unknown[], telemetry: OpenTelemetryConfig | undefined): void {
  recordExceptions(span, errors as Error[], telemetry);
  span.setStatus({ code: SPAN_ERROR });
}

/** Whether a plan (its root: Defer nodes are at the root or under its conditions) defers anything. */
function defers(node: QueryPlan['node']): boolean {
  if (node?.kind === 'Defer') return true;
  return node?.kind === 'Condition' && (defers(node.ifClause) || defers(node.elseClause));
}

function usesDefer(document: DocumentNode): boolean {
  let found = false;
  visit(document, { Directive: (node) => void (found ||= node.name.value === 'defer') });
  return found;
}

/** Whether a supergraph has a field whose name a plain object inherits (the lean merge reads fields without own-property checks). */
function shadowsInheritedNames(schema: GraphQLSchema): boolean {
  for (const type of Object.values(schema.getTypeMap())) {
    const fields = 'getFields' in type && typeof type.getFields === 'function' ? (type.getFields() as Record<string, unknown>) : {};
    for (const name of Object.keys(fields)) if (INHERITED_NAMES.has(name)) return true;
  }
  return false;
}

/**
 * Why a plan went to stock `executeQueryPlan` rather than the lean executor:
 * - `unsupported`: what the lean executor leaves to stock by design (introspection, subscriptions,
 *   a response name that shadows an `Object.prototype` member);
 * - `shadowed_names`: the supergraph has a field named like an `Object.prototype` member;
 * - `usage_traces`: Apollo usage reporting asked for this request's trace;
 * - `compile_error`: compiling the plan threw anything else, which is a lean executor bug.
 */
export type FallbackReason = 'unsupported' | 'shadowed_names' | 'usage_traces' | 'compile_error';

/** Every {@link FallbackReason}, for metrics that start each series at 0. */
export const FALLBACK_REASONS: readonly FallbackReason[] = ['unsupported', 'shadowed_names', 'usage_traces', 'compile_error'];

/** Which executor ran one request's plan, and why stock did. */
export interface Execution {
  readonly executor: ExecutorKind;
  /** Set when stock ran it. */
  readonly fallback?: FallbackReason;
  /** For `unsupported` and `compile_error`: the message of what compiling the plan threw. */
  readonly detail?: string;
}

/** A plan the lean executor leaves to stock, and why. */
type Fallback = { readonly fallback: FallbackReason; readonly detail?: string };

export interface LeanExecutorOptions {
  /** Called for every plan executed: which executor ran it, and why stock did (tests, metrics, logs). */
  readonly onExecute?: (execution: Execution, queryPlan: QueryPlan, requestContext: GatewayGraphQLRequestContext) => void;
  /**
   * Send the `_entities` fetches to one subgraph that are ready at the same time as one request
   * (gateway/executor/merge.ts). Default true.
   */
  readonly mergeFetches?: boolean;
  /** The fetch cache of one request (gateway/cache/), if it has one. */
  readonly fetchCache?: (requestContext: GatewayGraphQLRequestContext) => FetchCache | undefined;
}

/** The lean executor of one gateway: its compiled plans, and the requests it runs. */
class LeanExecutor {
  /** Per plan object (held by the plan store): its compiled form, or why stock executeQueryPlan runs it. */
  private readonly compiled = new WeakMap<QueryPlan, CompiledPlan | Fallback>();
  private readonly serviceMaps = new WeakMap<object, Record<string, GraphQLDataSource>>();
  private readonly unsafeSchemas = new WeakMap<GraphQLSchema, boolean>();
  private readonly planKeys = new Map<string, string>();
  private readonly mergeFetches: boolean;

  constructor(
    private readonly g: GatewayInternals,
    private readonly options: LeanExecutorOptions,
  ) {
    this.mergeFetches = options.mergeFetches ?? true;
  }

  /** The gateway's `executor`: one request, in the spans stock opens. */
  readonly executor: GatewayExecutor = (requestContext) =>
    tracer.startActiveSpan(OpenTelemetrySpanNames.REQUEST, async (span) => {
      const recording = span.isRecording();
      try {
        if (recording) span.setAttributes(requestContextSpanAttributes(requestContext, this.g.config.telemetry));
        return await this.execute(requestContext, span, recording);
      } catch (err) {
        if (recording) failSpan(span, [err], this.g.config.telemetry);
        throw err;
      } finally {
        span.end();
      }
    });

  private async execute(requestContext: GatewayGraphQLRequestContext, span: Span, recording: boolean): Promise<GatewayExecutionResult> {
    const g = this.g;
    const telemetry = g.config.telemetry;
    const { request, document } = requestContext;
    const operationContext = buildOperationContext({ schema: g.schema!, operationDocument: document, operationName: request.operationName });
    if (recording) span.setAttributes(operationContextSpanAttributes(operationContext));

    const validationErrors = this.validate(requestContext, operationContext);
    if (validationErrors.length > 0) {
      if (recording) failSpan(span, validationErrors, telemetry);
      return { errors: [...validationErrors] };
    }

    const queryPlan = await this.queryPlan(requestContext, recording);
    const serviceMap = this.serviceMapOf(g.serviceMap);
    g.experimental_didResolveQueryPlan?.({ queryPlan, serviceMap, requestContext, operationContext });

    const apiSchema = g.apiSchema!;
    const supergraphSchema = g.supergraphSchema!;
    const compiled: CompiledPlan | Fallback = requestContext.metrics?.captureTraces
      ? { fallback: 'usage_traces' }
      : this.compiledFor(queryPlan, operationContext, apiSchema, supergraphSchema);
    const lean = 'fallback' in compiled ? null : compiled;
    this.options.onExecute?.(lean ? { executor: 'lean' } : { executor: 'stock', ...(compiled as Fallback) }, queryPlan, requestContext);
    // Stock cannot execute deferred fragments: a plan with them that is left to stock is planned
    // again without them (not stored), and answered whole.
    const stockPlan = !lean && defers(queryPlan.node) ? this.plan(requestContext, this.g.apiSchema!, this.g.queryPlanner!, true) : queryPlan;
    const response = lean
      ? await this.executeLean(lean, requestContext, serviceMap, supergraphSchema, recording)
      : await executeQueryPlan(stockPlan, serviceMap, requestContext, operationContext, supergraphSchema, apiSchema, telemetry);
    this.exposeQueryPlan(requestContext, queryPlan, response);
    if (response.errors && recording) failSpan(span, response.errors, telemetry);
    return response;
  }

  /** Stock's variable validation against the operation's definitions. */
  private validate(requestContext: GatewayGraphQLRequestContext, operationContext: OperationContext): readonly GraphQLError[] {
    const definitions = operationContext.operation.variableDefinitions as VariableDefinitionNode[] | undefined;
    if (!definitions) return [];
    return getVariableValues(operationContext.schema, definitions, requestContext.request.variables || {}).errors ?? [];
  }

  /** The operation's plan from the gateway's plan store (stock's key), planned and stored on a miss. */
  private async queryPlan(requestContext: GatewayGraphQLRequestContext, recording: boolean): Promise<QueryPlan> {
    const g = this.g;
    const { request, queryHash } = requestContext;
    const queryPlanStoreKey = request.operationName ? this.planKey(queryHash, request.operationName) : queryHash;
    let queryPlan = await g.queryPlanStore.get(queryPlanStoreKey);
    if (queryPlan) return queryPlan;
    const apiSchema = g.apiSchema!;
    const queryPlanner = g.queryPlanner!;
    queryPlan = recording
      ? await tracer.startActiveSpan(
          OpenTelemetrySpanNames.PLAN,
          requestContext.operationName ? { attributes: { [OpenTelemetryAttributeNames.GRAPHQL_OPERATION_NAME]: requestContext.operationName } } : {},
          async (planSpan) => {
            try {
              return await this.plan(requestContext, apiSchema, queryPlanner);
            } catch (err) {
              failSpan(planSpan, [err], g.config.telemetry);
              throw err;
            } finally {
              planSpan.end();
            }
          },
        )
      : await this.plan(requestContext, apiSchema, queryPlanner);
    try {
      await g.queryPlanStore.set(queryPlanStoreKey, queryPlan);
    } catch (err) {
      g.logger.warn('Could not store queryPlan' + ((err && (err as Error).message) || err));
    }
    return queryPlan;
  }

  /** Stock's plan-store key of a named operation, sha256(queryHash + operationName), remembered for the operations seen most. */
  private planKey(queryHash: string, operationName: string): string {
    const id = `${queryHash}\0${operationName}`;
    let key = this.planKeys.get(id);
    if (key === undefined) {
      key = createHash('sha256').update(queryHash).update(operationName).digest('hex');
      if (this.planKeys.size >= PLAN_KEYS) this.planKeys.clear();
      this.planKeys.set(id, key);
    }
    return key;
  }

  private plan(requestContext: GatewayGraphQLRequestContext, apiSchema: Schema, queryPlanner: QueryPlanner, withoutDefer = false): QueryPlan {
    const { request, document } = requestContext;
    const parsed = operationFromDocument(apiSchema, document, { operationName: request.operationName });
    const operation = withoutDefer ? parsed.withoutDefer() : parsed;
    const options = {
      recursiveSelectionsLimitDisabled: this.g.recursiveSelectionsLimitDisabled,
      nonLocalSelectionsLimitDisabled: this.g.nonLocalSelectionsLimitDisabled,
    };
    try {
      return queryPlanner.buildQueryPlan(operation, options);
    } catch (err) {
      // Apollo's planner fails on some deferred fragments it could plan undeferred (an
      // @interfaceObject reached through a key it cannot resolve, for one): such an operation is
      // answered merged, as the incremental delivery RFC lets a server do.
      if (!usesDefer(document)) throw err;
      return queryPlanner.buildQueryPlan(operation.withoutDefer(), options);
    }
  }

  private compiledFor(queryPlan: QueryPlan, operationContext: OperationContext, apiSchema: Schema, supergraphSchema: GraphQLSchema): CompiledPlan | Fallback {
    let plan = this.compiled.get(queryPlan);
    if (plan !== undefined) return plan;
    let unsafe = this.unsafeSchemas.get(supergraphSchema);
    if (unsafe === undefined) this.unsafeSchemas.set(supergraphSchema, (unsafe = shadowsInheritedNames(supergraphSchema)));
    plan = { fallback: 'shadowed_names' };
    if (!unsafe) {
      try {
        // The Operation stock builds for executing this plan (executeQueryPlan), once per plan.
        const operation = operationFromDocument(
          apiSchema,
          { kind: Kind.DOCUMENT, definitions: [operationContext.operation, ...Object.values(operationContext.fragments)] },
          { validate: false },
        );
        plan = compilePlan(queryPlan, operation);
      } catch (err) {
        // Stock answers it (including with the error building the operation raises).
        plan = { fallback: err instanceof UnsupportedOperation ? 'unsupported' : 'compile_error', detail: String((err as Error)?.message ?? err) };
      }
    }
    this.compiled.set(queryPlan, plan);
    return plan;
  }

  private serviceMapOf(map: GatewayInternals['serviceMap']): Record<string, GraphQLDataSource> {
    let out = this.serviceMaps.get(map);
    if (!out) {
      out = Object.create(null) as Record<string, GraphQLDataSource>;
      for (const [name, { dataSource }] of Object.entries(map)) out[name] = dataSource;
      this.serviceMaps.set(map, out);
    }
    return out;
  }

  private executeLean(
    lean: CompiledPlan,
    requestContext: GatewayGraphQLRequestContext,
    serviceMap: Record<string, GraphQLDataSource>,
    supergraphSchema: GraphQLSchema,
    recording: boolean,
  ): Promise<GatewayExecutionResult> {
    const mergeFetches = this.mergeFetches;
    const cache = this.options.fetchCache?.(requestContext);
    if (!recording) return this.run(lean, { requestContext, serviceMap, supergraphSchema, tracing: false, mergeFetches, cache });
    return tracer.startActiveSpan(OpenTelemetrySpanNames.EXECUTE, async (executeSpan) => {
      try {
        const result = await this.run(lean, { requestContext, serviceMap, supergraphSchema, tracing: true, mergeFetches, cache });
        if (result.errors) failSpan(executeSpan, result.errors, this.g.config.telemetry);
        return result;
      } finally {
        executeSpan.end();
      }
    });
  }

  /** Runs a plan: incrementally when it defers something and the client takes that (the deferred parts go to the request's handoff), else as one result. */
  private async run(lean: CompiledPlan, run: PlanRun): Promise<GatewayExecutionResult> {
    const handoff = (run.requestContext.context as Partial<GatewayContext>).incremental;
    if (!lean.defers || !handoff) return executeCompiledPlan(lean, run);
    const { result, deferred } = await executeCompiledPlanIncrementally(lean, run);
    if (deferred) handoff.deferred = deferred;
    return result;
  }

  /** Stock's query-plan exposure (development only, on request) and debug logging. */
  private exposeQueryPlan(requestContext: GatewayGraphQLRequestContext, queryPlan: QueryPlan, response: GatewayExecutionResult): void {
    const { config, logger } = this.g;
    const request = requestContext.request;
    const shouldShowQueryPlan = config.__exposeQueryPlanExperimental && request.http?.headers?.get('Apollo-Query-Plan-Experimental');
    const serializedQueryPlan = queryPlan.node && (config.debug || shouldShowQueryPlan) ? prettyFormatQueryPlan(queryPlan) : null;
    if (config.debug && serializedQueryPlan) logger.debug(serializedQueryPlan);
    if (shouldShowQueryPlan) {
      const format = request.http?.headers?.has('Apollo-Query-Plan-Experimental-Format')
        ? request.http.headers.get('Apollo-Query-Plan-Experimental-Format')
        : 'prettified';
      (response as { extensions?: Record<string, unknown> }).extensions = {
        __queryPlanExperimental: format === 'prettified' ? serializedQueryPlan || true : format === 'internal' ? queryPlan : true,
      };
    }
  }
}

/**
 * Replaces `gateway.executor` with the lean one; call before Apollo Server starts (it takes the
 * executor from `gateway.load()`). Throws if this @apollo/gateway does not have the state it needs.
 */
export function useLeanExecutor(gateway: ApolloGateway, options: LeanExecutorOptions = {}): void {
  const internals = gatewayInternals(gateway);
  if (typeof gateway.executor !== 'function') throw new Error('the lean executor does not support this @apollo/gateway (missing executor)');
  (gateway as { executor: GatewayExecutor }).executor = new LeanExecutor(internals, options).executor;
}
