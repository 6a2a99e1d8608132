/**
 * The side-by-side gateway benchmark of issue #7.
 *
 *   npm run bench [-- --quick] [--rounds N] [--duration S] [--warmup S] [--connections C]
 *                    [--out DIR] [--workload ali|gateway-bound] [--no-pin]
 *
 * For each workload: starts its subgraphs in a process of their own (bench/subgraphHost.ts),
 * takes the expected answers from stock @apollo/gateway, then for each round starts each gateway
 * under test (bench/gateways.ts) as one process on the same supergraph file, in the order ours →
 * apollo-gateway → hive-gateway, and drives every operation with autocannon: a warm-up, then a
 * measured window of a fixed number of requests (sized from the rate seen so far to last about
 * --duration seconds), so that the window starts and ends with the gateway idle and its CPU time
 * covers exactly those requests. Every response is checked (bench/load.ts). Writes
 * <out>/latest.json and <out>/latest.md; exits 1 when any cell failed.
 *
 * Default: 3 rounds, 3 s warm-up, ~8 s windows, 50 connections; --quick: 1 round, 1 s, ~2 s.
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
import { prepareOperations, type PreparedOperation } from './workloads.ts';

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
const durationSec = positive('duration', flags.duration, quick ? 2 : 8);
const warmupSec = positive('warmup', flags.warmup, quick ? 1 : 3);
const connections = Math.round(positive('connections', flags.connections, 50));
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
  private waiting: ((m: HostCounters) => void)[] = [];
  private stderrTail = '';

  private constructor(
    private readonly child: ChildProcess,
    readonly ready: HostReady,
  ) {
    child.on('message', (m: HostCounters | HostReady) => {
      if (m.type === 'counters') this.waiting.shift()?.(m);
    });
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
    const host = new SubgraphHost(child, ready);
    host.stderrTail = tail;
    return host;
  }

  private ask(message: HostMessage): Promise<HostCounters> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
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
    if (this.child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.send({ type: 'stop' } satisfies HostMessage);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------

let currentGateway: GatewayProcess | undefined;
let currentHost: SubgraphHost | undefined;
let tempDir: string | undefined;

async function cleanup(): Promise<void> {
  await currentGateway?.stop().catch(() => {});
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

/** Waits until the gateway process uses no CPU for a while (requests of a finished window drained). */
async function waitIdle(pid: number, maxMs = 15_000): Promise<void> {
  const deadline = Date.now() + maxMs;
  let quiet = 0;
  let before = cpuMs(pid);
  while (Date.now() < deadline) {
    await sleep(100);
    const now = cpuMs(pid);
    quiet = now - before <= 10 ? quiet + 1 : 0;
    before = now;
    if (quiet >= 3) return;
  }
}

function sumFetches(c: HostCounters): number {
  return Object.values(c.fetches).reduce((n, f) => n + f.requests, 0);
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

/** Warm-up, then one measured window of `op` on a running gateway. */
async function measure(
  gateway: GatewayProcess,
  host: SubgraphHost,
  op: PreparedOperation,
  roundNo: number,
  rateHint: number | undefined,
): Promise<RoundSample> {
  const warm = new AnswerChecker(op.expected);
  const warmLoad = await runLoad({ url: gateway.url, body: op.body, connections, durationSec: warmupSec, checker: warm });
  await waitIdle(gateway.pid);

  // A fixed number of requests: the window opens and closes with the gateway idle, so its CPU
  // time and the subgraphs' counters cover exactly these requests.
  const rate = rateHint ?? warmLoad.rps;
  const amount = Math.max(connections * 2, Math.round(rate * durationSec));
  const checker = new AnswerChecker(op.expected);
  await host.reset();
  const coresBefore = coreTimes();
  const cpuBefore = cpuMs(gateway.pid);
  const load = await runLoad({ url: gateway.url, body: op.body, connections, amount, checker });
  const cpuAfterLoad = cpuMs(gateway.pid);
  const coresAfter = coreTimes();
  await waitIdle(gateway.pid);
  const cpu = cpuMs(gateway.pid) - cpuBefore;
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

async function runWorkload(workload: WorkloadName, cells: Cell[], operations: OperationInfo[], failures: string[]): Promise<void> {
  const supergraphFile = path.join(tempDir!, `${workload}.supergraph.graphql`);
  log(`\n== ${workload}: starting the subgraphs`);
  const host = (currentHost = await SubgraphHost.start(workload, supergraphFile));
  try {
    for (const line of host.ready.seeded) log(`  seeded ${line}`);
    log(`  database: ${host.ready.database}`);
    const supergraphSdl = readFileSync(supergraphFile, 'utf8');
    const start = (name: GatewayName) =>
      startGatewayProcess(name, { supergraphFile, subgraphUrls: host.ready.urls, cpus: pinning.gatewayCpus });

    // Expected answers, from stock @apollo/gateway.
    let prepared: Awaited<ReturnType<typeof prepareOperations>>;
    try {
      currentGateway = await start('apollo-gateway');
      prepared = await prepareOperations(workload, currentGateway.url, supergraphSdl);
    } catch (err) {
      const reason = `${workload}: no reference answers, stock @apollo/gateway failed: ${(err as Error).message}`;
      failures.push(reason);
      log(`  FAILED ${reason}`);
      return;
    } finally {
      await currentGateway?.stop();
      currentGateway = undefined;
    }
    const ops: PreparedOperation[] = [];
    for (const p of prepared) {
      if (p.ok) {
        ops.push(p.op);
        operations.push(p.op.info);
        log(`  ${p.op.spec.name}: ${(p.op.info.responseBytes / 1024).toFixed(1)} KiB answer, ${p.op.info.planFetches} fetches in the plan${p.op.info.note ? ` (${p.op.info.note})` : ''}`);
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
        let proc: GatewayProcess;
        try {
          proc = currentGateway = await start(gateway);
        } catch (err) {
          const reason = `${gateway} did not start: ${(err as Error).message}`;
          if (!failures.includes(`${workload}: ${reason}`)) failures.push(`${workload}: ${reason}`);
          log(`  round ${r} ${gateway}: FAILED ${reason.split('\n')[0]}`);
          for (const op of ops) cellOf.get(`${op.spec.name}/${gateway}`)!.samples.push(failedSample(r, reason));
          continue;
        }
        try {
          for (const op of ops) {
            const cell = cellOf.get(`${op.spec.name}/${gateway}`)!;
            const previous = cell.samples.findLast((s) => s.requests > 0);
            let sample: RoundSample;
            try {
              sample = await measure(proc, host, op, r, previous?.rps);
            } catch (err) {
              sample = failedSample(r, `${gateway} ${op.spec.name}: ${(err as Error).message}`);
            }
            cell.samples.push(sample);
            log(
              `  round ${r}/${rounds} ${gateway.padEnd(14)} ${op.spec.name.padEnd(16)} ` +
                `${sample.rps.toFixed(1).padStart(7)} req/s  p50 ${sample.p50Ms.toFixed(1)} ms  p99 ${sample.p99Ms.toFixed(1)} ms  ` +
                `CPU ${sample.cpuMsPerRequest.toFixed(2)} ms/req (${(sample.gatewayCpuShare * 100).toFixed(0)}% of a core` +
                (sample.loadCoresBusy !== null ? `; load core ${(sample.loadCoresBusy * 100).toFixed(0)}% busy` : '') +
                `)  ` +
                `RSS ${sample.peakRssMb.toFixed(0)} MB  fetches/op ${sample.subgraphFetchesPerOperation.toFixed(1)}` +
                (sample.mongoCommandsPerOperation !== null ? `  mongo cmds/op ${sample.mongoCommandsPerOperation.toFixed(2)}` : '') +
                `  ${sample.responsesChecked} checked  ${sample.failure ? `FAILED: ${sample.failure}` : 'correct'}`,
            );
          }
        } finally {
          await proc.stop();
          currentGateway = undefined;
        }
      }
    }
  } finally {
    await host.stop();
    currentHost = undefined;
  }
}

// ---------------------------------------------------------------------------------------------

const pinning = pin();
const startedAt = new Date().toISOString();
tempDir = mkdtempSync(path.join(os.tmpdir(), 'ali-bench-'));
const machine = describeMachine(pinning.description);
log(`Gateway benchmark: ${quick ? 'quick smoke run, ' : ''}${rounds} round(s), warm-up ${warmupSec} s, windows of ~${durationSec} s, ${connections} connections`);
log(`Machine: ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGb} GB, Node ${machine.node}`);
log(`Pinning: ${pinning.description}`);

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
    connections,
    startedAt,
    finishedAt: new Date().toISOString(),
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
