/**
 * GET /ready (gateway/routes/ready.ts) against real HTTP servers on port 0 standing for
 * subgraphs: each probed with a signed `{ __typename }` POST; one that answers is up, one that
 * hangs is down within the probe's 2 s, one that answers something else is down, a subgraph with
 * several instances is up while one of them answers; without a supergraph, 503.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { GATEWAY_TOKEN_HEADER } from '../../../lib/access.ts';
import { readyRoute } from '../../../gateway/routes/ready.ts';
import type { SupergraphSourceManager, SupergraphState } from '../../../gateway/supergraph.ts';

const servers: Server[] = [];
afterAll(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
});

/** A subgraph stand-in: `answer` says what to send for each request body and token (undefined: never answer). */
async function subgraph(answer: (body: string, token: string | undefined) => { status: number; body: string } | undefined): Promise<string> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const a = answer(Buffer.concat(chunks).toString('utf8'), req.headers[GATEWAY_TOKEN_HEADER] as string | undefined);
      if (!a) return;
      res.writeHead(a.status, { 'content-type': 'application/json' });
      res.end(a.body);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
}

const typename = (body: string) => (JSON.parse(body) as { query: string }).query === '{ __typename }';
const up = (body: string, token: string | undefined) =>
  typename(body) && token === 'signed:alliances' ? { status: 200, body: '{"data":{"__typename":"Query"}}' } : { status: 400, body: '{}' };

/** The gateway's /ready answer for these subgraphs (name → URL, several comma-separated). */
async function ready(subgraphs: Record<string, string> | null): Promise<{ status: number; body: unknown; ms: number }> {
  const state: SupergraphState = subgraphs
    ? { phase: 'loaded', sdl: '', subgraphs: Object.entries(subgraphs).map(([name, url]) => ({ name, url })), loadedAt: new Date(), swaps: 0 }
    : { phase: 'loading' };
  const route = readyRoute({
    supergraph: { state: () => state } as unknown as SupergraphSourceManager,
    sign: (_caller, name) => `signed:${name}`,
    detail: true,
  });
  const server = createServer((req, res) => void route(req, res, { url: new URL('http://gateway/ready'), requestId: 'r', log: pino({ level: 'silent' }) }));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const started = Date.now();
  const r = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/ready`);
  return { status: r.status, body: await r.json(), ms: Date.now() - started };
}

describe('/ready', () => {
  it('is ready when every subgraph answers its signed probe', async () => {
    const alliances = await subgraph(up);
    expect(await ready({ alliances })).toMatchObject({ status: 200, body: { status: 'ready', subgraphs: { alliances: 'up' } } });
  });

  it('marks down, within the probe timeout, a subgraph that hangs, answers something else or is not signed for', async () => {
    const alliances = await subgraph(up);
    const hung = await subgraph(() => undefined);
    const wrong = await subgraph(() => ({ status: 200, body: '{"data":{"__typename":"Mutation"}}' }));
    const notJson = await subgraph(() => ({ status: 200, body: 'ok' }));
    const { status, body, ms } = await ready({ alliances, funding: hung, reuse: wrong, governance: notJson });
    expect(status).toBe(503);
    expect(body).toEqual({ status: 'degraded', subgraphs: { alliances: 'up', funding: 'down', reuse: 'down', governance: 'down' } });
    expect(ms).toBeGreaterThanOrEqual(1_900);
    expect(ms).toBeLessThan(5_000);
    // The probe is signed for the subgraph it reaches: alliances' own signature only.
    const other = await subgraph((body, token) => up(body, token === 'signed:funding' ? 'signed:alliances' : undefined));
    expect(await ready({ funding: other })).toMatchObject({ status: 200 });
    expect(await ready({ reuse: other })).toMatchObject({ status: 503 });
  }, 15_000);

  it('counts a subgraph with several instances up while one answers; no supergraph is 503', async () => {
    const alliances = await subgraph(up);
    const hung = await subgraph(() => undefined);
    expect(await ready({ alliances: `${hung},${alliances}` })).toMatchObject({ status: 200, body: { status: 'ready' } });
    expect(await ready(null)).toEqual({ status: 503, body: { status: 'no supergraph loaded' }, ms: expect.any(Number) });
  }, 15_000);
});
