/**
 * Prometheus metrics of the gateway, on a registry of its own (never prom-client's global one, so
 * several gateways in one process, as in the tests, do not collide). Served as text at GET /metrics.
 *
 * | series | type | labels |
 * |---|---|---|
 * | `<prefix>requests_total` | counter | `operation`, `outcome` |
 * | `<prefix>operation_names_folded_total` | counter | – |
 * | `<prefix>request_duration_seconds` | histogram | `operation` |
 * | `<prefix>requests_in_flight` | gauge | – |
 * | `<prefix>subgraph_fetch_duration_seconds` | histogram | `subgraph`, `outcome` |
 * | `<prefix>subgraph_fetch_errors_total` | counter | `subgraph`, `outcome` (not `ok`, not `cancelled`) |
 * | `<prefix>subgraph_circuit_state` | gauge (0 closed, 1 half_open, 2 open) | `subgraph` |
 * | `<prefix>subgraph_retries_total` | counter | `subgraph` |
 * | `<prefix>query_plan_cache_lookups_total` | counter | `result` (`hit`, `miss`) |
 * | `<prefix>operation_cost_estimated`, `<prefix>operation_cost_actual` | histogram | `role` |
 * | `<prefix>executor_fallbacks_total` | counter | `reason` (gateway/executor/index.ts `FallbackReason`) |
 * | `process_*`, `nodejs_*` (prom-client defaults, e.g. `nodejs_eventloop_lag_seconds`) | various | – |
 *
 * `<prefix>` is `ali_gateway_` unless {@link MetricsOptions.prefix} says otherwise.
 *
 * The `operation` label is bounded, since callers choose operation names: a name becomes a label
 * value only once its operation passed every check of the pipeline (parsing, validation, access,
 * operation limits), cut to {@link MetricsOptions.maxOperationNameLength} characters, and only
 * for the first {@link MetricsOptions.maxOperationNames} distinct names (first come, first
 * served, for the life of the process); a refused request counts as `other`, and so does a valid
 * one whose name comes after the budget is spent (counted in `operation_names_folded_total`, the
 * sign the budget is too small or someone is spending it). Real operations keep their names as
 * long as they are among the first names seen.
 */
import perfHooks, { type IntervalHistogram } from 'node:perf_hooks';
import type { ApolloServerPlugin, BaseContext, GraphQLRequestContext } from '@apollo/server';
import type { GatewayConfig } from '@apollo/gateway';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { FALLBACK_REASONS, type FallbackReason } from './executor/index.ts';

/** How one gateway → subgraph fetch ended (same literals as gateway/transport/failures.ts). */
export type FetchOutcome = 'ok' | 'error' | 'timeout' | 'circuit_open' | 'cancelled';
/** State of a subgraph's circuit breaker (same literals as gateway/transport/circuitBreaker.ts). */
export type CircuitState = 'closed' | 'open' | 'half_open';

/**
 * How a GraphQL request ended, the `outcome` label of `requests_total`:
 * - `success`: no errors;
 * - `partial`: errors, and `data` with at least some fields (e.g. one subgraph failed);
 * - `error`: errors and no `data` (null or absent) after execution started, or an unexpected
 *   server error; the caller did nothing wrong (subgraph down on a non-null field, timeout, bug);
 * - `invalid`: the request was rejected before execution (malformed HTTP request, syntax or
 *   validation error, unknown operation name, persisted-query miss, a plugin refusing the
 *   operation) or answered 4xx with no `data` (bad variable values).
 */
export type RequestOutcome = 'success' | 'partial' | 'error' | 'invalid';

/**
 * The cache `@apollo/gateway` takes as `queryPlannerConfig.cache` (its `QueryPlanCache`): a
 * `KeyValueCache` of query-plan *objects* (not strings) plus `clear()`, which the gateway calls on
 * every supergraph (re)load, so a cache without it fails the gateway's first load.
 */
export type QueryPlanCache = NonNullable<NonNullable<GatewayConfig['queryPlannerConfig']>['cache']>;
/** What the gateway stores in its {@link QueryPlanCache}: `new InMemoryLRUCache<QueryPlan>()`. */
export type QueryPlan = Parameters<QueryPlanCache['set']>[1];

export interface MetricsOptions {
  /** Prefix of this module's series (not of prom-client's `process_*`/`nodejs_*`). Default `ali_gateway_`. */
  readonly prefix?: string;
  /**
   * Distinct operation names that get their own `operation` label value; later new names are
   * counted as `other`. Bounds the series an anonymous caller can create. Default 100.
   */
  readonly maxOperationNames?: number;
  /** Characters of an operation name kept in its label value (a longer name is cut). Default 64. */
  readonly maxOperationNameLength?: number;
}

export interface GatewayMetrics {
  readonly registry: Registry;
  /**
   * Apollo Server plugin: `requests_total` by operation and {@link RequestOutcome},
   * `request_duration_seconds` (from the start of GraphQL processing to the response),
   * `requests_in_flight`. `operation` is the name of an operation that passed every check,
   * `anonymous` for an unnamed one, `other` for a refused request or when the name budget is
   * spent. It must come before any plugin that answers operations itself (`responseForOperation`):
   * it learns there that an operation passed every check.
   */
  readonly plugin: ApolloServerPlugin<BaseContext>;
  /** Wraps the gateway's query-plan cache to count hits and misses; pass the result as `queryPlannerConfig.cache`. */
  wrapQueryPlanCache(cache: QueryPlanCache): QueryPlanCache;
  /** One gateway → subgraph fetch: duration by subgraph and outcome; anything but `ok` also counts as an error. */
  subgraphFetch(subgraph: string, seconds: number, outcome: FetchOutcome): void;
  /** A subgraph's circuit changed state: gauge 0 closed, 1 half_open, 2 open. */
  circuitState(subgraph: string, state: CircuitState): void;
  /** A query sent again to another instance of a subgraph after its connection failed. */
  subgraphRetry(subgraph: string): void;
  /** An operation's estimated cost, and its actual cost when it was executed (gateway/operationLimits.ts). */
  operationCost(role: string, estimated: number, actual: number | undefined): void;
  /** The lean executor left a request's plan to stock `executeQueryPlan`, for `reason`. */
  executorFallback(reason: FallbackReason): void;
  /** Subscription gauges, read from the subscription server at each scrape. */
  watchSubscriptions(stats: () => SubscriptionStats): void;
  /** Text exposition for GET /metrics. */
  render(): Promise<{ contentType: string; body: string }>;
  /** Stops the event-loop delay monitor and GC observer of the default metrics. Idempotent. */
  stop(): void;
}

/** What the subscription server reports (gateway/subscriptions). */
export interface SubscriptionStats {
  readonly websockets: number;
  readonly eventStreams: number;
  readonly subscriptions: number;
  readonly subgraphConnections: number;
}

/** Label value of requests with no resolved operation, and of names beyond the budget. */
export const OTHER_OPERATION = 'other';
/** Label value of an operation without a name (`{ alliances { … } }`). */
export const ANONYMOUS_OPERATION = 'anonymous';

const CIRCUIT_STATE_VALUE: Readonly<Record<CircuitState, number>> = { closed: 0, half_open: 1, open: 2 };
const FETCH_ERROR_OUTCOMES: readonly Exclude<FetchOutcome, 'ok' | 'cancelled'>[] = ['error', 'timeout', 'circuit_open'];
/** Seconds; up to the default subgraph timeout (SUBGRAPH_TIMEOUT_MS, 30 s) so timeouts land in a bucket. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Operation costs; around the default per-role maxCost values (20,000 to 500,000). */
const COST_BUCKETS = [10, 100, 1_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000, 500_000, 1_000_000];

interface RequestState {
  readonly startedAt: number;
  /** Every didResolveOperation hook passed (parsing, validation, access, limits). */
  admitted: boolean;
  executionStarted: boolean;
  finished: boolean;
}

type Registers = Registry[];

export function createMetrics(options: MetricsOptions = {}): GatewayMetrics {
  const prefix = options.prefix ?? 'ali_gateway_';
  const registry = new Registry();
  const registers = [registry];
  const requests = requestSeries(prefix, registers, options);
  const subgraphs = subgraphSeries(prefix, registers);
  const cost = costSeries(prefix, registers);
  let subscriptionStats: (() => SubscriptionStats) | undefined;
  subscriptionGauges(prefix, registers, () => subscriptionStats?.());
  const stopDefaultMetrics = collectStoppableDefaultMetrics(registry);
  return {
    registry,
    plugin: requests.plugin,
    wrapQueryPlanCache: planCacheSeries(prefix, registers),
    subgraphFetch: subgraphs.fetch,
    circuitState: subgraphs.circuit,
    subgraphRetry: subgraphs.retry,
    operationCost: cost,
    executorFallback: fallbackSeries(prefix, registers),
    watchSubscriptions(stats) {
      subscriptionStats = stats;
    },
    async render() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
    stop: stopDefaultMetrics,
  };
}

/** `requests_total`, `request_duration_seconds`, `requests_in_flight`, `operation_names_folded_total`, and the plugin that feeds them. */
function requestSeries(prefix: string, registers: Registers, options: MetricsOptions): { plugin: ApolloServerPlugin<BaseContext> } {
  const requests = new Counter({
    name: `${prefix}requests_total`,
    help: 'GraphQL requests by operation name and outcome (success | partial | error | invalid)',
    labelNames: ['operation', 'outcome'] as const,
    registers,
  });
  const requestDuration = new Histogram({
    name: `${prefix}request_duration_seconds`,
    help: 'Time from the start of GraphQL processing to the response, by operation name',
    labelNames: ['operation'] as const,
    buckets: DURATION_BUCKETS,
    registers,
  });
  const folded = new Counter({
    name: `${prefix}operation_names_folded_total`,
    help: 'Requests of valid operations counted as operation="other" because the budget of distinct operation names was spent',
    registers,
  });
  const inFlight = new Gauge({ name: `${prefix}requests_in_flight`, help: 'GraphQL requests being processed', registers });
  const operationLabel = operationLabels(options.maxOperationNames ?? 100, options.maxOperationNameLength ?? 64, () => folded.inc());

  // Keyed by the request context, which Apollo Server passes unchanged to every hook, including
  // the server-level unexpectedErrorProcessingRequest.
  const states = new WeakMap<GraphQLRequestContext<BaseContext>, RequestState>();
  function finish(ctx: GraphQLRequestContext<BaseContext>, outcome: RequestOutcome): void {
    const state = states.get(ctx);
    if (!state || state.finished) return;
    state.finished = true;
    const operation = operationLabel(ctx, state.admitted);
    requests.inc({ operation, outcome });
    requestDuration.observe({ operation }, (performance.now() - state.startedAt) / 1000);
    inFlight.dec();
  }

  const plugin: ApolloServerPlugin<BaseContext> = {
    async requestDidStart(ctx) {
      const state: RequestState = { startedAt: performance.now(), admitted: false, executionStarted: false, finished: false };
      states.set(ctx, state);
      inFlight.inc();
      return {
        // Apollo Server asks for a plugin's answer only once every didResolveOperation hook passed.
        async responseForOperation() {
          state.admitted = true;
          return null;
        },
        async executionDidStart() {
          state.executionStarted = true;
        },
        async willSendResponse() {
          finish(ctx, classify(ctx, state.executionStarted));
        },
      };
    },
    async unexpectedErrorProcessingRequest({ requestContext }) {
      finish(requestContext, 'error');
    },
    // Rejected before the GraphQL pipeline starts (no requestDidStart): counted, not timed.
    async invalidRequestWasReceived() {
      requests.inc({ operation: OTHER_OPERATION, outcome: 'invalid' });
    },
    async contextCreationDidFail() {
      requests.inc({ operation: OTHER_OPERATION, outcome: 'error' });
    },
  };
  return { plugin };
}

/** `subgraph_fetch_duration_seconds`, `subgraph_fetch_errors_total`, `subgraph_circuit_state`, `subgraph_retries_total`. */
function subgraphSeries(prefix: string, registers: Registers): { fetch: GatewayMetrics['subgraphFetch']; circuit: GatewayMetrics['circuitState']; retry: GatewayMetrics['subgraphRetry'] } {
  const fetchDuration = new Histogram({
    name: `${prefix}subgraph_fetch_duration_seconds`,
    help: 'Duration of gateway requests to a subgraph, by subgraph and outcome (ok | error | timeout | circuit_open | cancelled)',
    labelNames: ['subgraph', 'outcome'] as const,
    buckets: DURATION_BUCKETS,
    registers,
  });
  const fetchErrors = new Counter({
    name: `${prefix}subgraph_fetch_errors_total`,
    help: 'Failed gateway requests to a subgraph, by subgraph and outcome (error | timeout | circuit_open)',
    labelNames: ['subgraph', 'outcome'] as const,
    registers,
  });
  const circuit = new Gauge({
    name: `${prefix}subgraph_circuit_state`,
    help: 'Circuit breaker state of a subgraph: 0 closed, 1 half_open, 2 open',
    labelNames: ['subgraph'] as const,
    registers,
  });
  const retries = new Counter({
    name: `${prefix}subgraph_retries_total`,
    help: 'Queries sent again to another instance of a subgraph after the connection to the first failed',
    labelNames: ['subgraph'] as const,
    registers,
  });
  const seenSubgraphs = new Set<string>();
  function ensureSubgraph(subgraph: string): void {
    if (seenSubgraphs.has(subgraph)) return;
    seenSubgraphs.add(subgraph);
    // Zero series from the first sighting, so rate() and alerts see an increase from 0.
    for (const outcome of FETCH_ERROR_OUTCOMES) fetchErrors.inc({ subgraph, outcome }, 0);
    retries.inc({ subgraph }, 0);
  }
  return {
    fetch(subgraph, seconds, outcome) {
      ensureSubgraph(subgraph);
      fetchDuration.observe({ subgraph, outcome }, Math.max(0, seconds));
      // A fetch its own request's budget stopped says nothing of the subgraph: not an error.
      if (outcome !== 'ok' && outcome !== 'cancelled') fetchErrors.inc({ subgraph, outcome });
    },
    circuit(subgraph, state) {
      ensureSubgraph(subgraph);
      circuit.set({ subgraph }, CIRCUIT_STATE_VALUE[state]);
    },
    retry(subgraph) {
      ensureSubgraph(subgraph);
      retries.inc({ subgraph });
    },
  };
}

/** `query_plan_cache_lookups_total`, fed by the wrapper of the gateway's query-plan cache. */
function planCacheSeries(prefix: string, registers: Registers): GatewayMetrics['wrapQueryPlanCache'] {
  const planCacheLookups = new Counter({
    name: `${prefix}query_plan_cache_lookups_total`,
    help: 'Query-plan cache lookups by result (hit | miss)',
    labelNames: ['result'] as const,
    registers,
  });
  planCacheLookups.inc({ result: 'hit' }, 0);
  planCacheLookups.inc({ result: 'miss' }, 0);
  return (cache) => ({
    async get(key) {
      const plan = await cache.get(key);
      planCacheLookups.inc({ result: plan === undefined ? 'miss' : 'hit' });
      return plan;
    },
    set: (key, value, opts) => cache.set(key, value, opts),
    delete: (key) => cache.delete(key),
    clear: () => cache.clear(),
  });
}

/** `executor_fallbacks_total`, every reason present from the start. */
function fallbackSeries(prefix: string, registers: Registers): GatewayMetrics['executorFallback'] {
  const fallbacks = new Counter({
    name: `${prefix}executor_fallbacks_total`,
    help: 'Requests whose query plan the lean executor left to stock @apollo/gateway, by reason (unsupported | shadowed_names | usage_traces | compile_error)',
    labelNames: ['reason'] as const,
    registers,
  });
  for (const reason of FALLBACK_REASONS) fallbacks.inc({ reason }, 0);
  return (reason) => fallbacks.inc({ reason });
}

/** `operation_cost_estimated` and `operation_cost_actual` by role (as Apollo Router's `cost.estimated` and `cost.actual`). */
function costSeries(prefix: string, registers: Registers): GatewayMetrics['operationCost'] {
  const histogram = (kind: 'estimated' | 'actual', help: string) =>
    new Histogram({ name: `${prefix}operation_cost_${kind}`, help, labelNames: ['role'] as const, buckets: COST_BUCKETS, registers });
  const estimated = histogram('estimated', 'Estimated cost of operations (@cost and @listSize of the supergraph, before execution), by role');
  const actual = histogram('actual', 'Actual cost of executed operations (the same weights over the lists really returned), by role');
  return (role, estimate, measured) => {
    estimated.observe({ role }, estimate);
    if (measured !== undefined) actual.observe({ role }, measured);
  };
}

/** Subscription gauges, read from the subscription server at each scrape. */
function subscriptionGauges(prefix: string, registers: Registers, stats: () => SubscriptionStats | undefined): void {
  new Gauge({
    name: `${prefix}subscription_connections`,
    help: 'Client connections carrying subscriptions, by transport',
    labelNames: ['transport'],
    registers,
    collect() {
      const s = stats();
      this.set({ transport: 'websocket' }, s?.websockets ?? 0);
      this.set({ transport: 'sse' }, s?.eventStreams ?? 0);
    },
  });
  new Gauge({
    name: `${prefix}subscriptions_active`,
    help: 'Subscriptions being served',
    registers,
    collect() {
      this.set(stats()?.subscriptions ?? 0);
    },
  });
  new Gauge({
    name: `${prefix}subscription_subgraph_connections`,
    help: 'WebSocket connections from the gateway to subgraphs (one per subgraph and caller)',
    registers,
    collect() {
      this.set(stats()?.subgraphConnections ?? 0);
    },
  });
}

/**
 * The `operation` label of a request: its operation's name if the operation passed every check
 * (`admitted`), cut to `maxLength`, while fewer than `maxNames` names have a label; `other`
 * otherwise (`onFolded` told when a valid name finds the budget spent).
 */
function operationLabels(maxNames: number, maxLength: number, onFolded: () => void): (ctx: GraphQLRequestContext<BaseContext>, admitted: boolean) => string {
  const known = new Set<string>();
  return (ctx, admitted) => {
    if (!ctx.operation || !admitted) return OTHER_OPERATION;
    const name = (ctx.operationName ?? ANONYMOUS_OPERATION).slice(0, maxLength);
    if (known.has(name)) return name;
    if (known.size >= maxNames) {
      onFolded();
      return OTHER_OPERATION;
    }
    known.add(name);
    return name;
  };
}

function classify(ctx: GraphQLRequestContext<BaseContext>, executionStarted: boolean): RequestOutcome {
  const body = ctx.response.body;
  const result = body?.kind === 'incremental' ? body.initialResult : body?.singleResult;
  if (!result?.errors?.length) return 'success';
  if (result.data !== null && result.data !== undefined) return 'partial';
  if (!executionStarted) return 'invalid';
  const status = ctx.response.http.status;
  return status !== undefined && status >= 400 && status < 500 ? 'invalid' : 'error';
}

/**
 * prom-client's collectDefaultMetrics keeps an event-loop delay monitor (a 10 ms libuv timer) and
 * a GC PerformanceObserver running for the life of the process, with no way to stop them. To stop
 * them with the gateway, capture the two objects as prom-client creates them: it looks both up on
 * the shared `perf_hooks` module object during this synchronous call, so they are wrapped for
 * exactly its duration and restored before any other code runs.
 */
function collectStoppableDefaultMetrics(registry: Registry): () => void {
  const { monitorEventLoopDelay, PerformanceObserver } = perfHooks;
  const monitors: IntervalHistogram[] = [];
  const observers: InstanceType<typeof PerformanceObserver>[] = [];
  const hooks = perfHooks as { -readonly [K in keyof typeof perfHooks]: (typeof perfHooks)[K] };
  hooks.monitorEventLoopDelay = (opts) => {
    const monitor = monitorEventLoopDelay(opts);
    monitors.push(monitor);
    return monitor;
  };
  hooks.PerformanceObserver = class extends PerformanceObserver {
    constructor(callback: ConstructorParameters<typeof PerformanceObserver>[0]) {
      super(callback);
      observers.push(this);
    }
  };
  try {
    collectDefaultMetrics({ register: registry });
  } finally {
    hooks.monitorEventLoopDelay = monitorEventLoopDelay;
    hooks.PerformanceObserver = PerformanceObserver;
  }
  return () => {
    for (const monitor of monitors.splice(0)) monitor.disable();
    for (const observer of observers.splice(0)) observer.disconnect();
  };
}
