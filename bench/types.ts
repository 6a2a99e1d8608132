/** Types shared by the benchmark's modules: the result file's shape and the subgraph host's messages. */

export type WorkloadName = 'ali' | 'gateway-bound';
export type GatewayName = 'ours' | 'ours-dedupe' | 'apollo-gateway' | 'hive-gateway' | 'ours-cache';

/** Fetches one subgraph answered since the last reset. */
export interface SubgraphFetches {
  requests: number;
  entityRequests: number;
  memoHits: number;
  /** Requests being answered at the time of the reading (not reset). */
  inFlight: number;
}

/** Parent → subgraph host. */
export type HostMessage = { type: 'reset' } | { type: 'counters' } | { type: 'stop' };

/** Subgraph host → parent, once the subgraphs listen and the supergraph file is written. */
export interface HostReady {
  type: 'ready';
  urls: Record<string, string>;
  supergraphFile: string;
  database: string;
  seeded: string[];
  /** The database server's process when the host started one (embedded FerretDB), for its CPU time. */
  databasePid: number | null;
  /** `ali` only: a second set of the same subgraphs that accepts writes (signed), for the cached gateway. */
  writable: WritableSubgraphs | null;
}

/**
 * The same four subgraphs over the same databases, started with a gateway signing secret so that
 * an editor's mutations through our gateway reach them (the open set is read-only: stock gateways
 * cannot sign), and an editor key in the gateway's key store.
 */
export interface WritableSubgraphs {
  urls: Record<string, string>;
  gatewaySecret: string;
  mongoUri: string;
  /** MONGODB_DB_PREFIX: the key store is `<prefix>_gateway`. */
  dbPrefix: string;
  /** An editor key for the reuse subgraph (x-api-key). */
  editorKey: string;
}

/** Subgraph host → parent: the counters since the last reset (`commands` only for `ali`). */
export interface HostCounters {
  type: 'counters';
  fetches: Record<string, SubgraphFetches>;
  commands: Record<string, number> | null;
}

export interface Machine {
  cpuModel: string;
  cores: number;
  memoryGb: number;
  node: string;
  os: string;
  /** How processes were pinned to cores, or why they were not. */
  pinning: string;
}

/** One gateway × workload × operation: medians over the rounds. */
export interface Run {
  workload: WorkloadName;
  operation: string;
  gateway: GatewayName;
  rps: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  /** Gateway process CPU time (user + system, all threads) per completed request. */
  cpuMsPerRequest: number;
  /** Peak resident set of the gateway process (VmHWM), median over the rounds. */
  peakRssMb: number;
  /** Transport errors, timeouts, non-200 answers and answers with GraphQL errors, over all rounds. */
  errors: number;
  /** Every response of every round (warm-up included) equal to the expected answer, and no error. */
  correct: boolean;
  // ---- added fields ----
  /**
   * rps / stock @apollo/gateway's rps on the same operation in the same run: the median over the
   * rounds of each round's ratio; null when either cell failed.
   */
  rpsVsApollo: number | null;
  /** cpuMsPerRequest / stock @apollo/gateway's, the same way. */
  cpuVsApollo: number | null;
  /** p99Ms / stock @apollo/gateway's, the same way. */
  p99VsApollo: number | null;
  /** peakRssMb / stock @apollo/gateway's, the same way. */
  rssVsApollo: number | null;
  /** Gateway CPU time / wall time in the measured windows (1 = one core busy). */
  gatewayCpuShare: number;
  /** Busy share of the load generator's cores (autocannon, subgraphs, database) in the windows, when pinned. */
  loadCoresBusy: number | null;
  /**
   * Share of the gateway's core used by other processes during the windows (its busy share minus
   * the gateway's own): above a few percent, something else on the machine disturbed the run.
   */
  otherLoadOnGatewayCore: number | null;
  /** gateway-bound only: share of the subgraph fetches the in-memory subgraphs answered from their memo. */
  subgraphMemoHitRate: number | null;
  /** CPU time per request of the subgraphs' process, and of the database server's (null: not ours to measure, e.g. MONGODB_URI). */
  subgraphsCpuMsPerRequest: number;
  databaseCpuMsPerRequest: number | null;
  /** Subgraph requests per operation in the measured windows (every request counted by the subgraphs). */
  subgraphFetchesPerOperation: number;
  /** `ali` only: MongoDB commands per operation in the measured windows, and by subgraph.command:collection. */
  mongoCommandsPerOperation: number | null;
  mongoCommandsByKind: Record<string, number> | null;
  /** Responses compared with the expected answer (warm-up included), and those that differed. */
  responsesChecked: number;
  wrongAnswers: number;
  /** First problem seen, for a failed cell. */
  failure: string | null;
  rounds: RoundSample[];
}

/** One measured window of one gateway process. */
export interface RoundSample {
  round: number;
  rps: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  cpuMsPerRequest: number;
  gatewayCpuShare: number;
  /** Busy share of the gateway's core and of the other cores (all processes), when pinned. */
  gatewayCoreBusy: number | null;
  loadCoresBusy: number | null;
  /** gateway-bound only: share of subgraph fetches answered from the subgraphs' memo. */
  subgraphMemoHitRate: number | null;
  subgraphsCpuMsPerRequest: number;
  databaseCpuMsPerRequest: number | null;
  peakRssMb: number;
  /** Requests in the measured window (all answered before it closed). */
  requests: number;
  elapsedMs: number;
  errors: number;
  warmupErrors: number;
  responsesChecked: number;
  wrongAnswers: number;
  subgraphFetchesPerOperation: number;
  mongoCommandsPerOperation: number | null;
  mongoCommandsByKind: Record<string, number> | null;
  failure: string | null;
}

export interface OperationInfo {
  workload: WorkloadName;
  operation: string;
  file: string;
  variables: Record<string, unknown>;
  /** SHA-256 of the expected answer in normal form (bench/load.ts `normalForm`, field order kept), and its size as stock serialises it. */
  expectedSha256: string;
  responseBytes: number;
  /** Fetch nodes in @apollo/query-planner's plan for the operation. */
  planFetches: number;
  /** Why this operation was chosen, when there was a choice (the analytics fallback). */
  note?: string;
}

/** One window of the cached gateway: reads with a write every `writeEvery` reads. */
export interface CacheRoundSample {
  round: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  cpuMsPerRequest: number;
  gatewayCpuShare: number;
  reads: number;
  writes: number;
  elapsedMs: number;
  /** Response-cache lookups that hit / all response-cache lookups, from the gateway's /metrics. */
  responseHitRatio: number;
  /** Fetch-cache lookups that hit / all fetch-cache lookups (misses of the response cache only). */
  fetchHitRatio: number;
  /** Lookups that found an entry filled before a write acknowledged since, and rejected it. */
  staleRejections: number;
  /** Reads begun after a write was acknowledged that answered with the data from before it. */
  staleAnswers: number;
  /**
   * Reads judged for staleness: begun after a write was acknowledged and ended before the next
   * write was sent (a read that overlaps a write may rightly show either side of it).
   */
  staleChecked: number;
  /** Reads whose answer was neither the data before nor after any write, or had errors. */
  wrongAnswers: number;
  errors: number;
  subgraphFetchesPerOperation: number;
  mongoCommandsPerOperation: number | null;
  databaseCpuMsPerRequest: number | null;
  failure: string | null;
}

/**
 * The cached gateway on one operation: medians over the rounds, in rows of their own (never in the
 * gateway-vs-gateway tables: no other gateway here caches).
 */
export interface CacheRun {
  workload: WorkloadName;
  operation: string;
  gateway: 'ours-cache';
  /** One write (a real mutation through the gateway) once this many reads have completed since the previous one was acknowledged. */
  writeEvery: number;
  /** What the writes change, and whether it shows in this operation's answer (the stale check then sees it). */
  write: string;
  writeVisible: boolean;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  cpuMsPerRequest: number;
  responseHitRatio: number;
  fetchHitRatio: number;
  staleRejections: number;
  staleAnswers: number;
  /** Reads judged for staleness (CacheRoundSample.staleChecked), over all rounds. */
  staleChecked: number;
  wrongAnswers: number;
  errors: number;
  reads: number;
  writes: number;
  /** rps / stock @apollo/gateway's uncached rps on the same operation, paired by round (stock's clean rounds only), median. */
  rpsVsStockUncached: number | null;
  subgraphFetchesPerOperation: number;
  mongoCommandsPerOperation: number | null;
  correct: boolean;
  failure: string | null;
  rounds: CacheRoundSample[];
}

export interface Results {
  machine: Machine;
  settings: {
    command: string;
    quick: boolean;
    rounds: number;
    durationSec: number;
    warmupSec: number;
    warmupConnections: number;
    connections: number;
    /** The cached gateway's rows: one write after every this many reads. */
    writeEvery: number;
    startedAt: string;
    finishedAt: string;
    /** 1, 5 and 15 minute load averages when the run started (other work on the machine). */
    loadAverageAtStart: number[];
    /** What each gateway measured in this run is. */
    gateways: Partial<Record<GatewayName, string>>;
  };
  operations: OperationInfo[];
  runs: Run[];
  /** The @defer rows (bench/defer.ts), apart from `runs`: latencies of one request at a time, not throughput. */
  defer: DeferRun[];
  /** The cached gateway (`ali` only), apart from `runs`. */
  cacheRuns: CacheRun[];
  /** Problems that stopped a gateway or workload from being measured at all. */
  failures: string[];
}

/**
 * A @defer row's request: ours with the operation's `@defer` (multipart, deferSpec=20220824), or
 * the same operation without it on ours or on stock (one JSON answer).
 */
export type DeferVariant = 'ours-defer' | 'ours' | 'apollo-gateway';

/** One measured window of one @defer variant: requests sent one after another. */
export interface DeferSample {
  round: number;
  requests: number;
  /** From sending the request to the first payload parsed (a JSON answer: the whole body). */
  firstPayloadP50Ms: number;
  firstPayloadP95Ms: number;
  /** From sending the request to the end of the answer. */
  lastPayloadP50Ms: number;
  lastPayloadP95Ms: number;
  payloadsPerResponse: number;
  /** The machine's 1-minute load average when the window closed (other work on the machine). */
  loadAverage1m: number;
  errors: number;
  warmupErrors: number;
  responsesChecked: number;
  wrongAnswers: number;
  failure: string | null;
}

/** One @defer variant × workload × operation: medians over the rounds. */
export interface DeferRun {
  workload: WorkloadName;
  operation: string;
  /** The operation with @defer (ours-defer sends it; the others send it with every @defer removed). */
  file: string;
  variables: Record<string, unknown>;
  variant: DeferVariant;
  gateway: GatewayName;
  firstPayloadP50Ms: number;
  firstPayloadP95Ms: number;
  lastPayloadP50Ms: number;
  lastPayloadP95Ms: number;
  payloadsPerResponse: number;
  /**
   * Median over the rounds of each round's ratio of this variant's p50 (time to first payload,
   * time to last payload) to the whole answer without @defer (its p50) on ours and on stock; null
   * when either cell failed.
   */
  firstVsOursWhole: number | null;
  lastVsOursWhole: number | null;
  firstVsStockWhole: number | null;
  lastVsStockWhole: number | null;
  errors: number;
  /** Every answer (warm-up included) adds up to stock's answer without @defer, and ours-defer's came in parts. */
  correct: boolean;
  responsesChecked: number;
  failure: string | null;
  rounds: DeferSample[];
}
