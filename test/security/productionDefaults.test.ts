/**
 * Production defaults that are safe without configuration: with NODE_ENV=production the gateway
 * refuses to start until ANONYMOUS_SCOPE says what anonymous callers may read, allows no browser
 * origin unless CORS_ORIGINS names some, serves /metrics on a port of its own (or, on the API
 * port, to admin keys only), and /ready says whether it is ready without naming any subgraph.
 * Development keeps today's conveniences.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../lib/config.ts';
import type { RunningGateway } from '../../gateway/runtime.ts';
import { startStack, type Stack } from '../helpers/stack.ts';

const root = path.resolve(import.meta.dirname, '..', '..');
let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Runs gateway/index.ts with `env`; resolves with its exit code and output, or 'listening' once /health answers. */
async function runGatewayCli(env: Record<string, string>): Promise<{ outcome: number | 'listening'; output: string }> {
  const port = await freePort();
  const childEnv: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, GATEWAY_PORT: String(port), LOG_LEVEL: 'info', GATEWAY_SIGNING_SECRET: stack.gatewaySecret, METRICS_PORT: '0', ...env };
  for (const [name, url] of Object.entries(stack.subgraphUrls)) childEnv[`SUBGRAPH_${name.toUpperCase()}_URL`] = url;
  const child = spawn(process.execPath, ['--import', 'tsx', 'gateway/index.ts'], { cwd: root, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number>((resolve) => child.once('exit', (code) => resolve(code ?? -1)));
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) return { outcome: await exited, output };
    if (await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok, () => false)) {
      child.kill('SIGTERM');
      await exited;
      return { outcome: 'listening', output };
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  child.kill('SIGKILL');
  throw new Error(`the gateway neither started nor exited: ${output}`);
}

describe('ANONYMOUS_SCOPE in production', () => {
  it('the gateway refuses to start without it, and starts with it', async () => {
    const refused = await runGatewayCli({ NODE_ENV: 'production' });
    expect(refused.outcome, refused.output).toBe(1);
    expect(refused.output).toMatch(/ANONYMOUS_SCOPE/);
    const started = await runGatewayCli({ NODE_ENV: 'production', ANONYMOUS_SCOPE: 'none' });
    expect(started.outcome, started.output).toBe('listening');
  }, 120_000);

  it('is refused by startGateway too, and accepted as none, * or a list', async () => {
    await expect(stack.startGateway({ production: true })).rejects.toThrow(ConfigError);
    await expect(stack.startGateway({ production: true })).rejects.toThrow(/ANONYMOUS_SCOPE/);
    for (const ANONYMOUS_SCOPE of ['none', '*', 'alliances,reuse']) {
      expect(loadConfig({ NODE_ENV: 'production', ANONYMOUS_SCOPE }).ANONYMOUS_SCOPE).toEqual(ANONYMOUS_SCOPE === 'none' ? [] : ANONYMOUS_SCOPE === '*' ? '*' : ['alliances', 'reuse']);
    }
    expect(loadConfig({ NODE_ENV: 'production' }).ANONYMOUS_SCOPE).toBeUndefined();
  });
});

describe('production gateway', () => {
  let prod: RunningGateway;
  let admin: string;
  let partner: string;
  beforeAll(async () => {
    prod = await stack.startGateway({ production: true, anonymousScope: '*', metricsPort: 0 });
    admin = await stack.createKey({ name: 'admin-prod', role: 'admin' });
    partner = await stack.createKey({ name: 'partner-prod', role: 'partner', subgraphs: ['reuse'] });
  });

  it('allows no browser origin unless CORS_ORIGINS names it', async () => {
    const headers = { origin: 'https://evil.example', 'content-type': 'application/json' };
    const answer = await fetch(`${prod.url}graphql`, { method: 'POST', headers, body: '{"query":"{ __typename }"}' });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('access-control-allow-origin')).toBeNull();
    const preflight = await fetch(`${prod.url}graphql`, { method: 'OPTIONS', headers: { ...headers, 'access-control-request-method': 'POST' } });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    expect(loadConfig({ NODE_ENV: 'production', ANONYMOUS_SCOPE: '*' }).CORS_ORIGINS).toBe('none');
  });

  it('serves /metrics on a port of its own (9464 by default), not on the API port', async () => {
    expect(loadConfig({ NODE_ENV: 'production', ANONYMOUS_SCOPE: '*' }).METRICS_PORT).toBe(9464);
    expect((await fetch(`${prod.url}metrics`)).status).toBe(404);
    expect(prod.metricsUrl).not.toBe(`${prod.url}metrics`);
    const metrics = await fetch(prod.metricsUrl);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(/ali_gateway_requests_in_flight/);
    // That port serves nothing else.
    expect((await fetch(new URL('/graphql', prod.metricsUrl))).status).toBe(404);
  });

  it('serves /metrics on the API port to admin keys only when told to', async () => {
    const gw = await stack.startGateway({ production: true, anonymousScope: '*', metricsPort: 'gateway' });
    expect(gw.metricsUrl).toBe(`${gw.url}metrics`);
    expect((await fetch(gw.metricsUrl)).status).toBe(401);
    expect((await fetch(gw.metricsUrl, { headers: { authorization: `Bearer ${partner}` } })).status).toBe(403);
    const allowed = await fetch(gw.metricsUrl, { headers: { authorization: `Bearer ${admin}` } });
    expect(allowed.status).toBe(200);
    expect(await allowed.text()).toMatch(/ali_gateway_requests_in_flight/);
  });

  it('/ready says ready or not and names no subgraph', async () => {
    const ready = await fetch(`${prod.url}ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });
  });
});

describe('development defaults', () => {
  it('keep CORS open, /metrics and a detailed /ready on the API port, and anonymous reads of everything', async () => {
    const dev = await stack.startGateway({ production: false });
    const answer = await fetch(`${dev.url}graphql`, { method: 'POST', headers: { origin: 'https://portal.example', 'content-type': 'application/json' }, body: '{"query":"{ __typename }"}' });
    expect(answer.headers.get('access-control-allow-origin')).toBe('*');
    expect(dev.metricsUrl).toBe(`${dev.url}metrics`);
    expect((await fetch(dev.metricsUrl)).status).toBe(200);
    expect(await (await fetch(`${dev.url}ready`)).json()).toEqual({ status: 'ready', subgraphs: { alliances: 'up', funding: 'up', governance: 'up', reuse: 'up' } });
    const cfg = loadConfig({});
    expect([cfg.ANONYMOUS_SCOPE, cfg.CORS_ORIGINS, cfg.METRICS_PORT, cfg.METRICS_ACCESS]).toEqual(['*', '*', 'gateway', 'open']);
  });
});
