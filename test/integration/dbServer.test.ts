/**
 * The embedded FerretDB that `npm start`, the tests and the benchmark run: started with the Go
 * garbage collector target lib/dbServer.ts sets (FerretDB 1.24 decodes every document it scans,
 * and the default target spends a large share of its CPU collecting), unless GOGC is set; and
 * stopped with its process.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FERRETDB_GOGC, startDbServer } from '../../lib/dbServer.ts';
import { connect } from '../../lib/mongo.ts';

const root = path.resolve(import.meta.dirname, '..', '..');
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

function environment(pid: number): Record<string, string> {
  const raw = readFileSync(`/proc/${pid}/environ`, 'utf8');
  return Object.fromEntries(raw.split('\0').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
}

async function start() {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ali-dbserver-'));
  dirs.push(dir);
  return startDbServer({ dataDir: dir, ferretdbBin: process.env.FERRETDB_BIN, root, log: () => {} });
}

// Only where the tests run on the embedded FerretDB (not with MONGODB_URI).
describe.skipIf(Boolean(process.env.MONGODB_URI))('embedded FerretDB', () => {
  it('runs with GOGC=400 unless GOGC is set, answers, and stops with its process', async () => {
    const saved = process.env.GOGC;
    delete process.env.GOGC;
    const server = await start();
    try {
      expect(server.kind).toBe('ferretdb');
      expect(environment(server.pid!).GOGC).toBe(FERRETDB_GOGC);
      const client = await connect(server.uri);
      await client.db('t').collection('c').insertOne({ _id: 'x' as never, n: 1 });
      expect(await client.db('t').collection('c').countDocuments()).toBe(1);
      await client.close();
    } finally {
      await server.stop();
    }
    expect(() => readFileSync(`/proc/${server.pid}/stat`)).toThrow();

    process.env.GOGC = '150';
    const tuned = await start();
    try {
      expect(environment(tuned.pid!).GOGC).toBe('150');
    } finally {
      await tuned.stop();
      if (saved === undefined) delete process.env.GOGC;
      else process.env.GOGC = saved;
    }
  }, 60_000);
});
