/**
 * The README's commands as a user runs them: `npm run seed` is idempotent, and `npm start` brings
 * up the embedded database, the four subgraphs and the gateway, answers the README's example
 * query with the published figures, stops cleanly on Ctrl-C, and keeps its data across restarts.
 */
import { spawn, execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { inject, describe, expect, it } from 'vitest';
import { freePort } from '../../lib/dbServer.ts';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '..', '..');
const tsx = path.join(root, 'node_modules', '.bin', 'tsx');

describe('npm run seed', () => {
  it('loads everything once; a second run changes nothing', async () => {
    const env = { ...process.env, MONGODB_URI: inject('mongoUri'), MONGODB_DB_PREFIX: `seed${Date.now().toString(36)}` };
    const first = await run(tsx, ['scripts/seed.ts'], { cwd: root, env });
    expect(first.stdout).toMatch(/municipalities: 1181 inserted, 0 already there/);
    expect(first.stdout).toMatch(/funded_projects: 10 inserted, 0 already there/);
    const second = await run(tsx, ['scripts/seed.ts'], { cwd: root, env });
    expect(second.stdout).not.toMatch(/: [1-9]\d* inserted/);
    expect(second.stdout).toMatch(/municipalities: 0 inserted, 1181 already there/);
    const reset = await run(tsx, ['scripts/seed.ts', '--reset'], { cwd: root, env });
    expect(reset.stdout).toMatch(/municipalities: 1181 inserted/);
    // leave no databases behind
    const { connect } = await import('../../lib/mongo.ts');
    const client = await connect(inject('mongoUri'));
    for (const n of ['alliances', 'governance', 'funding', 'reuse']) await client.db(`${env.MONGODB_DB_PREFIX}_${n}`).dropDatabase();
    await client.close();
  }, 120_000);
});

async function startOnce(env: NodeJS.ProcessEnv): Promise<{ output: string; answer: unknown; exitCode: number | null }> {
  const child = spawn(tsx, ['scripts/start.ts'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 120_000;
  while (!output.includes('ALI Graph is up')) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`npm start did not come up:\n${output}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const res = await fetch(`http://127.0.0.1:${env.GATEWAY_PORT}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: '{ alliance(id: "ali-cn") { smallMemberCount } networkSummary { memberCount smallMemberCount } fundingSource(id: "cipe-19-2004") { amount } }' }),
  });
  const answer = await res.json();
  child.kill('SIGINT');
  return { output, answer, exitCode: await exited };
}

describe('npm start', () => {
  it('runs the whole system on the embedded database, stops on Ctrl-C and keeps its data', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'ali-start-'));
    try {
      const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, LOG_LEVEL: 'info' };
      delete env.MONGODB_URI;
      for (const name of ['GATEWAY', 'ALLIANCES', 'GOVERNANCE', 'FUNDING', 'REUSE']) env[`${name}_PORT`] = String(await freePort());
      const first = await startOnce(env);
      expect(first.output).toContain('database: embedded FerretDB');
      expect(first.output).toContain(`gateway     http://127.0.0.1:${env.GATEWAY_PORT}/graphql `);
      expect(first.output).toContain('alliances: seeded');
      expect(first.answer).toEqual({
        data: {
          // The README's example: ALI Cuneo has 210 small member Comuni (docs/data.md, which Comuni
          // are members). Broken once to prove it: with Alliance.smallMemberCount answering one more
          // (subgraphs/alliances/resolvers), this fails; the old `expect.any(Number)` passed.
          alliance: { smallMemberCount: 210 },
          networkSummary: { memberCount: 1072, smallMemberCount: 1004 },
          fundingSource: { amount: '3890700.00' },
        },
      });
      expect(first.exitCode).toBe(0);
      const second = await startOnce(env);
      expect(second.output).not.toContain('seeded');
      expect(second.answer).toEqual(first.answer);
      expect(second.exitCode).toBe(0);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 240_000);
});
