/**
 * The benchmark as a smoke test: `bench/run.ts --quick` into a temporary results
 * folder runs to the end, every gateway × workload × operation answers correctly with no error
 * (the @defer rows too), the cached gateway's rows (ALI dashboard and municipalities, a write every
 * 20 reads) have writes, hits and no stale answer, and latest.json has the shape bench/types.ts
 * declares. Not a timed test: nothing about speed is asserted (the numbers of a quick run, beside
 * other test files, mean nothing).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import type { Results } from '../../bench/types.ts';

const root = path.resolve(import.meta.dirname, '..', '..');
const GATEWAYS = {
  ali: ['ours', 'apollo-gateway', 'hive-gateway'],
  // Ours also with its production default of sharing identical in-flight subgraph requests.
  'gateway-bound': ['ours', 'ours-dedupe', 'apollo-gateway', 'hive-gateway'],
};

let outDir: string;
let exitCode: number | null;
let output = '';
let results: Results;

beforeAll(async () => {
  outDir = await mkdtemp(path.join(os.tmpdir(), 'ali-bench-test-'));
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'bench/run.ts'), '--quick', '--out', outDir], {
    cwd: root,
    // The run's database server (fresh databases on it, dropped afterwards) instead of a second FerretDB.
    env: { ...process.env, MONGODB_URI: inject('mongoUri') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (c: Buffer) => (output += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (output += c.toString('utf8')));
  exitCode = await new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  results = JSON.parse(await readFile(path.join(outDir, 'latest.json'), 'utf8')) as Results;
}, 300_000);

afterAll(async () => {
  if (outDir) await rm(outDir, { recursive: true, force: true });
});

describe('bench/run.ts --quick', () => {
  it('finishes, and every cell is correct with no error', () => {
    const failed = results.runs.filter((r) => !r.correct || r.errors !== 0);
    expect(failed.map((r) => `${r.workload}/${r.operation}/${r.gateway}: ${r.failure}`), output.slice(-4000)).toEqual([]);
    expect(results.failures, output.slice(-4000)).toEqual([]);
    expect(exitCode, output.slice(-4000)).toBe(0);
  });

  it('measures every gateway on every operation of both workloads', () => {
    const operations = new Set(results.runs.map((r) => `${r.workload}/${r.operation}`));
    expect([...operations].filter((o) => o.startsWith('ali/'))).toHaveLength(3);
    expect([...operations].filter((o) => o.startsWith('gateway-bound/')).sort()).toEqual(['gateway-bound/heavyNested', 'gateway-bound/searchUnion']);
    for (const op of operations) {
      const workload = op.split('/')[0] as keyof typeof GATEWAYS;
      expect(results.runs.filter((r) => `${r.workload}/${r.operation}` === op).map((r) => r.gateway).sort()).toEqual([...GATEWAYS[workload]].sort());
    }
    // Every response was checked against the expected answer.
    for (const run of results.runs) expect(run.responsesChecked).toBeGreaterThan(0);
  });

  // The @defer rows, apart from the others: ours with @defer came in parts that add up to stock's
  // answer without it, and every row has its two times and its ratios to the whole answers.
  it('times the @defer operation of both workloads: ours with @defer, ours and stock without it', () => {
    expect(results.defer.map((r) => `${r.workload}/${r.operation}/${r.variant}`).sort()).toEqual(
      ['ali/detailsDeferred', 'ali/joinsDeferred', 'gateway-bound/reviewsDeferred'].flatMap((op) => ['ours-defer', 'ours', 'apollo-gateway'].map((v) => `${op}/${v}`)).sort(),
    );
    for (const run of results.defer) {
      const cell = `${run.workload}/${run.operation}/${run.variant}`;
      expect(run.correct && run.errors === 0, `${cell}: ${run.failure}`).toBe(true);
      expect(run.responsesChecked, cell).toBeGreaterThan(0);
      for (const key of ['firstPayloadP50Ms', 'lastPayloadP50Ms', 'firstPayloadP95Ms', 'lastPayloadP95Ms'] as const) {
        expect(Number.isFinite(run[key]) && run[key] > 0, `${cell} ${key}`).toBe(true);
      }
      expect(run.firstPayloadP50Ms).toBeLessThanOrEqual(run.lastPayloadP50Ms);
      if (run.variant === 'ours-defer') expect(run.payloadsPerResponse, cell).toBeGreaterThanOrEqual(2);
      else expect(run.payloadsPerResponse, cell).toBe(1);
      for (const key of ['firstVsOursWhole', 'lastVsOursWhole', 'firstVsStockWhole', 'lastVsStockWhole'] as const) {
        expect(run[key], `${cell} ${key}`).toBeGreaterThan(0);
      }
      if (run.variant === 'apollo-gateway') expect(run.lastVsStockWhole).toBe(1);
      for (const sample of run.rounds) expect(sample.loadAverage1m).toBeGreaterThanOrEqual(0);
      }
    });

  it('measures the cached gateway apart, with real writes during the window and no stale answer', () => {
    expect(results.runs.map((r) => r.gateway)).not.toContain('ours-cache');
    expect(results.settings.writeEvery).toBe(20);
    expect(results.cacheRuns.map((r) => `${r.workload}/${r.operation}`).sort()).toEqual(['ali/dashboard', 'ali/municipalities']);
    for (const run of results.cacheRuns) {
      const what = `${run.operation}: ${run.failure}`;
      expect(run, what).toEqual(
        expect.objectContaining({ gateway: 'ours-cache', writeEvery: 20, writeVisible: true, correct: true, staleAnswers: 0, wrongAnswers: 0, errors: 0, write: expect.stringContaining('changeAdoptionStatus') }),
      );
      expect(run.writes, what).toBeGreaterThanOrEqual(2);
      expect(run.reads, what).toBeGreaterThan(run.writes * 19);
      // Reads begun after a write and over before the next: the stale check judged some.
      expect(run.staleChecked, what).toBeGreaterThan(0);
      // Writes invalidate the response cache during the window, and reads between them hit it.
      expect(run.responseHitRatio, what).toBeGreaterThan(0);
      expect(run.responseHitRatio, what).toBeLessThan(1);
      expect(run.staleRejections, what).toBeGreaterThan(0);
      expect(run.rpsVsStockUncached, what).toBeGreaterThan(0);
      for (const key of ['rps', 'p50Ms', 'p99Ms', 'cpuMsPerRequest'] as const) expect(Number.isFinite(run[key]) && run[key] > 0, `${what} ${key}`).toBe(true);
    }
  });

  it('writes latest.json in its declared shape, and latest.md', async () => {
    expect(results.machine).toEqual(
      expect.objectContaining({ cpuModel: expect.any(String), cores: expect.any(Number), memoryGb: expect.any(Number), node: process.version }),
    );
    for (const run of results.runs) {
      expect(run).toEqual(
        expect.objectContaining({
          workload: expect.stringMatching(/^(ali|gateway-bound)$/),
          operation: expect.any(String),
          gateway: expect.stringMatching(/^(ours|ours-dedupe|apollo-gateway|hive-gateway)$/),
          rps: expect.any(Number),
          p50Ms: expect.any(Number),
          p95Ms: expect.any(Number),
          p99Ms: expect.any(Number),
          cpuMsPerRequest: expect.any(Number),
          peakRssMb: expect.any(Number),
          errors: expect.any(Number),
          correct: expect.any(Boolean),
        }),
      );
      for (const key of ['rps', 'p50Ms', 'p95Ms', 'p99Ms', 'cpuMsPerRequest', 'peakRssMb'] as const) {
        expect(Number.isFinite(run[key]) && run[key] > 0, `${run.workload}/${run.operation}/${run.gateway} ${key}`).toBe(true);
      }
      // Measured, but it may round to 0 ms: with de-duplication on, the gateway shares identical
      // in-flight fetches, and a quick run's few requests leave the subgraphs almost nothing to do.
      expect(Number.isFinite(run.subgraphsCpuMsPerRequest) && run.subgraphsCpuMsPerRequest >= 0, `${run.workload}/${run.operation}/${run.gateway} subgraphsCpuMsPerRequest`).toBe(true);
      expect(Number.isInteger(run.errors)).toBe(true);
      // Every correct cell has its ratios to stock's in the same run (stock's own are 1).
      for (const key of ['rpsVsApollo', 'cpuVsApollo', 'p99VsApollo', 'rssVsApollo'] as const) {
        expect(run[key], `${run.workload}/${run.operation}/${run.gateway} ${key}`).toBeGreaterThan(0);
        if (run.gateway === 'apollo-gateway') expect(run[key]).toBe(1);
      }
      // MongoDB commands are counted for the ALI workload only.
      expect(run.mongoCommandsPerOperation === null).toBe(run.workload === 'gateway-bound');
      // The database server here is the test run's (MONGODB_URI), not the host's: its CPU is not attributed.
      expect(run.databaseCpuMsPerRequest).toBeNull();
    }
    const markdown = await readFile(path.join(outDir, 'latest.md'), 'utf8');
    expect(markdown).toContain('| gateway | req/s | req/s vs stock |');
    expect(markdown).toContain('| p99 vs stock |');
    expect(markdown).toContain('| RSS vs stock |');
    expect(markdown).toContain(results.machine.cpuModel);
    expect(markdown).toContain('npm run bench -- --quick');
    expect(markdown).toContain('## @defer: time to first and to last payload');
    expect(markdown).toContain('| ours, with @defer (multipart) |');
    expect(markdown).toContain('| operation | req/s | vs stock uncached |');
  });
});
