/**
 * The lean executor: Apollo Gateway's planning, plan cache and supergraph handling,
 * with plan execution replaced by ./plan.ts.
 *
 * Apollo Server runs a gateway through the `executor` that `gateway.load()` hands it, which is
 * the gateway's public `executor` property. {@link useLeanExecutor} replaces that property before
 * the server starts with a port of the stock one (@apollo/gateway 2.14.4, src/index.ts
 * `executor`): same plan-store key, same variable validation, same planner and options, same
 * `experimental_didResolveQueryPlan` call and query-plan exposure, and only the call to
 * `executeQueryPlan` replaced. What the lean path leaves alone — subscriptions, @defer,
 * introspection, response names that shadow `Object.prototype`, usage-reporting traces — goes to
 * stock `executeQueryPlan` with the same arguments.
 *
 * It reads the gateway's state (schemas, planner, plan store, data sources) from the gateway's
 * private fields, read afresh for every request as stock does, so a supergraph swap is followed;
 * {@link useLeanExecutor} checks that they exist and refuses an @apollo/gateway without them.
 */
import { createHash } from 'node:crypto';
import { operationFromDocument, type Schema } from '@apollo/federation-internals';
import { executeQueryPlan, type ApolloGateway, type GraphQLDataSource } from '@apollo/gateway';
import type { OperationContext } from '@apollo/gateway/dist/operationContext.js';
import { buildOperationContext } from '@apollo/gateway/dist/operationContext.js';
import {
  OpenTelemetryAttributeNames,
  OpenTelemetrySpanNames,
  operationContextSpanAttributes,
  recordExceptions,
  requestContextSpanAttributes,
  tracer,
  type OpenTelemetryConfig,
} from '@apollo/gateway/dist/utilities/opentelemetry.js';
import { prettyFormatQueryPlan, type QueryPlan, type QueryPlanCache, type QueryPlanner } from '@apollo/query-planner';
import type { GatewayExecutionResult, GatewayExecutor, GatewayGraphQLRequestContext } from '@apollo/server-gateway-interface';
import type { Span } from '@opentelemetry/api';
import { getVariableValues, Kind, type GraphQLError, type GraphQLSchema, type VariableDefinitionNode } from 'graphql';
import { compilePlan, executeCompiledPlan, type CompiledPlan } from './plan.ts';
import { INHERITED_NAMES } from './shape.ts';

export { compilePlan, executeCompiledPlan, type CompiledPlan } from './plan.ts';

/** Which executor runs the gateway's query plans (GATEWAY_EXECUTOR). */
export type ExecutorKind = 'lean' | 'stock';

/** The private state of an ApolloGateway the executor reads (@apollo/gateway 2.14.4 field names). */
interface GatewayInternals {
  readonly schema?: GraphQLSchema;
  readonly apiSchema?: Schema;
  readonly supergraphSchema?: GraphQLSchema;
  readonly queryPlanStore: QueryPlanCache;
  readonly queryPlanner?: QueryPlanner;
  readonly serviceMap: Readonly<Record<string, { readonly dataSource: GraphQLDataSource }>>;
  readonly config: { readonly debug?: boolean; readonly __exposeQueryPlanExperimental?: boolean; readonly telemetry?: OpenTelemetryConfig };
  readonly logger: { debug(message: string): void; warn(message: string): void };
  readonly recursiveSelectionsLimitDisabled: boolean;
  readonly nonLocalSelectionsLimitDisabled: boolean;
  readonly experimental_didResolveQueryPlan?: (options: {
    queryPlan: QueryPlan;
    serviceMap: Record<string, GraphQLDataSource>;
    requestContext: GatewayGraphQLRequestContext;
    operationContext: OperationContext;
  }) => void;
}

const REQUIRED_FIELDS = ['queryPlanStore', 'serviceMap', 'config', 'logger', 'recursiveSelectionsLimitDisabled', 'nonLocalSelectionsLimitDisabled'] as const;

/** OpenTelemetry's SpanStatusCode.ERROR (the API is @apollo/gateway's dependency, not ours). */
const SPAN_ERROR = 2;

function failSpan(span: Span, errors: readonly unknown[], telemetry: OpenTelemetryConfig | undefined): void {
  recordExceptions(span, errors as Error[], telemetry);
  span.setStatus({ code: SPAN_ERROR });
}

/** Whether a supergraph has a field whose name a plain object inherits (the lean merge reads fields without own-property checks). */
function shadowsInheritedNames(schema: GraphQLSchema): boolean {
  for (const type of Object.values(schema.getTypeMap())) {
    const fields = 'getFields' in type && typeof type.getFields === 'function' ? (type.getFields() as Record<string, unknown>) : {};
    for (const name of Object.keys(fields)) if (INHERITED_NAMES.has(name)) return true;
  }
  return false;
}

export interface LeanExecutorOptions {
  /** Called for every plan executed, with the executor that ran it (`stock` for what the lean one leaves to stock). */
  readonly onExecute?: (executor: ExecutorKind, queryPlan: QueryPlan) => void;
  /**
   * Send the `_entities` fetches to one subgraph that are ready at the same time as one request
   * (gateway/executor/merge.ts). Default true.
   */
  readonly mergeFetches?: boolean;
}

/**
 * Replaces `gateway.executor` with the lean one; call before Apollo Server starts (it takes the
 * executor from `gateway.load()`). Throws if this @apollo/gateway does not have the state it needs.
 */
export function useLeanExecutor(gateway: ApolloGateway, options: LeanExecutorOptions = {}): void {
  const g = gateway as unknown as GatewayInternals;
  const missing = REQUIRED_FIELDS.filter((f) => !(f in g));
  if (missing.length > 0 || typeof gateway.executor !== 'function') {
    throw new Error(`the lean executor does not support this @apollo/gateway (missing ${missing.join(', ') || 'executor'})`);
  }
  /** Per plan object (held by the plan store): its compiled form, or null to run it with stock executeQueryPlan. */
  const compiled = new WeakMap<QueryPlan, CompiledPlan | null>();
  const mergeFetches = options.mergeFetches ?? true;
  const serviceMaps = new WeakMap<object, Record<string, GraphQLDataSource>>();
  const unsafeSchemas = new WeakMap<GraphQLSchema, boolean>();

  const compiledFor = (queryPlan: QueryPlan, operationContext: OperationContext, apiSchema: Schema, supergraphSchema: GraphQLSchema) => {
    let plan = compiled.get(queryPlan);
    if (plan !== undefined) return plan;
    let unsafe = unsafeSchemas.get(supergraphSchema);
    if (unsafe === undefined) unsafeSchemas.set(supergraphSchema, (unsafe = shadowsInheritedNames(supergraphSchema)));
    plan = null;
    if (!unsafe) {
      try {
        // The Operation stock builds for executing this plan (executeQueryPlan), once per plan.
        const operation = operationFromDocument(
          apiSchema,
          { kind: Kind.DOCUMENT, definitions: [operationContext.operation, ...Object.values(operationContext.fragments)] },
          { validate: false },
        );
        plan = compilePlan(queryPlan, operation);
      } catch {
        plan = null; // stock answers it (including with the error building the operation raises)
      }
    }
    compiled.set(queryPlan, plan);
    return plan;
  };

  const serviceMapOf = (map: GatewayInternals['serviceMap']): Record<string, GraphQLDataSource> => {
    let out = serviceMaps.get(map);
    if (!out) {
      out = Object.create(null) as Record<string, GraphQLDataSource>;
      for (const [name, { dataSource }] of Object.entries(map)) out[name] = dataSource;
      serviceMaps.set(map, out);
    }
    return out;
  };

  const validate = (requestContext: GatewayGraphQLRequestContext, operationContext: OperationContext): readonly GraphQLError[] => {
    const definitions = operationContext.operation.variableDefinitions as VariableDefinitionNode[] | undefined;
    if (!definitions) return [];
    return getVariableValues(operationContext.schema, definitions, requestContext.request.variables || {}).errors ?? [];
  };

  const plan = async (
    requestContext: GatewayGraphQLRequestContext,
    apiSchema: Schema,
    queryPlanner: QueryPlanner,
  ): Promise<QueryPlan> => {
    const { request, document } = requestContext;
    const operation = operationFromDocument(apiSchema, document, { operationName: request.operationName });
    return queryPlanner.buildQueryPlan(operation, {
      recursiveSelectionsLimitDisabled: g.recursiveSelectionsLimitDisabled,
      nonLocalSelectionsLimitDisabled: g.nonLocalSelectionsLimitDisabled,
    });
  };

  const execute = async (requestContext: GatewayGraphQLRequestContext, span: Span, recording: boolean): Promise<GatewayExecutionResult> => {
    const telemetry = g.config.telemetry;
    const { request, document, queryHash } = requestContext;
    const queryPlanStoreKey = request.operationName
      ? createHash('sha256').update(queryHash).update(request.operationName).digest('hex')
      : queryHash;
    const operationContext = buildOperationContext({ schema: g.schema!, operationDocument: document, operationName: request.operationName });
    if (recording) span.setAttributes(operationContextSpanAttributes(operationContext));

    const validationErrors = validate(requestContext, operationContext);
    if (validationErrors.length > 0) {
      if (recording) failSpan(span, validationErrors, telemetry);
      return { errors: [...validationErrors] };
    }

    let queryPlan = await g.queryPlanStore.get(queryPlanStoreKey);
    if (!queryPlan) {
      const apiSchema = g.apiSchema!;
      const queryPlanner = g.queryPlanner!;
      queryPlan = recording
        ? await tracer.startActiveSpan(
            OpenTelemetrySpanNames.PLAN,
            requestContext.operationName ? { attributes: { [OpenTelemetryAttributeNames.GRAPHQL_OPERATION_NAME]: requestContext.operationName } } : {},
            async (planSpan) => {
              try {
                return await plan(requestContext, apiSchema, queryPlanner);
              } catch (err) {
                failSpan(planSpan, [err], telemetry);
                throw err;
              } finally {
                planSpan.end();
              }
            },
          )
        : await plan(requestContext, apiSchema, queryPlanner);
      try {
        await g.queryPlanStore.set(queryPlanStoreKey, queryPlan);
      } catch (err) {
        g.logger.warn('Could not store queryPlan' + ((err && (err as Error).message) || err));
      }
    }

    const serviceMap = serviceMapOf(g.serviceMap);
    g.experimental_didResolveQueryPlan?.({ queryPlan, serviceMap, requestContext, operationContext });

    const apiSchema = g.apiSchema!;
    const supergraphSchema = g.supergraphSchema!;
    const lean = requestContext.metrics?.captureTraces ? null : compiledFor(queryPlan, operationContext, apiSchema, supergraphSchema);
    options.onExecute?.(lean ? 'lean' : 'stock', queryPlan);
    let response: GatewayExecutionResult;
    if (!lean) {
      response = await executeQueryPlan(queryPlan, serviceMap, requestContext, operationContext, supergraphSchema, apiSchema, telemetry);
    } else if (recording) {
      response = await tracer.startActiveSpan(OpenTelemetrySpanNames.EXECUTE, async (executeSpan) => {
        try {
          const result = await executeCompiledPlan(lean, { requestContext, serviceMap, supergraphSchema, tracing: true, mergeFetches });
          if (result.errors) failSpan(executeSpan, result.errors, telemetry);
          return result;
        } finally {
          executeSpan.end();
        }
      });
    } else {
      response = await executeCompiledPlan(lean, { requestContext, serviceMap, supergraphSchema, tracing: false, mergeFetches });
    }

    // Stock's query-plan exposure (development only, on request) and debug logging.
    const shouldShowQueryPlan = g.config.__exposeQueryPlanExperimental && request.http?.headers?.get('Apollo-Query-Plan-Experimental');
    const serializedQueryPlan = queryPlan.node && (g.config.debug || shouldShowQueryPlan) ? prettyFormatQueryPlan(queryPlan) : null;
    if (g.config.debug && serializedQueryPlan) g.logger.debug(serializedQueryPlan);
    if (shouldShowQueryPlan) {
      const format = request.http?.headers?.has('Apollo-Query-Plan-Experimental-Format')
        ? request.http.headers.get('Apollo-Query-Plan-Experimental-Format')
        : 'prettified';
      (response as { extensions?: Record<string, unknown> }).extensions = {
        __queryPlanExperimental: format === 'prettified' ? serializedQueryPlan || true : format === 'internal' ? queryPlan : true,
      };
    }
    if (response.errors && recording) failSpan(span, response.errors, telemetry);
    return response;
  };

  const executor: GatewayExecutor = (requestContext) =>
    tracer.startActiveSpan(OpenTelemetrySpanNames.REQUEST, async (span) => {
      const recording = span.isRecording();
      try {
        if (recording) span.setAttributes(requestContextSpanAttributes(requestContext, g.config.telemetry));
        return await execute(requestContext, span, recording);
      } catch (err) {
        if (recording) failSpan(span, [err], g.config.telemetry);
        throw err;
      } finally {
        span.end();
      }
    });
  (gateway as { executor: GatewayExecutor }).executor = executor;
}
