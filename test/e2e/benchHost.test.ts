/**
 * The benchmark's subgraph host (bench/subgraphHost.ts) starts an embedded FerretDB for the ALI
 * workload and seeds it, which takes a while. Stopped during that start-up — by a signal, or by
 * its parent (the benchmark) going away — it must stop the database server it started, not leave
 * it running.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '..', '..');
let tmp: string;
afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** Processes whose command line mentions `text`. */
function processesMentioning(text: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text)) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

async function interruptDuringStartUp(how: 'SIGTERM' | 'disconnect') {
  tmp ??= await mkdtemp(path.join(os.tmpdir(), 'ali-bench-host-'));
  const env = { ...process.env };
  delete env.MONGODB_URI; // its own embedded FerretDB
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'bench/subgraphHost.ts'), 'ali', path.join(tmp, `${how}.graphql`)], {
    cwd: root,
    env,
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let stderr = '';
  const dataDir = await new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
      const m = /SQLite files in (\S+)\)/.exec(stderr);
      if (m) resolve(m[1]!);
    });
    void exited.then(() => reject(new Error(`the host exited before starting its database:\n${stderr}`)));
  });
  // The database server is up and the host is seeding: interrupt now.
  expect(processesMentioning(dataDir).length).toBeGreaterThan(0);
  let ready = false;
  child.on('message', (m: { type: string }) => (ready ||= m.type === 'ready'));
  if (how === 'SIGTERM') child.kill('SIGTERM');
  else child.disconnect();
  const code = await exited;
  return { code, ready, dataDir, stderr };
}

// Only where the tests run on the embedded FerretDB (the host would use MONGODB_URI's server otherwise).
describe.skipIf(Boolean(process.env.MONGODB_URI))('bench/subgraphHost.ts stopped during start-up', () => {
  for (const how of ['SIGTERM', 'disconnect'] as const) {
    it(`stops its database server on ${how}`, async () => {
      // A quick machine may finish seeding before the signal lands: then start-up was not
      // interrupted, and the scenario is tried again (the database must be stopped either way).
      for (let attempt = 1; ; attempt++) {
        const { code, ready, dataDir, stderr } = await interruptDuringStartUp(how);
        expect(code, stderr).toBe(0);
        expect(processesMentioning(dataDir), stderr).toEqual([]);
        expect(existsSync(dataDir), stderr).toBe(false);
        if (!ready) break;
        expect(attempt, 'the host was ready before every interruption').toBeLessThan(3);
      }
    }, 120_000);
  }
});
