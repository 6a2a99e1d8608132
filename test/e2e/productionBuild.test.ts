/**
 * The production build as the image makes and runs it. The files the Dockerfile's build stage
 * copies, and only those, are staged in a folder under .cache/ (so a missing COPY fails here, and
 * a developer's dist/ is neither used nor replaced), `npm run build` runs there, and the compiled
 * subgraphs and gateway (`node dist/...`, no tsx, no TypeScript) start from the result: they seed
 * their databases, answer a query end to end with the published figures, report ready, and stop
 * cleanly on SIGTERM. The compiled code may import only production dependencies, the only ones
 * the image installs.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { cp, mkdir, rm, symlink } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { SUBGRAPH_NAMES } from '../../lib/config.ts';
import { connect } from '../../lib/mongo.ts';
import { freePort } from '../../lib/dbServer.ts';

const root = path.resolve(import.meta.dirname, '..', '..');
/** The image's /build (then /app): what the build stage copies, with the repository's node_modules. */
const stage = path.join(root, '.cache', `build-test-${process.pid}`);
const outDir = path.join(stage, 'dist');

/** Sources of the COPY instructions (not `--from`) of the Dockerfile's stage named `build`. */
function buildStageCopies(): string[] {
  const text = readFileSync(path.join(root, 'Dockerfile'), 'utf8').replace(/\\\r?\n/g, ' ');
  const stages = text.split(/^FROM\s+/m).slice(1);
  const buildStage = stages.find((st) => /^\S+\s+AS\s+build\s*$/im.test(st.split('\n')[0] ?? ''));
  if (!buildStage) throw new Error('the Dockerfile has no stage named build');
  return buildStage
    .split('\n')
    .filter((l) => /^COPY\s/i.test(l) && !/--from=/.test(l))
    .flatMap((l) => l.trim().split(/\s+/).slice(1, -1));
}
const prefix = `build${Date.now().toString(36)}`;
const secret = 'production-build-test-secret-0123456789';

interface Service {
  readonly child: ChildProcess;
  readonly url: string;
  output: string;
}
const services: Service[] = [];

/** Starts `node <args>` in `cwd` with only the environment a container would have, and waits for /health. */
async function startService(args: string[], port: number, env: Record<string, string>, cwd = stage): Promise<Service> {
  const entry = args[0]!;
  const child = spawn(process.execPath, args, {
    cwd,
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production', HOST: '127.0.0.1', LOG_LEVEL: 'info', GATEWAY_SIGNING_SECRET: secret, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const service: Service = { child, url: `http://127.0.0.1:${port}/`, output: '' };
  child.stdout?.on('data', (d: Buffer) => (service.output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (service.output += d.toString()));
  services.push(service);
  for (const deadline = Date.now() + 90_000; ; ) {
    if (child.exitCode !== null) throw new Error(`${entry} exited with ${child.exitCode}:\n${service.output}`);
    if (Date.now() > deadline) throw new Error(`${entry} not healthy within 90 s:\n${service.output}`);
    if (await fetch(`${service.url}health`).then((r) => r.status === 200, () => false)) return service;
    await new Promise((r) => setTimeout(r, 100));
  }
}

function exited(child: ChildProcess, ms: number): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`still running ${ms} ms after SIGTERM`)), ms);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

let gateway: Service;
const subgraphUrls: Record<string, string> = {};
beforeAll(async () => {
  await rm(stage, { recursive: true, force: true });
  await mkdir(stage, { recursive: true });
  // Without what .dockerignore keeps out of the build context: built output and dependencies.
  const ignored = (src: string) => /(^|[\\/])(node_modules|dist)([\\/]|$)/.test(path.relative(root, src));
  for (const source of buildStageCopies()) {
    await cp(path.join(root, source), path.join(stage, source), { recursive: true, filter: (src) => !ignored(src) });
  }
  await symlink(path.join(root, 'node_modules'), path.join(stage, 'node_modules'));
  await promisify(execFile)(process.execPath, [path.join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs'), 'scripts/build.ts'], { cwd: stage, timeout: 180_000 });
  const ports = Object.fromEntries(await Promise.all(SUBGRAPH_NAMES.map(async (n) => [n, await freePort()] as const)));
  const mongo = { MONGODB_URI: inject('mongoUri'), MONGODB_DB_PREFIX: prefix };
  // Sequentially: four processes seeding at once on two cores take longer than one after another.
  for (const name of SUBGRAPH_NAMES) {
    await startService([`dist/subgraphs/${name}/index.js`], ports[name]!, { ...mongo, [`${name.toUpperCase()}_PORT`]: String(ports[name]), SEED_ON_START: 'true' });
  }
  for (const name of SUBGRAPH_NAMES) subgraphUrls[name] = `http://127.0.0.1:${ports[name]}/graphql`;
  const gatewayPort = await freePort();
  gateway = await startService(['dist/gateway/index.js'], gatewayPort, {
    ...mongo,
    GATEWAY_PORT: String(gatewayPort),
    // Production requires the anonymous scope; /metrics gets a free port of its own.
    ANONYMOUS_SCOPE: '*',
    METRICS_PORT: '0',
    SUPERGRAPH_PATH: path.join(outDir, 'schema', 'supergraph.graphql'),
    ...Object.fromEntries(SUBGRAPH_NAMES.map((n) => [`SUBGRAPH_${n.toUpperCase()}_URL`, `http://127.0.0.1:${ports[n]}/graphql`])),
  });
}, 240_000);

afterAll(async () => {
  for (const s of services) if (s.child.exitCode === null) s.child.kill('SIGKILL');
  await rm(stage, { recursive: true, force: true });
  const client = await connect(inject('mongoUri'));
  for (const n of [...SUBGRAPH_NAMES, 'gateway']) await client.db(`${prefix}_${n}`).dropDatabase();
  await client.close();
});

describe('npm run build', () => {
  it('compiles every import to .js and copies what the services read at run time', () => {
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        if (e.isDirectory()) walk(path.join(dir, e.name));
        else files.push(path.relative(outDir, path.join(dir, e.name)));
      }
    };
    walk(outDir);
    expect(files.filter((f) => f.endsWith('.ts'))).toEqual([]);
    for (const f of files.filter((f) => f.endsWith('.js'))) {
      const text = readFileSync(path.join(outDir, f), 'utf8');
      expect(text, f).not.toMatch(/(?:from\s+|import\s*\()\s*["'][^"']+\.ts["']/);
    }
    for (const entry of ['gateway/index.js', 'scripts/seed.js', 'scripts/keys.js', ...SUBGRAPH_NAMES.map((n) => `subgraphs/${n}/index.js`)]) {
      expect(files, entry).toContain(entry);
    }
    for (const asset of ['schema/supergraph.graphql', 'gateway/access/admin.graphql', ...SUBGRAPH_NAMES.map((n) => `schema/${n}.graphql`)]) {
      expect(files, asset).toContain(asset);
    }
    for (const page of ['explorer', 'dashboard']) {
      expect(files.filter((f) => f.startsWith(`ui/dist/${page}/index`) && f.endsWith('.html')), page).not.toEqual([]);
    }
  });

  it('imports only Node built-ins and production dependencies (the image installs no others)', () => {
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const imported = new Set<string>();
    const walk = (dir: string) => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const file = path.join(dir, e.name);
        if (e.isDirectory()) walk(file);
        else if (e.name.endsWith('.js') && !file.includes(`${path.sep}ui${path.sep}dist${path.sep}`)) {
          const text = readFileSync(file, 'utf8');
          for (const m of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\(\s*)["']([^"'.][^"']*)["']/g)) imported.add(m[1]!);
        }
      }
    };
    walk(outDir);
    const packageOf = (spec: string) => (spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
    const external = [...imported].filter((s) => !s.startsWith('node:') && !builtinModules.includes(s)).map(packageOf);
    expect(external.length).toBeGreaterThan(10);
    expect([...new Set(external)].filter((p) => !(p in pkg.dependencies)).sort()).toEqual([]);
  });
});

describe('the compiled services', () => {
  it('run without tsx and answer through the gateway with the published figures', async () => {
    for (const s of services) expect(s.child.spawnargs.join(' ')).not.toMatch(/tsx|\.ts\b/);
    const res = await fetch(`${gateway.url}graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ networkSummary { memberCount smallMemberCount } alliance(id: "ali-cn") { name } fundingSource(id: "cipe-19-2004") { amount } }' }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      data: { networkSummary: { memberCount: 1072, smallMemberCount: 1004 }, alliance: { name: 'ALI Cuneo' }, fundingSource: { amount: '3890700.00' } },
    });
    // The web pages are served from the compiled tree too.
    const page = await fetch(`${gateway.url}explorer`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
  });

  it('report ready: the gateway once every subgraph answers, each subgraph once its database does', async () => {
    const ready = await fetch(`${gateway.url}ready`);
    expect(ready.status).toBe(200);
    // In production /ready names no subgraph (docs/security.md, "Safe production defaults").
    expect(await ready.json()).toEqual({ status: 'ready' });
    for (const s of services.filter((s) => s !== gateway)) {
      const r = await fetch(`${s.url}ready`);
      expect(r.status).toBe(200);
      expect(await r.json()).toMatchObject({ status: 'ready' });
    }
  });

  it('include the keys command: a key it creates is accepted by the compiled gateway', async () => {
    const env = { PATH: process.env.PATH ?? '', NODE_ENV: 'production', MONGODB_URI: inject('mongoUri'), MONGODB_DB_PREFIX: prefix };
    const keys = (...args: string[]) => promisify(execFile)(process.execPath, ['dist/scripts/keys.js', ...args], { cwd: stage, env, timeout: 60_000 });
    const created = await keys('create', '--name', 'build-test', '--role', 'analyst');
    const key = created.stdout.trim().split('\n').at(-1)!;
    expect((await keys('list')).stdout).toMatch(/^build-test\tanalyst\t/m);
    const query = async (headers: Record<string, string>) =>
      (await fetch(`${gateway.url}graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query: '{ __schema { queryType { name } } }' }) })).json();
    // Introspection is off for anonymous callers in production, on for an analyst key.
    expect(await query({})).toMatchObject({ errors: [expect.anything()] });
    expect(await query({ 'x-api-key': key })).toEqual({ data: { __schema: { queryType: { name: 'Query' } } } });
  });

  it('include the ali-gateway bin, which runs the compiled gateway where there are no sources', async () => {
    // The runtime image's layout: package.json, node_modules and dist/ (and here bin/), no .ts file.
    const runtime = path.join(stage, 'runtime');
    await mkdir(runtime);
    for (const item of ['package.json', 'dist', 'bin']) await cp(path.join(item === 'bin' ? root : stage, item), path.join(runtime, item), { recursive: true });
    await symlink(path.join(root, 'node_modules'), path.join(runtime, 'node_modules'));
    const port = await freePort();
    const urls = Object.fromEntries(SUBGRAPH_NAMES.map((n) => [`SUBGRAPH_${n.toUpperCase()}_URL`, subgraphUrls[n]!]));
    const env = { ...urls, ANONYMOUS_SCOPE: '*', METRICS_PORT: '0' };
    const bin = await startService(['bin/ali-gateway.mjs', '--supergraph', 'dist/schema/supergraph.graphql', '--port', String(port)], port, env, runtime);
    const res = await fetch(`${bin.url}graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ alliance(id: "ali-cn") { name } }' }) });
    expect(await res.json()).toEqual({ data: { alliance: { name: 'ALI Cuneo' } } });
  });

  it('stop on SIGTERM with exit code 0', async () => {
    for (const s of [gateway, ...services.filter((s) => s !== gateway)]) {
      s.child.kill('SIGTERM');
      expect(await exited(s.child, 20_000), s.output).toBe(0);
    }
  });
});
