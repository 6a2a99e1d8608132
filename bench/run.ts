/**
 * The side-by-side gateway benchmark: ours, stock @apollo/gateway and Hive Gateway.
 *
 *   npm run bench [-- --quick] [--rounds N] [--duration S] [--warmup S] [--connections C]
 *                    [--out DIR] [--workload ali|gateway-bound] [--no-pin] [--defer-only] [--write-every N]
 *
 * For each workload: starts its subgraphs in a process of their own (bench/subgraphHost.ts), then
 * one after another the gateways under test (bench/gateways.ts), each one process on the same
 * supergraph file, pinned alone to a core (bench/pinning.ts). Stock @apollo/gateway's answers are
 * the expected ones (bench/workloads.ts). Rounds alternate ours → (ours-dedupe →) apollo-gateway →
 * hive-gateway (bench/runner.ts); each gateway × operation is warmed up in the first round, then measured in
 * every round with autocannon over a window of a fixed number of requests (sized from the rate
 * seen so far to last about --duration seconds), so that the window opens and closes with the
 * gateway idle and its CPU time covers exactly those requests (bench/measure.ts). Every response
 * is checked (bench/load.ts). On the ALI workload, ours with its cache on (`ours-cache`) is then
 * measured on the dashboard and municipalities with a real write every --write-every reads
 * (default 1000), in rows of its own (bench/cacheMeasure.ts). Then each workload's @defer
 * operation, one request at a time: time to first and to last payload of ours with @defer, and of
 * ours and stock without it (bench/defer.ts). Writes <out>/latest.json and <out>/latest.md (bench/report.ts);
 * exits 1 when any cell failed.
 *
 * Defaults: 3 rounds, 5 s warm-up, ~6 s windows, 50 connections (about 9 minutes on 2 cores, and
 * about 4 more for the @defer rows, whose windows last as long but send one request at a time).
 * --quick: 1 round, 1 s warm-up, ~2 s windows, 5 connections (a smoke run, about a minute).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { renderDefer, summariseDefer } from './deferReport.ts';
import { describeGateways } from './gateways.ts';
import { parseOptions } from './options.ts';
import { pin } from './pinning.ts';
import { describeMachine, renderMarkdown, summarise, summariseCache, type CacheCell, type Cell } from './report.ts';
import { runWorkload, stopEverything, type RunnerContext } from './runner.ts';
import type { GatewayName, OperationInfo, Results } from './types.ts';
import { CACHED_OPERATIONS, WORKLOAD_GATEWAYS } from './workloads.ts';

const options = parseOptions();
const log = (line: string) => console.log(line);
const tempDir = mkdtempSync(path.join(os.tmpdir(), 'ali-bench-'));

async function cleanup(): Promise<void> {
  await stopEverything();
  rmSync(tempDir, { recursive: true, force: true });
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`\n${signal}: stopping`);
    void cleanup().then(() => process.exit(130));
  });
}

const pinning = pin(options.noPin);
const startedAt = new Date().toISOString();
const loadAverageAtStart = os.loadavg().map((x) => Number(x.toFixed(2)));
const machine = describeMachine(pinning.description);
const { quick, rounds, warmupSec, durationSec, connections } = options;
log(`Gateway benchmark: ${quick ? 'quick smoke run, ' : ''}${rounds} round(s), warm-up ${warmupSec} s, windows of ~${durationSec} s, ${connections} connections`);
log(`Machine: ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGb} GB, Node ${machine.node}`);
log(`Pinning: ${pinning.description}`);
log(`Load average at start: ${loadAverageAtStart.join(', ')}`);

const ctx: RunnerContext = {
  settings: { ...options, pinning },
  tempDir,
  log,
  cells: [] as Cell[],
  cacheCells: [] as CacheCell[],
  operations: [] as OperationInfo[],
  deferCells: [],
  failures: [] as string[],
};
try {
  for (const workload of options.workloads) {
    try {
      await runWorkload(ctx, workload);
    } catch (err) {
      ctx.failures.push(`${workload}: ${(err as Error).message}`);
      log(`  FAILED ${workload}: ${(err as Error).message}`);
    }
  }
} finally {
  await cleanup();
}

const runs = summarise(ctx.cells);
const results: Results = {
  machine,
  settings: {
    command: options.command,
    quick,
    rounds,
    durationSec,
    warmupSec,
    warmupConnections: options.warmupConnections,
    connections,
    writeEvery: options.writeEvery,
    startedAt,
    finishedAt: new Date().toISOString(),
    loadAverageAtStart,
    gateways: Object.fromEntries(
      Object.entries(describeGateways()).filter(([name]) =>
        options.workloads.some((w) => WORKLOAD_GATEWAYS[w].includes(name as GatewayName) || (name === 'ours-cache' && CACHED_OPERATIONS[w])),
      ),
    ),
  },
  operations: ctx.operations,
  runs,
  cacheRuns: summariseCache(ctx.cacheCells, runs),
  defer: summariseDefer(ctx.deferCells),
  failures: ctx.failures,
};
mkdirSync(options.outDir, { recursive: true });
writeFileSync(path.join(options.outDir, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
const markdown = [renderMarkdown(results), ...renderDefer(results)].join('\n');
writeFileSync(path.join(options.outDir, 'latest.md'), markdown);
log(`\n${markdown}`);
log(`Results: ${path.join(options.outDir, 'latest.json')}, ${path.join(options.outDir, 'latest.md')}`);
const measured = options.deferOnly ? results.defer.length > 0 : results.runs.length > 0;
const ok =
  ctx.failures.length === 0 && measured && results.runs.every((r) => r.correct) && results.cacheRuns.every((r) => r.correct) && results.defer.every((r) => r.correct);
process.exit(ok ? 0 : 1);
