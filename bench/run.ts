/**
 * The side-by-side gateway benchmark: ours, stock @apollo/gateway and Hive Gateway.
 *
 *   npm run bench [-- --quick] [--rounds N] [--duration S] [--warmup S] [--connections C]
 *                    [--out DIR] [--workload ali|gateway-bound] [--no-pin]
 *
 * For each workload: starts its subgraphs in a process of their own (bench/subgraphHost.ts), then
 * one after another the three gateways under test (bench/gateways.ts), each one process on the
 * same supergraph file, pinned alone to a core. Stock @apollo/gateway's answers are the expected
 * ones. Rounds alternate ours → apollo-gateway → hive-gateway; each gateway × operation is warmed
 * up in the first round, then measured in every round with autocannon over a window of a fixed
 * number of requests (sized from the rate seen so far to last about --duration seconds), so that
 * the window opens and closes with the gateway idle and its CPU time covers exactly those
 * requests. Every response is checked (bench/load.ts). Writes <out>/latest.json and
 * <out>/latest.md; exits 1 when any cell failed.
 *
 * Defaults: 3 rounds, 5 s warm-up, ~6 s windows, 50 connections (about 9 minutes on 2 cores).
 * --quick: 1 round, 1 s warm-up, ~2 s windows, 5 connections (a smoke run, about a minute).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { describeGateways, GATEWAY_NAMES, startGatewayProcess, type GatewayProcess } from './gateways.ts';
import { busyShare, coreTimes, cpuMs, peakRssMb } from './proc.ts';
import { AnswerChecker, runLoad } from './load.ts';
import { describeMachine, renderMarkdown, summarise, type Cell } from './report.ts';
import type { GatewayName, HostCounters, HostMessage, HostReady, OperationInfo, Results, RoundSample, WorkloadName } from './types.ts';
import { prepareOperations, WORKLOADS, type PreparedOperation } from './workloads.ts';

const root = path.resolve(import.meta.dirname, '..');

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    connections: { type: 'string' },
    out: { type: 'string' },
    workload: { type: 'string', multiple: true },
    'no-pin': { type: 'boolean', default: false },
  },
});

function positive(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) {
    console.error(`--${name} must be a positive number, got ${value}`);
    process.exit(2);
  }
  return n;
}

const quick = flags.quick ?? false;
const rounds = Math.round(positive('rounds', flags.rounds, quick ? 1 : 3));
const durationSec = positive('duration', flags.duration, quick ? 2 : 6);
const warmupSec = positive('warmup', flags.warmup, quick ? 1 : 5);
const connections = Math.round(positive('connections', flags.connections, quick ? 5 : 50));
const outDir = path.resolve(flags.out ?? path.join(root, 'bench', 'results'));
const workloads = (flags.workload ?? ['ali', 'gateway-bound']) as WorkloadName[];
for (const w of workloads) {
  if (w !== 'ali' && w !== 'gateway-bound') {
    console.error(`--workload must be ali or gateway-bound, got ${w}`);
    process.exit(2);
  }
}

/** The command that reproduces this run. */
function reproduceCommand(): string {
  const args: string[] = [];
  if (quick) args.push('--quick');
  if (flags.rounds !== undefined || !quick) args.push('--rounds', String(rounds));
  if (flags.duration !== undefined || !quick) args.push('--duration', String(durationSec));
  if (flags.warmup !== undefined || !quick) args.push('--warmup', String(warmupSec));
  args.push('--connections', String(connections));
  if (flags.workload) for (const w of workloads) args.push('--workload', w);
  if (flags['no-pin']) args.push('--no-pin');
  return `npm run bench -- ${args.join(' ')}`;
}

const log = (line: string) => console.log(line);

// ---------------------------------------------------------------------------------------------
// Pinning: the gateway alone on one core; this process (load generator), the subgraphs and the
// database, which inherit this process's affinity, on the other(s).

interface Pinning {
  readonly gatewayCpus: string | undefined;
  /** The cores of the gateway and of the rest, when pinned. */
  readonly gatewayCores: number[] | undefined;
  readonly loadCores: number[] | undefined;
  readonly description: string;
}

function expandCpuList(list: string): number[] {
  return list.split(',').flatMap((part) => {
    const [a, b] = part.split('-').map(Number);
    return b === undefined ? [a!] : Array.from({ length: b - a! + 1 }, (_, i) => a! + i);
  });
}

function pin(): Pinning {
  const none = { gatewayCpus: undefined, gatewayCores: undefined, loadCores: undefined };
  if (flags['no-pin']) return { ...none, description: 'not pinned (--no-pin)' };
  if (process.platform !== 'linux') return { ...none, description: `not pinned (taskset needs Linux, this is ${process.platform})` };
  let cpus: number[];
  try {
    const out = execFileSync('taskset', ['-cp', String(process.pid)], { encoding: 'utf8' });
    cpus = expandCpuList(/list:\s*(\S+)/.exec(out)?.[1] ?? '');
  } catch {
    return { ...none, description: 'not pinned (taskset not available)' };
  }
  if (cpus.length < 2) return { ...none, description: `not pinned (only CPU ${cpus.join(',')} available)` };
  const gateway = String(cpus[0]);
  const load = cpus.slice(1).join(',');
  execFileSync('taskset', ['-a', '-cp', load, String(process.pid)], { stdio: 'ignore' });
  return {
    gatewayCpus: gateway,
    gatewayCores: [cpus[0]!],
    loadCores: cpus.slice(1),
    description: `taskset: the gateway under test alone on CPU ${gateway}; the load generator (autocannon in the bench process), the subgraphs and the database on CPU ${load}`,
  };
}

// ---------------------------------------------------------------------------------------------
// The subgraph host process.

class SubgraphHost {
  private readonly waiting: { resolve: (m: HostCounters) => void; reject: (e: Error) => void }[] = [];
  private exitError: Error | undefined;

  private constructor(
    private readonly child: ChildProcess,
    readonly ready: HostReady,
    tail: () => string,
  ) {
    child.on('message', (m: HostCounters | HostReady) => {
      if (m.type === 'counters') this.waiting.shift()?.resolve(m);
    });
    child.once('exit', (code, signal) => {
      this.exitError = new Error(`the subgraph host exited (code ${code}, signal ${signal}):\n${tail()}`);
      for (const w of this.waiting.splice(0)) w.reject(this.exitError);
    });
  }

  /** The host process (the subgraphs), for its CPU time. */
  get pid(): number {
    return this.child.pid!;
  }

  static async start(workload: WorkloadName, supergraphFile: string): Promise<SubgraphHost> {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'bench/subgraphHost.ts'), workload, supergraphFile], {
      cwd: root,
      env: process.env,
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    });
    let tail = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      tail = (tail + text).slice(-8000);
      for (const line of text.split('\n')) if (line.startsWith('[subgraphs]')) log(`  ${line}`);
    });
    const ready = await new Promise<HostReady>((resolve, reject) => {
      child.on('message', (m: HostReady | { type: 'error'; message: string }) => {
        if (m.type === 'ready') resolve(m);
        else if (m.type === 'error') reject(new Error(`the ${workload} subgraphs did not start: ${m.message}`));
      });
      child.once('exit', (code) => reject(new Error(`the ${workload} subgraph host exited (code ${code}) before it was ready:\n${tail}`)));
    });
    return new SubgraphHost(child, ready, () => tail);
  }

  private ask(message: HostMessage): Promise<HostCounters> {
    if (this.exitError) return Promise.reject(this.exitError);
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.child.send(message);
    });
  }

  reset(): Promise<HostCounters> {
    return this.ask({ type: 'reset' });
  }

  counters(): Promise<HostCounters> {
    return this.ask({ type: 'counters' });
  }

  async stop(): Promise<void> {
    if (this.exitError) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.send({ type: 'stop' } satisfies HostMessage);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------

const runningGateways = new Set<GatewayProcess>();
let currentHost: SubgraphHost | undefined;
let tempDir: string | undefined;

async function cleanup(): Promise<void> {
  for (const proc of runningGateways) await proc.stop().catch(() => {});
  await currentHost?.stop().catch(() => {});
  if (tempDir) rmSync(tempDir, { recursive: true, force: true });
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`\n${signal}: stopping`);
    void cleanup().then(() => process.exit(130));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Waits until the gateway uses no CPU and the subgraphs answer no fetch for a while: the requests
 * of a finished (or abandoned) window have drained.
 */
async function waitIdle(pid: number, host: SubgraphHost, maxMs = 60_000): Promise<void> {
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

function sumFetches(c: HostCounters): number {
  return Object.values(c.fetches).reduce((n, f) => n + f.requests, 0);
}

function memoHits(c: HostCounters): number {
  return Object.values(c.fetches).reduce((n, f) => n + f.memoHits, 0);
}

function failedSample(roundNo: number, failure: string): RoundSample {
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

/** Warm-up connections: enough to exercise the gateway, few enough that draining them is quick. */
const WARMUP_CONNECTIONS = Math.min(connections, 5);

/**
 * One measured window of `op` on a running gateway, after a warm-up when `warmUp`. The window is
 * a fixed number of requests (about `durationSec` at the rate seen so far, at least one per
 * connection), so that it opens and closes with the gateway idle and its CPU time and the
 * subgraphs' counters cover exactly these requests.
 */
async function measure(
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
    const warmLoad = await runLoad({ url: gateway.url, body: op.body, connections: WARMUP_CONNECTIONS, durationSec: warmupSec, checker: warm });
    rate ??= warmLoad.rps;
  }
  await waitIdle(gateway.pid, host);
  const amount = Math.max(connections, Math.round((rate ?? 0) * durationSec));
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
    connections,
    amount,
    checker,
    atLastResponse: () => {
      cpuAfterLoad = cpuMs(gateway.pid);
      coresAfter = coreTimes();
    },
  });
  await waitIdle(gateway.pid, host);
  const cpu = cpuMs(gateway.pid) - cpuBefore;
  const subgraphsCpu = cpuMs(host.pid) - subgraphsCpuBefore;
  const databaseCpu = dbPid === null ? null : cpuMs(dbPid) - databaseCpuBefore;
  const counters = await host.counters();
  const answered = Math.max(1, load.responses);
  const commands = counters.commands;
  const commandTotal = commands ? Object.values(commands).reduce((n, x) => n + x, 0) : null;
  const failure = warm.firstProblem ? `warm-up: ${warm.firstProblem}` : checker.firstProblem;
  return {
    round: roundNo,
    rps: load.rps,
    p50Ms: load.p50Ms,
    p95Ms: load.p95Ms,
    p99Ms: load.p99Ms,
    cpuMsPerRequest: cpu / answered,
    gatewayCpuShare: (cpuAfterLoad - cpuBefore) / load.elapsedMs,
    gatewayCoreBusy: pinning.gatewayCores ? busyShare(coresBefore, coresAfter, pinning.gatewayCores) : null,
    loadCoresBusy: pinning.loadCores ? busyShare(coresBefore, coresAfter, pinning.loadCores) : null,
    subgraphMemoHitRate: commands ? null : memoHits(counters) / Math.max(1, sumFetches(counters)),
    subgraphsCpuMsPerRequest: subgraphsCpu / answered,
    databaseCpuMsPerRequest: databaseCpu === null ? null : databaseCpu / answered,
    peakRssMb: peakRssMb(gateway.pid),
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
    failure,
  };
}

function logSample(gateway: GatewayName, op: string, s: RoundSample): void {
  if (s.requests === 0) {
    log(`  round ${s.round}/${rounds} ${gateway.padEnd(14)} ${op.padEnd(16)} FAILED: ${s.failure}`);
    return;
  }
  log(
    `  round ${s.round}/${rounds} ${gateway.padEnd(14)} ${op.padEnd(16)} ` +
      `${s.rps.toFixed(1).padStart(7)} req/s  p50 ${s.p50Ms.toFixed(1)} ms  p99 ${s.p99Ms.toFixed(1)} ms  ` +
      `CPU ${s.cpuMsPerRequest.toFixed(2)} ms/req (${(s.gatewayCpuShare * 100).toFixed(0)}% of a core` +
      (s.loadCoresBusy !== null ? `; load core ${(s.loadCoresBusy * 100).toFixed(0)}% busy` : '') +
      `)  RSS ${s.peakRssMb.toFixed(0)} MB  fetches/op ${s.subgraphFetchesPerOperation.toFixed(1)}` +
      (s.mongoCommandsPerOperation !== null ? `  mongo cmds/op ${s.mongoCommandsPerOperation.toFixed(2)}` : '') +
      `  ${s.requests} req, ${s.responsesChecked} checked  ${s.failure ? `FAILED: ${s.failure}` : 'correct'}`,
  );
}

/**
 * One workload: its subgraphs, then stock @apollo/gateway (whose answers are the expected ones),
 * ours and Hive Gateway, each one process, all started before the first round and kept for all
 * rounds (only the one under test receives traffic); rounds alternate ours → apollo → hive.
 */
async function runWorkload(workload: WorkloadName, cells: Cell[], operations: OperationInfo[], failures: string[]): Promise<void> {
  const supergraphFile = path.join(tempDir!, `${workload}.supergraph.graphql`);
  log(`\n== ${workload}: starting the subgraphs`);
  const started = performance.now();
  const host = (currentHost = await SubgraphHost.start(workload, supergraphFile));
  try {
    for (const line of host.ready.seeded) log(`  seeded ${line}`);
    log(`  database: ${host.ready.database} (ready in ${((performance.now() - started) / 1000).toFixed(1)} s)`);
    const supergraphSdl = readFileSync(supergraphFile, 'utf8');
    const processes = new Map<GatewayName, GatewayProcess>();
    const startFailures = new Map<GatewayName, string>();
    // One after another, so that each starts alone on its core.
    for (const name of ['apollo-gateway', 'ours', 'hive-gateway'] as const) {
      const t = performance.now();
      try {
        const proc = await startGatewayProcess(name, { supergraphFile, subgraphUrls: host.ready.urls, cpus: pinning.gatewayCpus });
        processes.set(name, proc);
        runningGateways.add(proc);
        log(`  ${name} started (pid ${proc.pid}, ${((performance.now() - t) / 1000).toFixed(1)} s)`);
      } catch (err) {
        const reason = `${name} did not start: ${(err as Error).message}`;
        startFailures.set(name, reason);
        failures.push(`${workload}: ${reason}`);
        log(`  FAILED ${reason}`);
      }
    }
    const reference = processes.get('apollo-gateway');
    if (!reference) {
      const reason = `no expected answers: stock @apollo/gateway did not start (${startFailures.get('apollo-gateway')?.split('\n')[0]})`;
      failures.push(`${workload}: ${reason}; nothing measured`);
      for (const spec of WORKLOADS[workload]) {
        for (const gateway of GATEWAY_NAMES) cells.push({ workload, operation: spec.name, gateway, samples: [failedSample(1, reason)] });
      }
      return;
    }
    const prepared = await prepareOperations(workload, reference.url, supergraphSdl);
    const ops: PreparedOperation[] = [];
    for (const p of prepared) {
      if (p.ok) {
        ops.push(p.op);
        operations.push(p.op.info);
        log(
          `  ${p.op.spec.name}: ${(p.op.info.responseBytes / 1024).toFixed(1)} KiB answer, ${p.op.info.planFetches} fetches in Apollo's plan` +
            (p.op.info.note ? ` (${p.op.info.note})` : ''),
        );
      } else {
        failures.push(`${workload} ${p.spec.name}: ${p.reason}`);
        operations.push({ workload, operation: p.spec.name, file: p.spec.file, variables: { ...p.spec.variables }, expectedSha256: '', responseBytes: 0, planFetches: 0, note: p.reason });
        for (const gateway of GATEWAY_NAMES) cells.push({ workload, operation: p.spec.name, gateway, samples: [failedSample(1, p.reason)] });
        log(`  FAILED ${p.spec.name}: ${p.reason}`);
      }
    }
    const cellOf = new Map<string, Cell>();
    for (const op of ops) {
      for (const gateway of GATEWAY_NAMES) {
        const cell: Cell = { workload, operation: op.spec.name, gateway, samples: [] };
        cells.push(cell);
        cellOf.set(`${op.spec.name}/${gateway}`, cell);
      }
    }
    for (let r = 1; r <= rounds; r++) {
      for (const gateway of GATEWAY_NAMES) {
        const proc = processes.get(gateway);
        for (const op of ops) {
          const cell = cellOf.get(`${op.spec.name}/${gateway}`)!;
          let sample: RoundSample;
          if (!proc) {
            sample = failedSample(r, startFailures.get(gateway) ?? `${gateway} is not running`);
          } else if (proc.exited()) {
            sample = failedSample(r, `${gateway} exited during the run:\n${proc.output().trim()}`);
          } else {
            const previous = cell.samples.findLast((s) => s.requests > 0);
            try {
              sample = await measure(proc, host, op, r, r === 1, previous?.rps);
            } catch (err) {
              sample = failedSample(r, `${gateway} ${op.spec.name}: ${(err as Error).message}`);
            }
          }
          cell.samples.push(sample);
          logSample(gateway, op.spec.name, sample);
        }
      }
    }
  } finally {
    for (const proc of runningGateways) await proc.stop();
    runningGateways.clear();
    await host.stop();
    currentHost = undefined;
  }
}

// ---------------------------------------------------------------------------------------------

const pinning = pin();
const startedAt = new Date().toISOString();
const loadAverageAtStart = os.loadavg().map((x) => Number(x.toFixed(2)));
tempDir = mkdtempSync(path.join(os.tmpdir(), 'ali-bench-'));
const machine = describeMachine(pinning.description);
log(`Gateway benchmark: ${quick ? 'quick smoke run, ' : ''}${rounds} round(s), warm-up ${warmupSec} s, windows of ~${durationSec} s, ${connections} connections`);
log(`Machine: ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGb} GB, Node ${machine.node}`);
log(`Pinning: ${pinning.description}`);
log(`Load average at start: ${loadAverageAtStart.join(', ')}`);

const cells: Cell[] = [];
const operations: OperationInfo[] = [];
const failures: string[] = [];
try {
  for (const workload of workloads) {
    try {
      await runWorkload(workload, cells, operations, failures);
    } catch (err) {
      failures.push(`${workload}: ${(err as Error).message}`);
      log(`  FAILED ${workload}: ${(err as Error).message}`);
    }
  }
} finally {
  await cleanup();
}

const results: Results = {
  machine,
  settings: {
    command: reproduceCommand(),
    quick,
    rounds,
    durationSec,
    warmupSec,
    warmupConnections: WARMUP_CONNECTIONS,
    connections,
    startedAt,
    finishedAt: new Date().toISOString(),
    loadAverageAtStart,
    gateways: describeGateways(),
  },
  operations,
  runs: summarise(cells),
  failures,
};
mkdirSync(outDir, { recursive: true });
writeFileSync(path.join(outDir, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
const markdown = renderMarkdown(results);
writeFileSync(path.join(outDir, 'latest.md'), markdown);
log(`\n${markdown}`);
log(`Results: ${path.join(outDir, 'latest.json')}, ${path.join(outDir, 'latest.md')}`);
const ok = failures.length === 0 && results.runs.length > 0 && results.runs.every((r) => r.correct);
process.exit(ok ? 0 : 1);
