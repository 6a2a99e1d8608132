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
 * | `<prefix>operations_executing`, `<prefix>operations_waiting` | gauge | – |
 * | `<prefix>operations_queued_total`, `<prefix>operations_let_in_early_total` | counter | – |
 * | `process_*`, `nodejs_*` (prom-client defaults, e.g. `nodejs_eventloop_lag_seconds`) | various | – |
 *
 * `<prefix>` is `ali_gateway_` unless {@link MetricsOptions.prefix} says otherwise. The `operation`
 * label is bounded, since callers choose operation names (gateway/metrics/requests.ts says how).
 */
import perfHooks, { type IntervalHistogram } from 'node:perf_hooks';
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import type { GatewayConfig } from '@apollo/gateway';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { FALLBACK_REASONS, type FallbackReason } from './executor/index.ts';
import { DURATION_BUCKETS, requestSeries } from './metrics/requests.ts';
import type { ExecutionSlotsState } from './pipeline/executions.ts';

/** How one gateway → subgraph fetch ended (same literals as gateway/transport/failures.ts). */
export type FetchOutcome = 'ok' | 'error' | 'timeout' | 'circuit_open' | 'cancelled';
/** State of a subgraph's circuit breaker (same literals as gateway/transport/circuitBreaker.ts). */
export type CircuitState = 'closed' | 'open' | 'half_open';

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
   * Apollo Server plugin: `requests_total` by operation and outcome (gateway/metrics/requests.ts),
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
  /** Operations executing and waiting for a slot (gateway/pipeline/executions.ts), read at each scrape. */
  watchExecutions(state: () => ExecutionSlotsState): void;
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

const CIRCUIT_STATE_VALUE: Readonly<Record<CircuitState, number>> = { closed: 0, half_open: 1, open: 2 };
const FETCH_ERROR_OUTCOMES: readonly Exclude<FetchOutcome, 'ok' | 'cancelled'>[] = ['error', 'timeout', 'circuit_open'];
/** Operation costs; around the default per-role maxCost values (20,000 to 500,000). */
const COST_BUCKETS = [10, 100, 1_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000, 500_000, 1_000_000];

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
  let executionState: (() => ExecutionSlotsState) | undefined;
  executionSeries(prefix, registers, () => executionState?.());
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
    watchExecutions(state) {
      executionState = state;
    },
    async render() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
    stop: stopDefaultMetrics,
  };
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

/** Operations executing and waiting (gauges), and how many waited or went in past the limit (counters), read at each scrape. */
function executionSeries(prefix: string, registers: Registers, state: () => ExecutionSlotsState | undefined): void {
  const gauge = (name: string, help: string, read: (s: ExecutionSlotsState) => number) =>
    new Gauge({
      name: `${prefix}${name}`,
      help,
      registers,
      collect() {
        const s = state();
        this.set(s ? read(s) : 0);
      },
    });
  gauge('operations_executing', 'Operations executing in this process (GATEWAY_CONCURRENT_OPERATIONS bounds them while the CPU is busy)', (s) => s.executing);
  gauge('operations_waiting', 'Operations waiting for one of the GATEWAY_CONCURRENT_OPERATIONS slots', (s) => s.waiting);
  const counter = (name: string, help: string, read: (s: ExecutionSlotsState) => number) => {
    let reported = 0;
    new Counter({
      name: `${prefix}${name}`,
      help,
      registers,
      collect() {
        const s = state();
        const value = s ? read(s) : 0;
        if (value > reported) this.inc(value - reported);
        reported = Math.max(reported, value);
      },
    });
  };
  counter('operations_queued_total', 'Operations that waited for a slot before executing', (s) => s.queued);
  counter('operations_let_in_early_total', 'Waiting operations let in past the limit: the event loop was idle, or they had waited 1 s', (s) => s.letInEarly);
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
