/**
 * Federated subscription execution, shared by both transports.
 *
 * A subscription comes here once the request pipeline (gateway/pipeline/) has checked it like any
 * query (parsing, validation against the API schema, the caller's scope through the schema
 * contracts, the role's operation limits). Its variables are coerced, and it is planned by the
 * running ApolloGateway's own query planner, whose plan for a subscription is
 * `{ kind: 'Subscription', primary: Fetch, rest?: PlanNode }`: the primary fetch is the root
 * subscription field on the subgraph that owns it, the rest the entity fetches that resolve what
 * other subgraphs contribute. The primary fetch's operation is subscribed over graphql-ws on the
 * owning subgraph (./upstream.ts), and every event it sends is put through the stock
 * `executeQueryPlan` with the plan `Sequence[primary, rest]`, the primary's data source answering
 * that one fetch with the event and every other fetch going to the gateway's real data sources
 * (signed caller, timeouts, circuit breakers, de-duplication) — so each event is shaped exactly
 * as the same selection would be for a query.
 *
 * Resuming: the upstream subscription asks the owning subgraph for its event-log protocol
 * (lib/events/ids.ts): it replays after the client's resume position (or starts at the log's
 * head), says first where it starts, and every event carries its id, which the client's result
 * carries as `extensions.eventId`. The gateway keeps the id of the last event received in the
 * subscribe payload it resends when it reconnects to a restarted subgraph, so that reconnection
 * resumes too: nothing is lost while the subgraph is away.
 */
import { operationFromDocument } from '@apollo/federation-internals';
import { buildOperationContext, executeQueryPlan, type ApolloGateway, type GraphQLDataSource } from '@apollo/gateway';
import type { FetchNode, PlanNode, QueryPlan, QueryPlanner, SubscriptionNode } from '@apollo/query-planner';
import type { GatewayGraphQLRequestContext } from '@apollo/server-gateway-interface';
import { getVariableValues, GraphQLError, type DocumentNode, type ExecutionResult } from 'graphql';
import type { FormattedExecutionResult } from 'graphql-ws';
import type { Logger } from 'pino';
import type { Caller } from '../../lib/access.ts';
import { gatewayInternals, type GatewayInternals } from '../apollo/internals.ts';
import type { GatewayContext } from '../context.ts';
import { SubgraphDataSource, SubgraphErrorCode } from '../transport/index.ts';
import { startBudget } from '../transport/budget.ts';
import { boundedResult } from '../executor/ceilings.ts';
import type { ExecutionLimits } from '../operationLimits.ts';
import type { AcceptedSubscription } from '../pipeline/index.ts';
import { EventIdCode, eventLogOf, parseEventId } from '../../lib/events.ts';
import { EventStream, withEvent } from './stream.ts';
import type { SubgraphConnections } from './upstream.ts';
import { ErrorCode, pickCodes } from '../../lib/errors.ts';

/** One result the owning subgraph sent for a subscription. */
type UpstreamEvent = FormattedExecutionResult<Record<string, unknown>, unknown>;

/** `extensions.code` of the errors this module adds: too many subscriptions (SUBSCRIPTIONS_PER_CONNECTION, SUBSCRIPTIONS_PER_KEY); lib/errors.ts. */
const SubscriptionCode = pickCodes(ErrorCode.SUBSCRIPTION_LIMIT_EXCEEDED);

/** A transport connection: one WebSocket, or one SSE request. */
export interface Session {
  readonly caller: Caller;
  readonly requestId: string;
  readonly log: Logger;
  /** The key the per-key subscription limit counts against (`caller:<sub>`, or `ip:<address>` for anonymous callers). */
  readonly quotaKey: string;
  /** Subscriptions open on this connection. */
  open: number;
}

/** How the transport tells a stream its socket is backed up, and how the stream asks it to close. */
export interface TransportHooks {
  readonly congested: () => boolean;
  readonly overflow: (queued: number) => void;
  /** The client's resume position (SSE `Last-Event-ID`, graphql-ws `extensions.lastEventId`). */
  readonly lastEventId?: string | undefined;
  /** The stream yields its start position (./stream.ts). */
  readonly positions?: boolean;
}

export type Prepared =
  /** Refused before anything was subscribed (variables, plan, subscription limits): each error carries its HTTP status. */
  | { readonly kind: 'refused'; readonly errors: readonly GraphQLError[] }
  /** Subscribed upstream. */
  | { readonly kind: 'stream'; readonly stream: EventStream<UpstreamEvent> };

/** A subscription that may be subscribed: its plan and the data source of the subgraph that serves its root. */
interface Checked {
  readonly gateway: GatewayInternals;
  readonly node: SubscriptionNode;
  readonly dataSource: GraphQLDataSource;
  readonly url: string;
}

export interface ExecutionOptions {
  readonly gateway: ApolloGateway;
  readonly upstream: SubgraphConnections;
  readonly perConnection: number;
  readonly perKey: number;
  /** Upstream events queued for one slow client before it is cut off. */
  readonly maxQueued: number;
  /** The ceilings each event is completed within: its own deadline for the other subgraphs' fetches, and a maximum size. */
  readonly limitsFor?: (caller: Caller) => ExecutionLimits;
}

function error(message: string, code: string, status: number, extensions: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { code, ...extensions, http: { status } } });
}

/** Query plans per planner and query text, at most this many per planner. */
const PLAN_CACHE_SIZE = 500;

export class SubscriptionExecution {
  private readonly plans = new WeakMap<QueryPlanner, Map<string, QueryPlan>>();
  private readonly perKey = new Map<string, number>();

  constructor(private readonly opts: ExecutionOptions) {}

  /** Subscriptions open, in total. */
  get open(): number {
    let n = 0;
    for (const v of this.perKey.values()) n += v;
    return n;
  }

  /** What subscribing needs, checked: variables, the plan, the resume position, the subgraph's address; or why it cannot be. */
  private check(accepted: AcceptedSubscription, transport: TransportHooks): Checked | Extract<Prepared, { kind: 'refused' }> {
    const { schema, document, operation, operationName, query, variables: vars } = accepted;
    const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], vars);
    if (coerced.errors) {
      return {
        kind: 'refused',
        errors: coerced.errors.map((e) => new GraphQLError(e.message, { nodes: e.nodes, extensions: { code: 'BAD_USER_INPUT', http: { status: 400 } } })),
      };
    }
    const gateway = gatewayInternals(this.opts.gateway);
    let node: PlanNode | SubscriptionNode | undefined;
    try {
      node = this.plan(gateway, document, query, operationName).node;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      return { kind: 'refused', errors: [error(`The subscription cannot be planned: ${message}`, 'GRAPHQL_VALIDATION_FAILED', 400)] };
    }
    if (node?.kind !== 'Subscription') {
      return { kind: 'refused', errors: [error('The subscription selects nothing a subgraph serves', 'GRAPHQL_VALIDATION_FAILED', 400)] };
    }
    const primary = node.primary;
    const resumeError = checkResume(transport.lastEventId, primary.serviceName);
    if (resumeError) return { kind: 'refused', errors: [resumeError] };
    const dataSource = gateway.serviceMap[primary.serviceName]?.dataSource;
    if (!dataSource?.url) {
      return { kind: 'refused', errors: [error(`Subgraph "${primary.serviceName}" has no URL`, SubgraphErrorCode.SUBGRAPH_UNAVAILABLE, 503, { serviceName: primary.serviceName })] };
    }

    return { gateway, node, dataSource, url: dataSource.url };
  }

  /** Subscribes an accepted subscription upstream, or says why it cannot be (nothing is subscribed then). */
  async subscribe(accepted: AcceptedSubscription, session: Session, transport: TransportHooks): Promise<Prepared> {
    const checked = this.check(accepted, transport);
    if ('kind' in checked) return checked;
    const { gateway, node, dataSource, url } = checked;
    const { document, operationName, query, variables: vars } = accepted;
    const primary = node.primary;
    // Limits last: a refused subscription never takes a slot.
    const release = this.acquire(session);
    if (release instanceof GraphQLError) return { kind: 'refused', errors: [release] };

    const context: GatewayContext = { requestId: session.requestId, caller: session.caller, log: session.log };
    const resolveEvent = this.eventExecutor(gateway, node.primary, node.rest, document, query, operationName, vars, context);
    let unsubscribe: (() => void) | undefined;
    const stream: EventStream<UpstreamEvent> = new EventStream({
      resolve: resolveEvent,
      maxQueued: this.opts.maxQueued,
      congested: transport.congested,
      onOverflow: (queued) => {
        session.log.warn({ subgraph: primary.serviceName, queued }, 'subscription client too slow: closed');
        transport.overflow(queued);
      },
      onEnd: () => {
        unsubscribe?.();
        release();
      },
      positions: transport.positions ?? false,
    });
    const upstreamVariables: Record<string, unknown> = {};
    for (const name of primary.variableUsages ?? []) {
      if (Object.hasOwn(vars, name) && vars[name] !== undefined) upstreamVariables[name] = vars[name];
    }
    // graphql-ws resends this very object on every reconnection: `after` follows the events received.
    const resume = { after: transport.lastEventId ?? null };
    // Every instance of the subgraph: a connection lost with one is re-established with the next.
    const urls = dataSource instanceof SubgraphDataSource ? dataSource.instances.all.map((i) => i.url) : [url];
    unsubscribe = this.opts.upstream.subscribe(
      primary.serviceName,
      urls,
      session.caller,
      { query: primary.operation, variables: upstreamVariables, ...(primary.operationName ? { operationName: primary.operationName } : {}), extensions: { eventLog: resume } },
      {
        next: (event) => {
          const log = eventLogOf(event);
          if (log?.position !== undefined) {
            resume.after = log.position;
            return stream.position(log.position);
          }
          if (log?.id !== undefined) resume.after = log.id;
          stream.push(event);
        },
        complete: () => stream.finish(),
        error: (reason) => {
          session.log.warn({ subgraph: primary.serviceName, reason: describe(reason) }, 'subgraph subscription ended with an error');
          stream.finish({ errors: upstreamErrors(primary.serviceName, reason) });
        },
      },
    );
    if (stream.ended) unsubscribe();
    return { kind: 'stream', stream };
  }

  private plan(gateway: GatewayInternals, document: DocumentNode, query: string, operationName: string | undefined): QueryPlan {
    const planner = gateway.queryPlanner;
    if (!planner || !gateway.apiSchema) throw new Error('no supergraph loaded');
    let byPlanner = this.plans.get(planner);
    if (!byPlanner) this.plans.set(planner, (byPlanner = new Map()));
    const key = `${operationName ?? ''}\u0000${query}`;
    let plan = byPlanner.get(key);
    if (!plan) {
      const operation = operationFromDocument(gateway.apiSchema, document, { ...(operationName ? { operationName } : {}) });
      plan = planner.buildQueryPlan(operation, {
        recursiveSelectionsLimitDisabled: gateway.recursiveSelectionsLimitDisabled,
        nonLocalSelectionsLimitDisabled: gateway.nonLocalSelectionsLimitDisabled,
      });
      if (byPlanner.size >= PLAN_CACHE_SIZE) byPlanner.delete(byPlanner.keys().next().value!);
      byPlanner.set(key, plan);
    }
    return plan;
  }

  /**
   * The function that turns one upstream event into the client's result: the stock executor runs
   * `Sequence[primary, rest]`, the primary answered from the event.
   */
  private eventExecutor(
    gateway: GatewayInternals,
    primary: FetchNode,
    rest: PlanNode | undefined,
    document: DocumentNode,
    query: string,
    operationName: string | undefined,
    variables: Record<string, unknown>,
    context: GatewayContext,
  ): (event: UpstreamEvent) => Promise<ExecutionResult> {
    const { schema, supergraphSchema, apiSchema } = gateway;
    const plan: QueryPlan = { kind: 'QueryPlan', node: rest ? { kind: 'Sequence', nodes: [primary, rest] } : primary };
    const operationContext = buildOperationContext({ schema: schema!, operationDocument: document, ...(operationName ? { operationName } : {}) });
    const services: Record<string, GraphQLDataSource> = {};
    for (const [name, { dataSource }] of Object.entries(gateway.serviceMap)) services[name] = dataSource;
    const owner = services[primary.serviceName]!;
    const limits = this.opts.limitsFor?.(context.caller);
    return async (event) => {
      // Each event is completed as one request: its own context, so its own budget (gateway/executor/ceilings.ts).
      const eventContext: GatewayContext = { ...context };
      const budget = limits && startBudget(eventContext, limits);
      let answered = false;
      const fromEvent: GraphQLDataSource = {
        process: (options) => {
          if (!answered && options.request.query === primary.operation) {
            answered = true;
            return Promise.resolve({ ...(event.data !== undefined ? { data: event.data } : {}), ...(event.errors ? { errors: event.errors } : {}) });
          }
          return owner.process(options);
        },
      };
      const requestContext = {
        request: { query, variables, ...(operationName ? { operationName } : {}) },
        context: eventContext,
        logger: context.log,
        metrics: {},
        document,
        operationName: operationName ?? null,
      } as unknown as GatewayGraphQLRequestContext;
      try {
        const result = await executeQueryPlan(plan, { ...services, [primary.serviceName]: fromEvent }, requestContext, operationContext, supergraphSchema!, apiSchema!, gateway.config.telemetry);
        const shaped: ExecutionResult = { data: (result.data ?? null) as ExecutionResult['data'], ...(result.errors ? { errors: result.errors } : {}) };
        const bounded = limits ? boundedResult(shaped, limits.maxResponseBytes) : shaped;
        const log = eventLogOf(event);
        if (log?.id === undefined) return bounded;
        return withEvent({ ...bounded, extensions: { eventId: log.id } }, { id: log.id, entity: log.entity ?? '', replayed: log.replayed === true });
      } catch (err) {
        context.log.error({ err }, 'subscription event execution failed');
        return { data: null, errors: [new GraphQLError('Internal server error', { extensions: { code: 'INTERNAL_SERVER_ERROR' } })] };
      } finally {
        budget?.end();
      }
    };
  }

  /** Takes a subscription slot for the session's connection and key, or says which limit is reached. */
  private acquire(session: Session): (() => void) | GraphQLError {
    if (session.open >= this.opts.perConnection) {
      return error(
        `This connection already has ${session.open} subscriptions, the most one connection may have (SUBSCRIPTIONS_PER_CONNECTION)`,
        SubscriptionCode.SUBSCRIPTION_LIMIT_EXCEEDED,
        429,
        { limit: 'perConnection', max: this.opts.perConnection },
      );
    }
    const held = this.perKey.get(session.quotaKey) ?? 0;
    if (held >= this.opts.perKey) {
      return error(
        `This ${session.caller.role === 'anonymous' ? 'address' : 'key'} already has ${held} subscriptions open, the most it may have (SUBSCRIPTIONS_PER_KEY)`,
        SubscriptionCode.SUBSCRIPTION_LIMIT_EXCEEDED,
        429,
        { limit: 'perKey', max: this.opts.perKey },
      );
    }
    session.open++;
    this.perKey.set(session.quotaKey, held + 1);
    let held_ = true;
    return () => {
      if (!held_) return;
      held_ = false;
      session.open--;
      const n = (this.perKey.get(session.quotaKey) ?? 1) - 1;
      if (n <= 0) this.perKey.delete(session.quotaKey);
      else this.perKey.set(session.quotaKey, n);
    };
  }
}

/** A resume position must be an event id of the subgraph that owns the subscription. */
function checkResume(lastEventId: string | undefined, subgraph: string): GraphQLError | undefined {
  if (lastEventId === undefined) return undefined;
  const parsed = parseEventId(lastEventId);
  if (parsed?.subgraph === subgraph) return undefined;
  return error(
    `${JSON.stringify(lastEventId)} is not an event id of this subscription: resume with the eventId of an event it delivered (of the ${subgraph} subgraph)`,
    EventIdCode.EVENT_ID_UNKNOWN,
    400,
    { eventId: lastEventId },
  );
}

function describe(reason: unknown): string {
  if (Array.isArray(reason)) return reason.map((e: { message?: unknown }) => String(e?.message)).join('; ');
  if (reason && typeof reason === 'object' && 'code' in reason) return `close ${String((reason as { code: unknown }).code)} ${String((reason as { reason?: unknown }).reason ?? '')}`.trim();
  return reason instanceof Error ? reason.message : String(reason);
}

/** The errors that end a client subscription whose upstream ended with `reason`. */
function upstreamErrors(subgraph: string, reason: unknown): GraphQLError[] {
  if (Array.isArray(reason) && reason.length > 0) {
    // The subgraph refused the subscription (its own validation or argument errors).
    return reason.map(
      (e: { message?: unknown; path?: readonly (string | number)[]; extensions?: Record<string, unknown> }) =>
        new GraphQLError(String(e?.message ?? 'Subgraph error'), {
          ...(e?.path ? { path: e.path } : {}),
          extensions: { ...(e?.extensions ?? {}), code: e?.extensions?.['code'] ?? SubgraphErrorCode.SUBGRAPH_BAD_RESPONSE, serviceName: subgraph },
        }),
    );
  }
  const code = reason && typeof reason === 'object' && 'code' in reason ? (reason as { code: unknown }).code : undefined;
  const refused = code === 4401 || code === 4403;
  return [
    new GraphQLError(
      refused
        ? `Subgraph "${subgraph}" refused the gateway's subscription connection (close code ${String(code)}); subscribe again later`
        : `Subgraph "${subgraph}" is unavailable: its subscription connection was lost and could not be re-established; subscribe again later`,
      { extensions: { code: SubgraphErrorCode.SUBGRAPH_UNAVAILABLE, serviceName: subgraph } },
    ),
  ];
}
