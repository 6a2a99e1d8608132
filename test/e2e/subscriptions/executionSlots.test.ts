/**
 * The production gateway with one slot for executing operations (GATEWAY_CONCURRENT_OPERATIONS=1,
 * gateway/pipeline/executions.ts) over the subscription fixtures, `places` answering after 300 ms
 * so that one query holds the slot: operations waiting for it when the gateway stops are answered
 * (HTTP) or refused with SHUTTING_DOWN (an SSE subscription, which would otherwise open after the
 * subscriptions were closed and hold the drain), and one whose client went away is not executed.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { startGateway, type RunningGateway } from '../../../gateway/runtime.ts';
import { composeFixtures, startFixtureSubgraph, type FixtureSubgraph } from './fixtures/subgraphs.ts';

const ADOPTIONS = readFileSync(new URL('./fixtures/operations/adoptions.graphql', import.meta.url), 'utf8');

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** `events` (the fixture) and a `places` stand-in answering after 300 ms; a gateway with one slot. */
async function setup(): Promise<{ events: FixtureSubgraph; gateway: RunningGateway; placesCalls: () => number; waiting: () => Promise<number> }> {
  const secret = 'fixture-signing-secret-0123456789abcdef';
  const events = await startFixtureSubgraph('events', secret);
  cleanups.push(() => events.stop());
  let calls = 0;
  const places = http.createServer((req, res) => {
    calls++;
    req.resume();
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ data: { municipality: { name: 'Torino' } } }));
    }, 300);
  });
  await new Promise<void>((r) => places.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise<void>((r) => (places.closeAllConnections(), places.close(() => r()))));
  const sdl = composeFixtures({ events: events.url, places: `http://127.0.0.1:${(places.address() as AddressInfo).port}/graphql` });
  const gateway = await startGateway({ supergraph: { sdl }, gatewaySecret: secret, concurrentOperations: 1, port: 0, host: '127.0.0.1' });
  cleanups.push(() => gateway.stop(0));
  const waiting = async () => {
    const line = (await gateway.metrics.render()).body.split('\n').find((l) => l.startsWith('ali_gateway_operations_waiting '));
    return Number(line?.split(' ')[1]);
  };
  return { events, gateway, placesCalls: () => calls, waiting };
}

const post = (gateway: RunningGateway, query: string, signal?: AbortSignal) =>
  fetch(`${gateway.url}graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }), ...(signal ? { signal } : {}) });

describe('operations waiting for a slot', () => {
  it('are answered when the gateway stops (the drain waits for them)', async () => {
    const { gateway, placesCalls, waiting } = await setup();
    const holder = post(gateway, '{ municipality(code: "001272") { name } }');
    for (let i = 0; i < 500 && placesCalls() === 0; i++) await new Promise((r) => setTimeout(r, 2));
    const queued = Array.from({ length: 5 }, (_, i) => post(gateway, `{ a${i}: adoption(id: "x${i}") { id } }`));
    for (let i = 0; i < 2000 && (await waiting()) < 5; i++) await new Promise((r) => setImmediate(r));
    expect(await waiting()).toBeGreaterThan(0);
    await gateway.stop(3000);
    expect((await holder).status).toBe(200);
    const statuses = await Promise.all(queued.map(async (p) => (await p).status));
    expect(statuses).toEqual([200, 200, 200, 200, 200]);
  });

  it('are not executed when their client went away while they waited', async () => {
    const { events, gateway, placesCalls, waiting } = await setup();
    const holder = post(gateway, '{ municipality(code: "001272") { name } }');
    for (let i = 0; i < 500 && placesCalls() === 0; i++) await new Promise((r) => setTimeout(r, 2));
    const abort = new AbortController();
    const gone = post(gateway, '{ adoption(id: "gone") { id } }', abort.signal).catch(() => 'aborted');
    for (let i = 0; i < 2000 && (await waiting()) === 0; i++) await new Promise((r) => setImmediate(r));
    expect(await waiting()).toBe(1);
    abort.abort();
    expect(await gone).toBe('aborted');
    await holder;
    await new Promise((r) => setTimeout(r, 500));
    // The client closed its connection while queued: its operation reached no subgraph.
    expect(events.httpCalls.map((c) => c.query)).toEqual([]);
  });

  it('refuse an SSE subscription with SHUTTING_DOWN when the gateway stops, within the grace period', async () => {
    const { events, gateway, placesCalls, waiting } = await setup();

    const holder = post(gateway, '{ municipality(code: "001272") { name } }');
    for (let i = 0; i < 500 && placesCalls() === 0; i++) await new Promise((r) => setTimeout(r, 2));
    expect(placesCalls()).toBe(1);

    const sse = fetch(`${gateway.url}graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: ADOPTIONS }),
    }).then(async (res) => ({ status: res.status, text: await res.text().catch((e: Error) => `<cut: ${e.message}>`) }));
    // Once it waits for the slot, stop the gateway (grace 3 s).
    for (let i = 0; i < 2000 && (await waiting()) === 0; i++) await new Promise((r) => setImmediate(r));
    expect(await waiting()).toBe(1);
    const t0 = performance.now();
    await gateway.stop(3000);
    const stopMs = performance.now() - t0;
    expect((await holder).status).toBe(200);
    const answer = await sse;
    // The holder is answered at 300 ms and the subscription refused, not opened after the close
    // (which held the drain for its whole grace period, and opened a new upstream subscription).
    expect(stopMs).toBeLessThan(1500);
    expect(answer.status).toBe(503);
    expect(JSON.parse(answer.text)).toMatchObject({ errors: [{ extensions: { code: 'SHUTTING_DOWN' } }] });
    expect(events.wsSubscriptions.length).toBe(0);
  });
});
