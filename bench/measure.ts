/**
 * One measured window of one operation on one running gateway: warm-up, a window of a fixed
 * number of requests that opens and closes with the gateway idle, and the sample it gives.
 */
import type { GatewayProcess } from './gateways.ts';
import { AnswerChecker, runLoad, type LoadResult } from './load.ts';
import type { BenchOptions } from './options.ts';
import type { Pinning } from './pinning.ts';
import { busyShare, coreTimes, cpuMs, peakRssMb } from './proc.ts';
import { memoHits, sumFetches, type SubgraphHost } from './subgraphHostClient.ts';
import type { GatewayName, HostCounters, RoundSample } from './types.ts';
import type { PreparedOperation } from './workloads.ts';

export type MeasureSettings = Pick<BenchOptions, 'connections' | 'durationSec' | 'warmupSec' | 'warmupConnections' | 'rounds' | 'deferOnly'> & {
  readonly pinning: Pinning;
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Waits until the gateway uses no CPU and the subgraphs answer no fetch for a while: the requests
 * of a finished (or abandoned) window have drained.
 */
export async function waitIdle(pid: number, host: SubgraphHost, maxMs = 60_000): Promise<void> {
  const deadline = Date.now() + maxMs;
  let quiet = 0;
  let cpuBefore = cpuMs(pid);
  let fetchesBefore = sumFetches(await host.counters());
  while (Date.now() < deadline) {
    await sleep(100);
    const cpu = cpuMs(pid);
    const counters = await host.counters();
    const fetches = sumFetches(counters);
    const inFlight = Object.values(counters.fetches).reduce((n, f) => n + f.inFlight, 0);
    quiet = cpu - cpuBefore <= 10 && fetches === fetchesBefore && inFlight === 0 ? quiet + 1 : 0;
    cpuBefore = cpu;
    fetchesBefore = fetches;
    if (quiet >= 3) return;
  }
}

export function failedSample(roundNo: number, failure: string): RoundSample {
  return {
    round: roundNo,
    rps: 0,
    p50Ms: NaN,
    p95Ms: NaN,
    p99Ms: NaN,
    cpuMsPerRequest: NaN,
    gatewayCpuShare: NaN,
    gatewayCoreBusy: null,
    loadCoresBusy: null,
    subgraphMemoHitRate: null,
    subgraphsCpuMsPerRequest: NaN,
    databaseCpuMsPerRequest: null,
    peakRssMb: NaN,
    requests: 0,
    elapsedMs: 0,
    errors: 0,
    warmupErrors: 0,
    responsesChecked: 0,
    wrongAnswers: 0,
    subgraphFetchesPerOperation: NaN,
    mongoCommandsPerOperation: null,
    mongoCommandsByKind: null,
    failure,
  };
}

/** What was read before and after a window, from /proc and the subgraph host. */
interface WindowReadings {
  readonly load: LoadResult;
  readonly warm: AnswerChecker;
  readonly checker: AnswerChecker;
  readonly counters: HostCounters;
  readonly cpu: number;
  readonly cpuUntilLastResponse: number;
  readonly coresBefore: ReturnType<typeof coreTimes>;
  readonly coresAfter: ReturnType<typeof coreTimes>;
  readonly subgraphsCpu: number;
  readonly databaseCpu: number | null;
  readonly peakRssMb: number;
}

function toSample(roundNo: number, r: WindowReadings, pinning: Pinning): RoundSample {
  const { load, warm, checker, counters } = r;
  const answered = Math.max(1, load.responses);
  const commands = counters.commands;
  const commandTotal = commands ? Object.values(commands).reduce((n, x) => n + x, 0) : null;
  return {
    round: roundNo,
    rps: load.rps,
    p50Ms: load.p50Ms,
    p95Ms: load.p95Ms,
    p99Ms: load.p99Ms,
    cpuMsPerRequest: r.cpu / answered,
    gatewayCpuShare: r.cpuUntilLastResponse / load.elapsedMs,
    gatewayCoreBusy: pinning.gatewayCores ? busyShare(r.coresBefore, r.coresAfter, pinning.gatewayCores) : null,
    loadCoresBusy: pinning.loadCores ? busyShare(r.coresBefore, r.coresAfter, pinning.loadCores) : null,
    subgraphMemoHitRate: commands ? null : memoHits(counters) / Math.max(1, sumFetches(counters)),
    subgraphsCpuMsPerRequest: r.subgraphsCpu / answered,
    databaseCpuMsPerRequest: r.databaseCpu === null ? null : r.databaseCpu / answered,
    peakRssMb: r.peakRssMb,
    requests: load.responses,
    elapsedMs: Math.round(load.elapsedMs),
    errors: checker.errors,
    warmupErrors: warm.errors + warm.wrong,
    responsesChecked: warm.checked + checker.checked,
    wrongAnswers: warm.wrong + checker.wrong,
    subgraphFetchesPerOperation: sumFetches(counters) / answered,
    mongoCommandsPerOperation: commandTotal === null ? null : commandTotal / answered,
    mongoCommandsByKind: commands
      ? Object.fromEntries(Object.entries(commands).sort().map(([k, n]) => [k, Number((n / answered).toFixed(2))]))
      : null,
    failure: warm.firstProblem ? `warm-up: ${warm.firstProblem}` : checker.firstProblem,
  };
}

/**
 * One measured window of `op` on a running gateway, after a warm-up when `warmUp`. The window is
 * a fixed number of requests (about `durationSec` at the rate seen so far, at least one per
 * connection), so that it opens and closes with the gateway idle and its CPU time and the
 * subgraphs' counters cover exactly these requests.
 */
export async function measure(
  settings: MeasureSettings,
  gateway: GatewayProcess,
  host: SubgraphHost,
  op: PreparedOperation,
  roundNo: number,
  warmUp: boolean,
  rateHint: number | undefined,
): Promise<RoundSample> {
  const warm = new AnswerChecker(op.expected);
  let rate = rateHint;
  if (warmUp) {
    const warmLoad = await runLoad({ url: gateway.url, body: op.body, connections: settings.warmupConnections, durationSec: settings.warmupSec, checker: warm });
    rate ??= warmLoad.rps;
  }
  await waitIdle(gateway.pid, host);
  const amount = Math.max(settings.connections, Math.round((rate ?? 0) * settings.durationSec));
  const checker = new AnswerChecker(op.expected);
  await host.reset();
  const coresBefore = coreTimes();
  const cpuBefore = cpuMs(gateway.pid);
  const dbPid = host.ready.databasePid;
  const subgraphsCpuBefore = cpuMs(host.pid);
  const databaseCpuBefore = dbPid === null ? NaN : cpuMs(dbPid);
  let cpuAfterLoad = NaN;
  let coresAfter = coresBefore;
  const load = await runLoad({
    url: gateway.url,
    body: op.body,
    connections: settings.connections,
    amount,
    checker,
    atLastResponse: () => {
      cpuAfterLoad = cpuMs(gateway.pid);
      coresAfter = coreTimes();
    },
  });
  await waitIdle(gateway.pid, host);
  return toSample(
    roundNo,
    {
      load,
      warm,
      checker,
      counters: await host.counters(),
      cpu: cpuMs(gateway.pid) - cpuBefore,
      cpuUntilLastResponse: cpuAfterLoad - cpuBefore,
      coresBefore,
      coresAfter,
      subgraphsCpu: cpuMs(host.pid) - subgraphsCpuBefore,
      databaseCpu: dbPid === null ? null : cpuMs(dbPid) - databaseCpuBefore,
      peakRssMb: peakRssMb(gateway.pid),
    },
    settings.pinning,
  );
}

export function formatSample(rounds: number, gateway: GatewayName, op: string, s: RoundSample): string {
  if (s.requests === 0) return `  round ${s.round}/${rounds} ${gateway.padEnd(14)} ${op.padEnd(16)} FAILED: ${s.failure}`;
  return (
    `  round ${s.round}/${rounds} ${gateway.padEnd(14)} ${op.padEnd(16)} ` +
    `${s.rps.toFixed(1).padStart(7)} req/s  p50 ${s.p50Ms.toFixed(1)} ms  p99 ${s.p99Ms.toFixed(1)} ms  ` +
    `CPU ${s.cpuMsPerRequest.toFixed(2)} ms/req (${(s.gatewayCpuShare * 100).toFixed(0)}% of a core` +
    (s.loadCoresBusy !== null ? `; load core ${(s.loadCoresBusy * 100).toFixed(0)}% busy` : '') +
    `)  RSS ${s.peakRssMb.toFixed(0)} MB  fetches/op ${s.subgraphFetchesPerOperation.toFixed(1)}` +
    (s.mongoCommandsPerOperation !== null ? `  mongo cmds/op ${s.mongoCommandsPerOperation.toFixed(2)}` : '') +
    `  ${s.requests} req, ${s.responsesChecked} checked  ${s.failure ? `FAILED: ${s.failure}` : 'correct'}`
  );
}
