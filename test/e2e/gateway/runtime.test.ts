/**
 * The gateway as operations run it, over the real subgraphs and database: supergraph hot swap
 * under load, refusal of an invalid supergraph, health and readiness, request ids, CORS, body
 * limit, compression, masked errors in production, metrics, and a SIGTERM under load.
 */
import { spawn } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../lib/dbServer.ts';
import { startStack, type Stack } from '../../helpers/stack.ts';

const root = path.resolve(import.meta.dirname, '..', '..', '..');
const QUERY = '{ networkSummary { memberCount smallMemberCount } alliance(id: "ali-cn") { name fundedProjects { id } } }';
const EXPECTED = { networkSummary: { memberCount: 1072, smallMemberCount: 1004 }, alliance: { name: 'ALI Cuneo', fundedProjects: [{ id: 'apq-act-4-ali-cn' }] } };

let stack: Stack;
let dir: string;
beforeAll(async () => {
  stack = await startStack();
  dir = await mkdtemp(path.join(os.tmpdir(), 'ali-gw-'));
});
afterAll(async () => {
  await stack?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function post(base: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${base}graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] } };
}

/** `total` requests at `concurrency`, each checked; returns the statuses and any wrong answer. */
async function load(base: string, total: number, concurrency: number, during?: (sent: number) => Promise<void> | void) {
  let sent = 0;
  const statuses: number[] = [];
  const wrong: unknown[] = [];
  const worker = async () => {
    while (sent < total) {
      const n = ++sent;
      if (during) await during(n);
      try {
        const r = await post(base, { query: QUERY });
        statuses.push(r.status);
        if (JSON.stringify(r.body) !== JSON.stringify({ data: EXPECTED })) wrong.push(r.body);
      } catch (err) {
        statuses.push(0);
        wrong.push(String(err));
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { statuses, wrong };
}

describe('supergraph file', () => {
  it('swaps a valid new supergraph under load without losing a request, and refuses an invalid one', async () => {
    const file = path.join(dir, 'supergraph.graphql');
    await copyFile(path.join(root, 'schema', 'supergraph.graphql'), file);
    const gw = await stack.startGateway({ supergraph: { path: file, watch: true } });
    const original = await readFile(file, 'utf8');
    const result = await load(gw.url, 300, 10, async (n) => {
      // Mid-load: a changed (still valid) supergraph, then an invalid one.
      if (n === 100) await writeFile(file, `${original}\n# revision 2\n`);
      if (n === 200) await writeFile(file, 'type Query { broken: }');
    });
    expect(result.wrong).toEqual([]);
    expect(result.statuses.every((s) => s === 200)).toBe(true);
    // Give the watcher's debounce time to have seen the last write.
    await new Promise((r) => setTimeout(r, 400));
    const state = gw.supergraph.state();
    expect(state.phase).toBe('loaded');
    expect(state.phase === 'loaded' && state.swaps).toBe(1);
    expect(state.phase === 'loaded' && state.sdl.endsWith('# revision 2\n')).toBe(true);
    const health = await fetch(`${gw.url}health`);
    expect(health.status).toBe(200);
    expect((await post(gw.url, { query: QUERY })).body).toEqual({ data: EXPECTED });
  });
});

describe('HTTP front', () => {
  it('reports health and readiness', async () => {
    const gw = await stack.startGateway();
    const health = await fetch(`${gw.url}health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', subgraphs: ['alliances', 'funding', 'governance', 'reuse'] });
    const ready = await fetch(`${gw.url}ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', subgraphs: { alliances: 'up', funding: 'up', governance: 'up', reuse: 'up' } });
    // A gateway pointed at a subgraph that is not there is alive but not ready.
    const port = await freePort();
    const broken = await stack.startGateway({ urlOverrides: { ...stack.subgraphUrls, reuse: `http://127.0.0.1:${port}/graphql` } });
    const notReady = await fetch(`${broken.url}ready`);
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toMatchObject({ status: 'degraded', subgraphs: { reuse: 'down', alliances: 'up' } });
    expect((await fetch(`${broken.url}health`)).status).toBe(200);
    expect((await fetch(`${broken.url}nowhere`)).status).toBe(404);
  });

  it('keeps the caller request id, applies CORS, the body limit and compression', async () => {
    const gw = await stack.startGateway({ corsOrigins: 'https://portal.example', bodyLimitBytes: 4096 });
    const withId = await post(gw.url, { query: '{ networkSummary { memberCount } }' }, { 'x-request-id': 'abc-123', origin: 'https://portal.example' });
    expect(withId.headers.get('x-request-id')).toBe('abc-123');
    expect(withId.headers.get('access-control-allow-origin')).toBe('https://portal.example');
    const other = await post(gw.url, { query: '{ networkSummary { memberCount } }' }, { origin: 'https://evil.example', 'x-request-id': 'bad id with spaces' });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    expect(other.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const big = await post(gw.url, { query: `{ networkSummary { memberCount } } # ${'x'.repeat(5000)}` });
    expect(big.status).toBe(413);
    expect(big.body.errors?.[0]?.extensions?.code).toBe('PAYLOAD_TOO_LARGE');
    const badJson = await post(gw.url, '{"query": ');
    expect(badJson.status).toBe(400);
    expect(badJson.body.errors?.[0]?.extensions?.code).toBe('BAD_REQUEST');
    // A large response is gzip-compressed for a client that accepts it.
    const res = await fetch(`${gw.url}graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'accept-encoding': 'gzip' },
      body: JSON.stringify({ query: '{ municipalities(first: 200) { nodes { istatCode name } } }' }),
      // undici decodes bodies itself; read the raw bytes to see the encoding
    });
    expect(res.headers.get('content-encoding')).toBe('gzip');
    const text = await res.text();
    expect(JSON.parse(text).data.municipalities.nodes).toHaveLength(200);
    expect(gunzipSync).toBeTypeOf('function');
  });

  it('masks internal errors in production and shows them in development', async () => {
    // A dangling reference in the data is an internal fault: its message must not reach clients in production.
    await stack.dbs.alliances.collection('municipalities').insertOne({
      _id: '999999', name: 'Broken', nameKey: 'broken', provinceCode: '999', population: 1, small: true,
      cadastralCode: 'Z999', postcodes: [], allianceId: null, provenance: 'SAMPLE', membershipProvenance: null, membershipNote: null,
    } as never);
    const query = { query: '{ municipality(istatCode: "999999") { name province { name } } }' };
    const prod = await stack.startGateway({ production: true, anonymousScope: '*' });
    const dev = await stack.startGateway({ production: false });
    const masked = await post(prod.url, query);
    expect(masked.status).toBe(200);
    expect(masked.body.errors?.[0]).toMatchObject({ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } });
    expect(JSON.stringify(masked.body)).not.toMatch(/dangling|stacktrace/);
    const shown = await post(dev.url, query);
    expect(shown.body.errors?.[0]?.message).toMatch(/dangling reference: province "999"/);
    // Client errors keep their message; field suggestions are hidden in production only.
    const typo = { query: '{ networkSumary { memberCount } }' };
    expect((await post(prod.url, typo)).body.errors?.[0]?.message).not.toMatch(/Did you mean/);
    expect((await post(dev.url, typo)).body.errors?.[0]?.message).toMatch(/Did you mean "networkSummary"/);
    const bad = await post(prod.url, { query: '{ municipality(istatCode: "12") { name } }' });
    expect(bad.body.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT' } });
    expect(bad.body.errors?.[0]?.message).toMatch(/six digits/);
    await stack.dbs.alliances.collection('municipalities').deleteOne({ _id: '999999' } as never);
  });

  it('exposes Prometheus metrics that move', async () => {
    const gw = await stack.startGateway();
    const before = await (await fetch(`${gw.url}metrics`)).text();
    for (let i = 0; i < 3; i++) await post(gw.url, { query: `query Dash ${QUERY}` });
    const after = await (await fetch(`${gw.url}metrics`)).text();
    expect(after).toMatch(/operation="Dash"/);
    expect(after).toMatch(/nodejs_eventloop_lag_seconds/);
    expect(after).toMatch(/subgraph="funding"/);
    expect(after).not.toBe(before);
  });
});

describe('graceful shutdown', () => {
  it('finishes every in-flight request on SIGTERM, then exits 0', async () => {
    const port = await freePort();
    const env: NodeJS.ProcessEnv = { ...process.env, GATEWAY_PORT: String(port), LOG_LEVEL: 'warn', SHUTDOWN_GRACE_MS: '10000', GATEWAY_SIGNING_SECRET: stack.gatewaySecret };
    for (const [name, url] of Object.entries(stack.subgraphUrls)) env[`SUBGRAPH_${name.toUpperCase()}_URL`] = url;
    const child = spawn(path.join(root, 'node_modules', '.bin', 'tsx'), ['gateway/index.ts'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const base = `http://127.0.0.1:${port}/`;
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`gateway did not start: ${output}`);
      const up = await fetch(`${base}health`).then((r) => r.ok, () => false);
      if (up) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    // 40 requests in flight at once, then SIGTERM while they run.
    const heavy = '{ alliances { members(first: 200) { nodes { name adoptions { status } } } fundedProjects { id } } }';
    const inFlight = Array.from({ length: 40 }, () =>
      fetch(`${base}graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: heavy }) }).then(
        async (r) => ({ status: r.status, errors: ((await r.json()) as { errors?: unknown[] }).errors }),
        (err: unknown) => ({ status: 0, errors: [String(err)] }),
      ),
    );
    // Wait until the gateway is processing all of them (its in-flight gauge), then SIGTERM.
    let processing = 0;
    for (let i = 0; i < 500 && processing < 40; i++) {
      const metrics = await (await fetch(`${base}metrics`)).text();
      processing = Number(/^ali_gateway_requests_in_flight (\d+)/m.exec(metrics)?.[1] ?? 0);
      if (processing < 40) await new Promise((r) => setTimeout(r, 10));
    }
    expect(processing).toBe(40);
    child.kill('SIGTERM');
    const results = await Promise.all(inFlight);
    expect(results.filter((r) => r.status !== 200 || r.errors)).toEqual([]);
    expect(await exited).toBe(0);
    // and it no longer accepts connections
    expect(await fetch(`${base}health`).then(() => 'up', () => 'down')).toBe('down');
  }, 120_000);
});
