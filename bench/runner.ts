/**
 * One workload from start to stop: its subgraphs, then stock @apollo/gateway (whose answers are
 * the expected ones), ours (and on the gateway-bound workload ours with de-duplication on) and
 * Hive Gateway, each one process, all started before the first round and kept for all rounds (only
 * the one under test receives traffic); rounds go through the gateways in the workload's order
 * (bench/workloads.ts), every gateway × operation measured once per round (bench/measure.ts); then
 * the workload's @defer rows on the same processes (bench/defer.ts).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { runDeferRounds, type DeferCell } from './defer.ts';
import { startGatewayProcess, type GatewayProcess } from './gateways.ts';
import { AdoptionToggle, answersAroundWrite, formatCacheSample, measureCached } from './cacheMeasure.ts';
import { failedSample, formatSample, measure, type MeasureSettings } from './measure.ts';
import type { CacheCell, Cell } from './report.ts';
import { SubgraphHost } from './subgraphHostClient.ts';
import type { CacheRoundSample, GatewayName, OperationInfo, RoundSample, WorkloadName } from './types.ts';
import { CACHED_OPERATIONS, prepareOperations, WORKLOAD_GATEWAYS, WORKLOADS, type PreparedOperation } from './workloads.ts';

export interface RunnerContext {
  readonly settings: MeasureSettings & { readonly writeEvery: number };
  /** Where the subgraph hosts write their supergraph files. */
  readonly tempDir: string;
  readonly log: (line: string) => void;
  /** What the run has produced so far (the runner appends to them). */
  readonly cells: Cell[];
  readonly cacheCells: CacheCell[];
  readonly operations: OperationInfo[];
  readonly deferCells: DeferCell[];
  readonly failures: string[];
}

/** What is running, for the bench process to stop on a signal. */
const running = { gateways: new Set<GatewayProcess>(), host: undefined as SubgraphHost | undefined };

export async function stopEverything(): Promise<void> {
  for (const proc of running.gateways) await proc.stop().catch(() => {});
  running.gateways.clear();
  await running.host?.stop().catch(() => {});
  running.host = undefined;
}

interface Gateways {
  readonly processes: Map<GatewayName, GatewayProcess>;
  readonly startFailures: Map<GatewayName, string>;
}

/** Starts the gateways one after another, so that each starts alone on its core. */
async function startGateways(ctx: RunnerContext, workload: WorkloadName, supergraphFile: string, host: SubgraphHost): Promise<Gateways> {
  const processes = new Map<GatewayName, GatewayProcess>();
  const startFailures = new Map<GatewayName, string>();
  // Stock first: its answers are the expected ones.
  const names: GatewayName[] = ['apollo-gateway', ...WORKLOAD_GATEWAYS[workload].filter((g) => g !== 'apollo-gateway')];
  if (CACHED_OPERATIONS[workload]) names.push('ours-cache');
  for (const name of names) {
    const t = performance.now();
    try {
      const proc = await startGatewayProcess(name, { supergraphFile, subgraphUrls: host.ready.urls, writable: host.ready.writable, cpus: ctx.settings.pinning.gatewayCpus });
      processes.set(name, proc);
      running.gateways.add(proc);
      ctx.log(`  ${name} started (pid ${proc.pid}, ${((performance.now() - t) / 1000).toFixed(1)} s)`);
    } catch (err) {
      const reason = `${name} did not start: ${(err as Error).message}`;
      startFailures.set(name, reason);
      ctx.failures.push(`${workload}: ${reason}`);
      ctx.log(`  FAILED ${reason}`);
    }
  }
  return { processes, startFailures };
}

/** The operations with a reference answer from stock; the others recorded as failed cells. */
async function operationsToMeasure(ctx: RunnerContext, workload: WorkloadName, referenceUrl: string, supergraphSdl: string): Promise<PreparedOperation[]> {
  const ops: PreparedOperation[] = [];
  for (const p of await prepareOperations(workload, referenceUrl, supergraphSdl)) {
    if (p.ok) {
      ops.push(p.op);
      ctx.operations.push(p.op.info);
      ctx.log(
        `  ${p.op.spec.name}: ${(p.op.info.responseBytes / 1024).toFixed(1)} KiB answer, ${p.op.info.planFetches} fetches in Apollo's plan` +
          (p.op.info.note ? ` (${p.op.info.note})` : ''),
      );
    } else {
      ctx.failures.push(`${workload} ${p.spec.name}: ${p.reason}`);
      ctx.operations.push({ workload, operation: p.spec.name, file: p.spec.file, variables: { ...p.spec.variables }, expectedSha256: '', responseBytes: 0, planFetches: 0, note: p.reason });
      for (const gateway of WORKLOAD_GATEWAYS[workload]) ctx.cells.push({ workload, operation: p.spec.name, gateway, samples: [failedSample(1, p.reason)] });
      ctx.log(`  FAILED ${p.spec.name}: ${p.reason}`);
    }
  }
  return ops;
}

/** One sample of one gateway × operation in round `r`, or the reason it could not be taken. */
async function sampleOf(ctx: RunnerContext, gateways: Gateways, gateway: GatewayName, host: SubgraphHost, op: PreparedOperation, cell: Cell, r: number): Promise<RoundSample> {
  const proc = gateways.processes.get(gateway);
  if (!proc) return failedSample(r, gateways.startFailures.get(gateway) ?? `${gateway} is not running`);
  if (proc.exited()) return failedSample(r, `${gateway} exited during the run:\n${proc.output().trim()}`);
  const previous = cell.samples.findLast((s) => s.requests > 0);
  try {
    return await measure(ctx.settings, proc, host, op, r, r === 1, previous?.rps);
  } catch (err) {
    return failedSample(r, `${gateway} ${op.spec.name}: ${(err as Error).message}`);
  }
}

/** The cached gateway's cells of this workload, with the writes they make and the answers before and after one; none when it has none. */
async function prepareCache(ctx: RunnerContext, workload: WorkloadName, gateways: Gateways, host: SubgraphHost, referenceUrl: string, ops: readonly PreparedOperation[]): Promise<CacheRounds | undefined> {
  const cached = ops.filter((op) => CACHED_OPERATIONS[workload]?.includes(op.spec.name));
  if (cached.length === 0) return undefined;
  const fail = (reason: string) => {
    ctx.failures.push(`${workload} ours-cache: ${reason}`);
    for (const op of cached) ctx.cacheCells.push({ workload, operation: op.spec.name, write: '', writeVisible: false, writeEvery: ctx.settings.writeEvery, samples: [failedCacheSample(1, reason)] });
    return undefined;
  };
  const proc = gateways.processes.get('ours-cache');
  const editorKey = host.ready.writable?.editorKey;
  if (!proc || !editorKey) return fail(gateways.startFailures.get('ours-cache') ?? 'ours-cache is not running');
  try {
    const toggle = await AdoptionToggle.find(referenceUrl, proc.url, editorKey);
    const answers = await answersAroundWrite(toggle, referenceUrl, cached.map((op) => op.spec));
    const cells = cached.map((op) => {
      const [before, after] = answers.get(op.spec.name)!;
      const cell: CacheCell = { workload, operation: op.spec.name, write: toggle.describe(), writeVisible: before !== after, writeEvery: ctx.settings.writeEvery, samples: [] };
      ctx.cacheCells.push(cell);
      ctx.log(`  ours-cache ${op.spec.name}: writes ${toggle.describe()}; ${cell.writeVisible ? 'they show in its answer' : 'they do not show in its answer'}`);
      return { op, cell, expected: [before, after] as const };
    });
    return { proc, toggle, cells };
  } catch (err) {
    return fail((err as Error).message);
  }
}

interface CacheRounds {
  readonly proc: GatewayProcess;
  readonly toggle: AdoptionToggle;
  readonly cells: readonly { op: PreparedOperation; cell: CacheCell; expected: readonly [string, string] }[];
}

function failedCacheSample(round: number, failure: string): CacheRoundSample {
  return {
    round, rps: 0, p50Ms: NaN, p99Ms: NaN, cpuMsPerRequest: NaN, gatewayCpuShare: NaN, reads: 0, writes: 0, elapsedMs: 0,
    responseHitRatio: NaN, fetchHitRatio: NaN, staleRejections: 0, staleAnswers: 0, staleChecked: 0, wrongAnswers: 0, errors: 0,
    subgraphFetchesPerOperation: NaN, mongoCommandsPerOperation: null, databaseCpuMsPerRequest: null, failure,
  };
}

/** One round of the cached gateway: every cached operation once. */
async function cacheRound(ctx: RunnerContext, host: SubgraphHost, cache: CacheRounds, r: number): Promise<void> {
  for (const { op, cell, expected } of cache.cells) {
    let sample: CacheRoundSample;
    if (cache.proc.exited()) sample = failedCacheSample(r, `ours-cache exited during the run:\n${cache.proc.output().trim()}`);
    else {
      const previous = cell.samples.findLast((s) => s.reads > 0);
      try {
        sample = await measureCached(ctx.settings, cache.proc, host, op, expected, cache.toggle, r, previous?.rps);
      } catch (err) {
        sample = failedCacheSample(r, `ours-cache ${op.spec.name}: ${(err as Error).message}`);
      }
    }
    cell.samples.push(sample);
    ctx.log(sample.reads > 0 ? formatCacheSample(ctx.settings.rounds, op.spec.name, sample) : `  round ${r}/${ctx.settings.rounds} ours-cache     ${op.spec.name.padEnd(16)} FAILED: ${sample.failure}`);
  }
}

async function runRounds(ctx: RunnerContext, workload: WorkloadName, gateways: Gateways, host: SubgraphHost, ops: readonly PreparedOperation[], cache: CacheRounds | undefined): Promise<void> {
  const cellOf = new Map<string, Cell>();
  for (const op of ops) {
    for (const gateway of WORKLOAD_GATEWAYS[workload]) {
      const cell: Cell = { workload, operation: op.spec.name, gateway, samples: [] };
      ctx.cells.push(cell);
      cellOf.set(`${op.spec.name}/${gateway}`, cell);
    }
  }
  for (let r = 1; r <= ctx.settings.rounds; r++) {
    for (const gateway of WORKLOAD_GATEWAYS[workload]) {
      for (const op of ops) {
        const cell = cellOf.get(`${op.spec.name}/${gateway}`)!;
        const sample = await sampleOf(ctx, gateways, gateway, host, op, cell, r);
        cell.samples.push(sample);
        ctx.log(formatSample(ctx.settings.rounds, gateway, op.spec.name, sample));
      }
    }
    if (cache) await cacheRound(ctx, host, cache, r);
  }
}

export async function runWorkload(ctx: RunnerContext, workload: WorkloadName): Promise<void> {
  const supergraphFile = path.join(ctx.tempDir, `${workload}.supergraph.graphql`);
  ctx.log(`\n== ${workload}: starting the subgraphs`);
  const started = performance.now();
  const host = (running.host = await SubgraphHost.start(workload, supergraphFile, ctx.log));
  try {
    for (const line of host.ready.seeded) ctx.log(`  seeded ${line}`);
    ctx.log(`  database: ${host.ready.database} (ready in ${((performance.now() - started) / 1000).toFixed(1)} s)`);
    const supergraphSdl = readFileSync(supergraphFile, 'utf8');
    const gateways = await startGateways(ctx, workload, supergraphFile, host);
    const reference = gateways.processes.get('apollo-gateway');
    if (!reference) {
      const reason = `no expected answers: stock @apollo/gateway did not start (${gateways.startFailures.get('apollo-gateway')?.split('\n')[0]})`;
      ctx.failures.push(`${workload}: ${reason}; nothing measured`);
      for (const spec of WORKLOADS[workload]) {
        for (const gateway of WORKLOAD_GATEWAYS[workload]) ctx.cells.push({ workload, operation: spec.name, gateway, samples: [failedSample(1, reason)] });
      }
      return;
    }
    if (!ctx.settings.deferOnly) {
      const ops = await operationsToMeasure(ctx, workload, reference.url, supergraphSdl);
      const cache = await prepareCache(ctx, workload, gateways, host, reference.url, ops);
      await runRounds(ctx, workload, gateways, host, ops, cache);
    }
    await runDeferRounds(ctx, workload, gateways.processes);
  } finally {
    await stopEverything();
  }
}
