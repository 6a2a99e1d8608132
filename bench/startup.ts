/**
 * `npx tsx bench/startup.ts [runs]`: start-up time and memory of the gateway and of one subgraph,
 * run from the TypeScript sources through tsx (as the image did before) and compiled (`node
 * dist/...`, as it does now). Builds dist/ first with `npm run build`.
 *
 * Each run starts a fresh process and polls its /health every 5 ms; start-up is the time from
 * spawn to the first 200, RSS is the process's VmRSS (/proc, so Linux only) at that moment.
 * tsx caches its transforms in the temp folder: "tsx, cold" gives every run an empty temp
 * folder (a new container, whose file system starts empty), "tsx, warm" reuses one after a first
 * run that is not counted. The subgraph runs against the embedded FerretDB with seeding off, so
 * both variants do the same database work (connect, create indexes). Prints medians.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { build } from '../scripts/build.ts';
import { startDbServer } from '../lib/dbServer.ts';

const root = path.resolve(import.meta.dirname, '..');
const runs = Number(process.argv[2] ?? 7);

interface Sample {
  readonly ms: number;
  readonly rssMiB: number;
}

function rssMiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? NaN) / 1024;
}

async function startOnce(args: string[], port: number, env: NodeJS.ProcessEnv): Promise<Sample> {
  const started = performance.now();
  const child = spawn(process.execPath, args, { cwd: root, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  try {
    for (let i = 0; i < 6000; i++) {
      if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}: ${stderr}`);
      const ok = await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.status === 200, () => false);
      if (ok) return { ms: performance.now() - started, rssMiB: rssMiB(child.pid!) };
      await new Promise((r) => setTimeout(r, 5));
    }
    throw new Error('not healthy within 30 s');
  } finally {
    child.kill('SIGKILL');
    await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function measure(label: string, args: string[], port: number, env: NodeJS.ProcessEnv, cold: boolean) {
  const samples: Sample[] = [];
  const warmTmp = mkdtempSync(path.join(os.tmpdir(), 'ali-startup-'));
  try {
    if (!cold) await startOnce(args, port, { ...env, TMPDIR: warmTmp });
    for (let i = 0; i < runs; i++) {
      const tmp = cold ? mkdtempSync(path.join(os.tmpdir(), 'ali-startup-')) : warmTmp;
      try {
        samples.push(await startOnce(args, port, { ...env, TMPDIR: tmp }));
      } finally {
        if (cold) rmSync(tmp, { recursive: true, force: true });
      }
    }
  } finally {
    rmSync(warmTmp, { recursive: true, force: true });
  }
  const ms = samples.map((s) => s.ms);
  const rss = samples.map((s) => s.rssMiB);
  console.log(
    `${label.padEnd(28)} start-up median ${median(ms).toFixed(0)} ms (min ${Math.min(...ms).toFixed(0)}, max ${Math.max(...ms).toFixed(0)}), ` +
      `RSS median ${median(rss).toFixed(1)} MiB (min ${Math.min(...rss).toFixed(1)}, max ${Math.max(...rss).toFixed(1)})`,
  );
}

await build();
const db = await startDbServer({ dataDir: mkdtempSync(path.join(os.tmpdir(), 'ali-startup-db-')), ferretdbBin: process.env.FERRETDB_BIN, root, log: () => {} });
try {
  const base = { PATH: process.env.PATH, NODE_ENV: 'production', LOG_LEVEL: 'warn', HOST: '127.0.0.1' };
  // Production refuses to start without an explicit ANONYMOUS_SCOPE.
  const gatewayEnv = { ...base, GATEWAY_PORT: '4310', SUPERGRAPH_WATCH: 'false', ANONYMOUS_SCOPE: '*' };
  const subgraphEnv = {
    ...base,
    ALLIANCES_PORT: '4311',
    MONGODB_URI: db.uri,
    MONGODB_DB_PREFIX: 'startup',
    SEED_ON_START: 'false',
    GATEWAY_SIGNING_SECRET: 'startup-measurement-secret-0123456789',
  };
  console.log(`${runs} runs each, Node ${process.version}, ${os.cpus().length} CPUs, load average ${os.loadavg()[0]!.toFixed(2)}`);
  for (const [name, entry, port, env] of [
    ['gateway', 'gateway/index', 4310, gatewayEnv],
    ['alliances subgraph', 'subgraphs/alliances/index', 4311, subgraphEnv],
  ] as const) {
    await measure(`${name}, tsx, cold`, ['--import', 'tsx', `${entry}.ts`], port, env, true);
    await measure(`${name}, tsx, warm`, ['--import', 'tsx', `${entry}.ts`], port, env, false);
    await measure(`${name}, node dist`, [`dist/${entry}.js`], port, env, true);
  }
} finally {
  await db.stop();
}
