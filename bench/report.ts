/**
 * From the per-round samples to the results: medians over the rounds per gateway × workload ×
 * operation, ratios against stock @apollo/gateway from the same run, latest.json and latest.md.
 */
import os from 'node:os';
import type { CacheRoundSample, CacheRun, GatewayName, Machine, OperationInfo, Results, RoundSample, Run, WorkloadName } from './types.ts';

export function median(values: readonly number[]): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

const round = (x: number, digits = 2): number => (Number.isFinite(x) ? Number(x.toFixed(digits)) : 0);

/** A sample with its measurements rounded for reading (3 decimals). */
function roundSample(s: RoundSample): RoundSample {
  const out = { ...s } as Record<string, unknown>;
  for (const [k, v] of Object.entries(out)) if (typeof v === 'number' && !Number.isInteger(v)) out[k] = round(v, 3);
  return out as unknown as RoundSample;
}

export interface Cell {
  readonly workload: WorkloadName;
  readonly operation: string;
  readonly gateway: GatewayName;
  readonly samples: RoundSample[];
}

/** One run per cell: medians of the rounds that produced a measurement; errors summed; correct only if every round was. */
export function summarise(cells: readonly Cell[]): Run[] {
  const runs: Run[] = cells.map((cell) => {
    const s = cell.samples;
    const measured = s.filter((x) => x.requests > 0);
    const errors = s.reduce((n, x) => n + x.errors + x.warmupErrors, 0);
    const wrong = s.reduce((n, x) => n + x.wrongAnswers, 0);
    const failure = s.find((x) => x.failure)?.failure ?? null;
    const correct = s.length > 0 && measured.length === s.length && errors === 0 && wrong === 0 && failure === null;
    const mongo = measured.map((x) => x.mongoCommandsPerOperation).filter((x): x is number => x !== null);
    const last = measured.at(-1);
    return {
      workload: cell.workload,
      operation: cell.operation,
      gateway: cell.gateway,
      rps: round(median(measured.map((x) => x.rps)), 1),
      p50Ms: round(median(measured.map((x) => x.p50Ms))),
      p95Ms: round(median(measured.map((x) => x.p95Ms))),
      p99Ms: round(median(measured.map((x) => x.p99Ms))),
      cpuMsPerRequest: round(median(measured.map((x) => x.cpuMsPerRequest)), 3),
      peakRssMb: round(median(measured.map((x) => x.peakRssMb)), 1),
      errors,
      correct,
      rpsVsApollo: null,
      cpuVsApollo: null,
      p99VsApollo: null,
      rssVsApollo: null,
      gatewayCpuShare: round(median(measured.map((x) => x.gatewayCpuShare)), 2),
      loadCoresBusy: measured.some((x) => x.loadCoresBusy !== null) ? round(median(measured.map((x) => x.loadCoresBusy ?? NaN)), 2) : null,
      otherLoadOnGatewayCore: measured.some((x) => x.gatewayCoreBusy !== null)
        ? round(Math.max(0, median(measured.map((x) => (x.gatewayCoreBusy ?? NaN) - x.gatewayCpuShare))), 2)
        : null,
      subgraphFetchesPerOperation: round(median(measured.map((x) => x.subgraphFetchesPerOperation))),
      subgraphsCpuMsPerRequest: round(median(measured.map((x) => x.subgraphsCpuMsPerRequest)), 3),
      databaseCpuMsPerRequest: measured.some((x) => x.databaseCpuMsPerRequest !== null)
        ? round(median(measured.map((x) => x.databaseCpuMsPerRequest ?? NaN)), 3)
        : null,
      subgraphMemoHitRate: measured.some((x) => x.subgraphMemoHitRate !== null)
        ? round(median(measured.map((x) => x.subgraphMemoHitRate ?? NaN)), 3)
        : null,
      mongoCommandsPerOperation: mongo.length ? round(median(mongo)) : null,
      mongoCommandsByKind: last?.mongoCommandsByKind ?? null,
      responsesChecked: s.reduce((n, x) => n + x.responsesChecked, 0),
      wrongAnswers: wrong,
      failure,
      rounds: s.map(roundSample),
    };
  });
  // Paired by round: gateways are measured one after another within a round, so a drift of the
  // machine over the run (seen here between rounds) cancels out in each round's ratio.
  for (const run of runs) {
    const stock = runs.find((r) => r.workload === run.workload && r.operation === run.operation && r.gateway === 'apollo-gateway');
    if (!stock || !stock.correct || !run.correct) continue;
    const pairs = run.rounds.flatMap((x) => {
      const y = stock.rounds.find((z) => z.round === x.round);
      if (!y || x.requests === 0 || y.requests === 0) return [];
      return [{ rps: x.rps / y.rps, cpu: x.cpuMsPerRequest / y.cpuMsPerRequest, p99: x.p99Ms / y.p99Ms, rss: x.peakRssMb / y.peakRssMb }];
    });
    if (pairs.length === 0) continue;
    run.rpsVsApollo = round(median(pairs.map((p) => p.rps)), 2);
    run.cpuVsApollo = round(median(pairs.map((p) => p.cpu)), 2);
    run.p99VsApollo = round(median(pairs.map((p) => p.p99)), 2);
    run.rssVsApollo = round(median(pairs.map((p) => p.rss)), 2);
  }
  return runs;
}

/** The cached gateway on one operation, its samples by round. */
export interface CacheCell {
  readonly workload: WorkloadName;
  readonly operation: string;
  readonly write: string;
  readonly writeVisible: boolean;
  readonly writeEvery: number;
  readonly samples: CacheRoundSample[];
}

/**
 * The cached gateway's rows: medians over the rounds, and its req/s against stock's uncached
 * req/s on the same operation, paired by round as the other ratios are. Correct only when every
 * round measured, with no error, no wrong answer and no stale answer.
 */
export function summariseCache(cells: readonly CacheCell[], runs: readonly Run[]): CacheRun[] {
  return cells.map((cell) => {
    const s = cell.samples;
    const measured = s.filter((x) => x.reads > 0);
    const sum = (f: (x: CacheRoundSample) => number) => s.reduce((n, x) => n + f(x), 0);
    const med = (f: (x: CacheRoundSample) => number, digits = 2) => round(median(measured.map(f)), digits);
    const failure = s.find((x) => x.failure)?.failure ?? null;
    const staleAnswers = sum((x) => x.staleAnswers);
    const wrongAnswers = sum((x) => x.wrongAnswers);
    const errors = sum((x) => x.errors);
    const correct = s.length > 0 && measured.length === s.length && failure === null && staleAnswers === 0 && wrongAnswers === 0 && errors === 0;
    // Paired with stock's rounds that were clean themselves (stock's fetcher sometimes loses a
    // request to a socket hang-up under 50 clients: that round is left out, not the whole cell).
    const stock = runs.find((r) => r.workload === cell.workload && r.operation === cell.operation && r.gateway === 'apollo-gateway');
    const pairs = measured.flatMap((x) => {
      const y = stock?.rounds.find((z) => z.round === x.round && z.requests > 0 && z.failure === null && z.errors === 0 && z.wrongAnswers === 0);
      return y ? [x.rps / y.rps] : [];
    });
    const mongo = measured.map((x) => x.mongoCommandsPerOperation).filter((x): x is number => x !== null);
    return {
      workload: cell.workload,
      operation: cell.operation,
      gateway: 'ours-cache',
      writeEvery: cell.writeEvery,
      write: cell.write,
      writeVisible: cell.writeVisible,
      rps: med((x) => x.rps, 1),
      p50Ms: med((x) => x.p50Ms),
      p99Ms: med((x) => x.p99Ms),
      cpuMsPerRequest: med((x) => x.cpuMsPerRequest, 3),
      responseHitRatio: med((x) => x.responseHitRatio, 3),
      fetchHitRatio: med((x) => x.fetchHitRatio, 3),
      staleRejections: sum((x) => x.staleRejections),
      staleAnswers,
      staleChecked: sum((x) => x.staleChecked),
      wrongAnswers,
      errors,
      reads: sum((x) => x.reads),
      writes: sum((x) => x.writes),
      rpsVsStockUncached: pairs.length ? round(median(pairs), 1) : null,
      subgraphFetchesPerOperation: med((x) => x.subgraphFetchesPerOperation, 3),
      mongoCommandsPerOperation: mongo.length ? round(median(mongo), 3) : null,
      correct,
      failure,
      rounds: s.map((x) => roundSample(x as unknown as RoundSample) as unknown as CacheRoundSample),
    };
  });
}

export function describeMachine(pinning: string): Machine {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGb: round(os.totalmem() / 1024 ** 3, 1),
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    pinning,
  };
}

const WORKLOAD_NOTES: Record<WorkloadName, string> = {
  ali:
    'Our four subgraphs (schema/, subgraphs/) in one process over fresh databases seeded as `npm run seed` does, on the database ' +
    'server lib/dbServer.ts picks (an embedded FerretDB unless MONGODB_URI is set), all on the load core. When "load cores busy" ' +
    'is near 1.00, the subgraphs and the database (their CPU ms/req beside the gateway\'s) limit req/s for every gateway alike: ' +
    'compare the gateways\' CPU ms/request. ' +
    'MongoDB commands are counted with the driver\'s command monitoring over the measured windows.',
  'gateway-bound':
    'Four in-memory subgraphs (bench/subgraphs/: accounts, products, inventory, reviews with a search over a union of three entities; 10 users, 10 products, 30 reviews) ' +
    'served by a bare node:http handler over graphql-js; each memoises its serialised answer per request body, so a fetch costs ' +
    'the subgraph a lookup and the gateway is the bottleneck. Every fetch still goes over HTTP and is counted. ' +
    '`ours-dedupe` is ours with its production default of sharing identical subgraph requests in flight between clients; ' +
    '`ours` sends every one of them.',
};

const fmt = (x: number | null, digits = 1): string => (x === null || !Number.isFinite(x) ? '–' : x.toFixed(digits));
const ratio = (x: number | null): string => (x === null ? '–' : `${x.toFixed(2)}×`);

/** The run's heading: when, the machine, the method, how to reproduce, the gateways. */
function renderHeader(results: Results): string[] {
  const { machine, settings } = results;
  const lines: string[] = [];
  lines.push(`# Gateway benchmark`);
  lines.push('');
  lines.push(
    `${settings.quick ? '**Quick smoke run: too short for the numbers to mean anything.** ' : ''}` +
      `Run ${settings.startedAt} – ${settings.finishedAt}.`,
  );
  lines.push('');
  lines.push(`- **Machine:** ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGb} GB memory, Node ${machine.node}, ${machine.os}`);
  lines.push(`- **Pinning:** ${machine.pinning}`);
  lines.push(
    `- **Method:** per workload, the subgraphs start in their own process, then the gateways one after another, ` +
      `each one process (no cluster workers) on the same supergraph file, kept for the whole workload; only the one under test ` +
      `receives traffic. ${settings.rounds} round(s) going through the gateways in the order of the tables. Each gateway × operation ` +
      `is warmed up in the first round (${settings.warmupSec} s at ${settings.warmupConnections} connections, then drained), then measured in every round over a window of a fixed ` +
      `number of requests sized to last about ${settings.durationSec} s (at least one per connection), ${settings.connections} concurrent ` +
      `connections (autocannon, in the bench process); the window opens and closes with the gateway idle. Medians over the rounds. ` +
      `CPU ms/request is the gateway process's own CPU time (utime + stime of all its threads, /proc/<pid>/stat) over the window ` +
      `divided by its requests; "gateway CPU" is that CPU time over the wall time (1.00 = one core busy: the gateway is the bottleneck); ` +
      `"load cores busy" is how busy the other core(s) were (load generator, subgraphs, database: near 1.00 means they, not the gateway, ` +
      `limit req/s, and CPU ms/request is the number to compare). "Subgraphs CPU" and "database CPU" are the same ` +
      `measure for the subgraphs' process and for the database server the benchmark started (– when it did not start one, ` +
      `as with MONGODB_URI). Peak RSS is the process's VmHWM. ` +
      `"vs stock" columns are the median over the rounds of each round's ratio to stock @apollo/gateway (paired by round, ` +
      `so that a drift of the machine during the run cancels out); shown only when both cells are correct.`,
  );
  lines.push(
    `- **Correctness:** every response (warm-up included) is compared with stock @apollo/gateway's answer after ` +
      `the differential suite's comparison (test/integration/differential/compare.ts): the HTTP status and the body ` +
      `parsed and written back as JSON, field order at every level, errors and extensions kept (only whitespace, escapes, ` +
      `the order of errors and stack traces are normalised); any error or different answer makes the cell fail ("correct" no), never fast.`,
  );
  lines.push(`- **Reproduce:** \`${settings.command}\` (load average at start: ${settings.loadAverageAtStart.join(', ')})`);
  lines.push('');
  lines.push('Gateways:');
  lines.push('');
  for (const [name, what] of Object.entries(settings.gateways)) lines.push(`- \`${name}\`: ${what}`);
  lines.push('');
  return lines;
}

const failureText = (failure: string, max: number): string => failure.replace(/\|/g, '\\|').replace(/\s+/g, ' ').slice(0, max);

/** One operation's table: a row per gateway. */
function renderOperation(results: Results, op: OperationInfo): string[] {
  const { settings } = results;
  const runs = results.runs.filter((r) => r.workload === op.workload && r.operation === op.operation);
  const lines: string[] = [];
  lines.push(`### ${op.workload} — ${op.operation}`);
  lines.push('');
  lines.push(
    `\`${op.file}\`${Object.keys(op.variables).length ? ` with \`${JSON.stringify(op.variables)}\`` : ''}: ` +
      `${op.planFetches} fetches in Apollo's query plan, ${(op.responseBytes / 1024).toFixed(1)} KiB answer, ` +
      `${fmt(median(runs.flatMap((r) => r.rounds.map((x) => x.requests)).filter((n) => n > 0)), 0)} requests per measured window` +
      `${runs.some((r) => r.rounds.some((x) => x.requests > 0 && x.requests <= settings.connections)) ? ' (one per connection: each window is a single burst of concurrent requests)' : ''}.` +
      (op.note ? ` ${op.note}.` : ''),
  );
  lines.push('');
  const ali = op.workload === 'ali';
  lines.push(
    `| gateway | req/s | req/s vs stock | p50 ms | p95 ms | p99 ms | p99 vs stock | CPU ms/req | CPU vs stock | gateway CPU | load cores busy | peak RSS MB | RSS vs stock | subgraph fetches/op | subgraphs CPU ms/req |${ali ? ' MongoDB cmds/op | database CPU ms/req |' : ''} errors | correct |`,
  );
  lines.push(`|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|${ali ? '---:|---:|' : ''}---:|---|`);
  for (const r of runs) {
    if (!r.rounds.some((x) => x.requests > 0)) {
      lines.push(`| ${r.gateway} |${' – |'.repeat(ali ? 16 : 14)} ${r.errors} | **no**: ${failureText(r.failure ?? 'not measured', 300)} |`);
      continue;
    }
    lines.push(
      `| ${r.gateway} | ${fmt(r.rps)} | ${ratio(r.rpsVsApollo)} | ${fmt(r.p50Ms)} | ${fmt(r.p95Ms)} | ${fmt(r.p99Ms)} | ${ratio(r.p99VsApollo)} | ` +
        `${fmt(r.cpuMsPerRequest, 2)} | ${ratio(r.cpuVsApollo)} | ${fmt(r.gatewayCpuShare, 2)} | ${fmt(r.loadCoresBusy, 2)} | ${fmt(r.peakRssMb, 0)} | ${ratio(r.rssVsApollo)} | ` +
        `${fmt(r.subgraphFetchesPerOperation)} | ${fmt(r.subgraphsCpuMsPerRequest, 2)} |` +
        `${ali ? ` ${fmt(r.mongoCommandsPerOperation)} | ${fmt(r.databaseCpuMsPerRequest, 2)} |` : ''} ${r.errors} | ` +
        `${r.correct ? 'yes' : `**no**${r.failure ? `: ${failureText(r.failure, 300)}` : ''}`} |`,
    );
  }
  const memo = runs.filter((r) => r.subgraphMemoHitRate !== null);
  if (memo.length) {
    lines.push('');
    lines.push(`Subgraph fetches answered from the memo: ${memo.map((r) => `${r.gateway} ${(100 * r.subgraphMemoHitRate!).toFixed(1)}%`).join(', ')}.`);
  }
  lines.push('');
  return lines;
}

/** Cells other processes disturbed, and what stopped cells from being measured at all. */
function renderFooter(results: Results): string[] {
  const lines: string[] = [];
  const disturbed = results.runs.filter((r) => (r.otherLoadOnGatewayCore ?? 0) > 0.05);
  if (disturbed.length) {
    lines.push(
      `**Disturbed:** other processes used more than 5% of the gateway's core during ${disturbed.length} cell(s) ` +
        `(up to ${Math.round(Math.max(...disturbed.map((r) => r.otherLoadOnGatewayCore ?? 0)) * 100)}%): ` +
        disturbed.map((r) => `${r.workload}/${r.operation}/${r.gateway}`).join(', ') +
        '. Those numbers are less reliable; rerun on a quiet machine.',
    );
    lines.push('');
  }
  if (results.failures.length) {
    lines.push('## Failures');
    lines.push('');
    for (const f of results.failures) lines.push(`- ${f.replace(/\s+/g, ' ').slice(0, 1000)}`);
    lines.push('');
  }
  return lines;
}

/** The cached gateway's rows, apart from the gateway-against-gateway tables. */
function renderCache(results: Results): string[] {
  if (results.cacheRuns.length === 0) return [];
  const lines: string[] = [];
  lines.push('## Cached: ours with `CACHE=memory`, a write every N reads');
  lines.push('');
  lines.push(
    `Not a gateway-against-gateway comparison (no other gateway here caches): \`ours-cache\` reads one operation over ` +
      `${results.settings.connections} connections and, once ${results.settings.writeEvery} reads have completed since the previous write was acknowledged, sends one real mutation through ` +
      `the same gateway with an editor key (${results.cacheRuns[0]!.write || 'see failures'}), so that every write invalidates the ` +
      `entries of the subgraph it wrote to during the window. Every answer is compared with stock @apollo/gateway's uncached answers ` +
      `for the data before and after a write; a read begun after a write's answer arrived (and ended before the next write was sent) that shows the data from before it is a ` +
      `**stale answer**. Hit ratios are the gateway's own \`ali_gateway_cache_lookups_total\` over the window (fetch: lookups of ` +
      `the requests the response cache missed). "vs stock uncached" is req/s over stock @apollo/gateway's req/s on the same ` +
      `operation in the same round (the tables above; rounds where stock itself had an error left out), median over the rounds.`,
  );
  lines.push('');
  lines.push('| operation | req/s | vs stock uncached | p50 ms | p99 ms | CPU ms/req | response hits | fetch hits | stale rejected | stale answers | reads checked for staleness | write shows in answer | reads | writes | subgraph fetches/op | MongoDB cmds/op | errors | correct |');
  lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---|');
  for (const r of results.cacheRuns) {
    if (!r.rounds.some((x) => x.reads > 0)) {
      lines.push(`| ${r.operation} |${' – |'.repeat(15)} ${r.errors} | **no**: ${failureText(r.failure ?? 'not measured', 300)} |`);
      continue;
    }
    const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
    lines.push(
      `| ${r.operation} | ${fmt(r.rps)} | ${r.rpsVsStockUncached === null ? '–' : `${r.rpsVsStockUncached.toFixed(1)}×`} | ${fmt(r.p50Ms)} | ${fmt(r.p99Ms)} | ${fmt(r.cpuMsPerRequest, 2)} | ` +
        `${pct(r.responseHitRatio)} | ${pct(r.fetchHitRatio)} | ${r.staleRejections} | ${r.staleAnswers} | ${r.staleChecked} | ${r.writeVisible ? 'yes' : 'no'} | ${r.reads} | ${r.writes} | ` +
        `${fmt(r.subgraphFetchesPerOperation, 2)} | ${fmt(r.mongoCommandsPerOperation, 2)} | ${r.errors} | ${r.correct ? 'yes' : `**no**${r.failure ? `: ${failureText(r.failure, 300)}` : ''}`} |`,
    );
  }
  lines.push('');
  return lines;
}

/** latest.md: the machine, how to reproduce, one table per workload × operation, then the cached rows. */
export function renderMarkdown(results: Results): string {
  const lines = renderHeader(results);
  for (const op of results.operations) {
    if (results.operations.find((o) => o.workload === op.workload) === op) {
      lines.push(`## Workload ${op.workload}`);
      lines.push('');
      lines.push(WORKLOAD_NOTES[op.workload]);
      lines.push('');
    }
    lines.push(...renderOperation(results, op));
  }
  lines.push(...renderCache(results));
  lines.push(...renderFooter(results));
  return lines.join('\n');
}
