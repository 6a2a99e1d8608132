/**
 * Subscriptions through the federated gateway (the gateway side), over graphql-ws and SSE:
 * first against two small fixture subgraphs (test/subscriptions/fixtures: `events` owns the
 * subscription, `places` contributes fields to each event). Over the real stack: ./stack.test.ts.
 */
import { readFileSync } from 'node:fs';
import { runInNewContext } from 'node:vm';
import v8 from 'node:v8';
import { createClient as createSseClient } from 'graphql-sse';
import WebSocket from 'ws';
import type { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { connect as connectMongo } from '../../../lib/mongo.ts';
import { KeyStore } from '../../../gateway/access/keys.ts';
import { startGateway, type RunningGateway } from '../../../gateway/runtime.ts';
import { composeFixtures, MUNICIPALITIES, startFixtureSubgraph, type AdoptionEvent, type FixtureSubgraph } from './fixtures/subgraphs.ts';
import { bearer, sleep, subscribe, waitFor, wsClient, type Result } from './fixtures/clients.ts';

const operation = (name: string) => readFileSync(new URL(`./fixtures/operations/${name}.graphql`, import.meta.url), 'utf8');
const ADOPTIONS = operation('adoptions');
const PADDED = operation('padded');
const MUNICIPALITY = operation('municipality');


function adoption(seq: number, code: string, province: string, extra: Partial<AdoptionEvent> = {}): AdoptionEvent {
  return { seq, kind: 'REGISTERED', adoption: { id: `a${seq}`, province, municipality: { code } }, ...extra };
}

/** What the gateway must deliver for `adoption(seq, code, province)` selected by ADOPTIONS. */
function expected(seq: number, code: string, province: string) {
  return { data: { adoptionChanged: { seq, kind: 'REGISTERED', adoption: { id: `a${seq}`, province, municipality: { code, ...MUNICIPALITIES[code] } } } } };
}

describe('subscriptions through the gateway, fixture subgraphs', () => {
  const secret = 'fixture-signing-secret-0123456789abcdef';
  let mongo: MongoClient;
  let events: FixtureSubgraph;
  let places: FixtureSubgraph;
  let gateway: RunningGateway;
  /** Small limits, a short queue: the limit and slow-consumer tests. */
  let tight: RunningGateway;
  const keys: Record<'both' | 'placesOnly' | 'eventsOnly' | 'tight' | 'analyst' | 'cycles', string> = {} as never;
  const dbName = `t_subs_${Date.now().toString(36)}`;

  beforeAll(async () => {
    mongo = await connectMongo(inject('mongoUri'));
    const accessDb = mongo.db(dbName);
    const store = new KeyStore(accessDb, { cacheMs: 0 });
    keys.both = (await store.create({ name: 'partner-both', role: 'partner', subgraphs: ['events', 'places'] })).key;
    keys.placesOnly = (await store.create({ name: 'partner-places', role: 'partner', subgraphs: ['places'] })).key;
    keys.eventsOnly = (await store.create({ name: 'partner-events', role: 'partner', subgraphs: ['events'] })).key;
    keys.tight = (await store.create({ name: 'partner-tight', role: 'partner', subgraphs: ['events', 'places'] })).key;
    keys.analyst = (await store.create({ name: 'analyst', role: 'analyst' })).key;
    keys.cycles = (await store.create({ name: 'partner-cycles', role: 'partner', subgraphs: ['events', 'places'] })).key;
    events = await startFixtureSubgraph('events', secret);
    places = await startFixtureSubgraph('places', secret);
    const sdl = composeFixtures({ events: events.url, places: places.url });
    const common = { supergraph: { sdl }, gatewaySecret: secret, accessDb, port: 0, host: '127.0.0.1' } as const;
    gateway = await startGateway({
      ...common,
      // Analysts get a depth limit the subscription below exceeds (the operation-limits test).
      operationLimits: { ...(await import('../../../gateway/operationLimits.ts')).DEFAULT_OPERATION_LIMITS, analyst: { ...(await import('../../../gateway/operationLimits.ts')).DEFAULT_OPERATION_LIMITS.analyst, maxDepth: 2 } },
      subscriptions: { keepAliveMs: 2000, upstreamRetryAttempts: 3, upstreamRetryDelayMs: () => 100 },
    });
    tight = await startGateway({ ...common, subscriptions: { perConnection: 3, perKey: 4, maxQueuedEvents: 8, maxBufferedBytes: 1 << 30 } });
  });

  afterAll(async () => {
    await tight?.stop(0);
    await gateway?.stop(0);
    await events?.stop();
    await places?.stop();
    await mongo?.db(dbName).dropDatabase().catch(() => {});
    await mongo?.close();
  });

  it('delivers exactly one event per subscriber per publish, with the fields another subgraph contributes, and filters by argument', async () => {
    const a = wsClient(gateway, bearer(keys.both));
    const b = wsClient(gateway, { 'x-api-key': keys.both });
    const subA = subscribe(a, ADOPTIONS);
    const subB = subscribe(b, ADOPTIONS);
    const subCn = subscribe(a, ADOPTIONS, { province: 'CN' });
    await waitFor('3 upstream subscriptions', () => events.subscribers() === 3);
    // One key, one subgraph: the gateway shares one upstream connection between its subscriptions.
    expect(events.connections()).toBe(1);
    // …and says so on /metrics.
    const metrics = await (await fetch(`${gateway.url}metrics`)).text();
    expect(metrics).toMatch(/^ali_gateway_subscriptions_active 3$/m);
    expect(metrics).toMatch(/^ali_gateway_subscription_connections\{transport="websocket"\} 2$/m);
    expect(metrics).toMatch(/^ali_gateway_subscription_subgraph_connections 1$/m);
    places.httpCalls.length = 0;
    events.publish(adoption(1, '001272', 'TO'));
    events.publish(adoption(2, '004078', 'CN'));
    await waitFor('the events', () => subA.results.length >= 2 && subB.results.length >= 2 && subCn.results.length >= 1);
    await sleep(200); // nothing more arrives
    expect(subA.results).toEqual([expected(1, '001272', 'TO'), expected(2, '004078', 'CN')]);
    expect(subB.results).toEqual([expected(1, '001272', 'TO'), expected(2, '004078', 'CN')]);
    expect(subCn.results).toEqual([expected(2, '004078', 'CN')]);
    // Municipality fields came from `places`, asked as the subscriber (signed caller), once per event and subscriber.
    // (Identical concurrent entity fetches of one caller share one request: 2 to 5 requests for 5 resolutions.)
    const entityCalls = places.httpCalls.filter((c) => c.query.includes('_entities'));
    expect(entityCalls.length).toBeGreaterThanOrEqual(2);
    expect(entityCalls.length).toBeLessThanOrEqual(5);
    expect(new Set(entityCalls.map((c) => `${c.caller.role}:${String(c.caller.read)}`))).toEqual(new Set(['partner:events,places']));
    expect(events.wsSubscriptions.at(-1)?.caller).toMatchObject({ role: 'partner', read: ['events', 'places'] });
    subA.dispose();
    subB.dispose();
    subCn.dispose();
    await waitFor('upstream subscriptions closed', () => events.subscribers() === 0);
    await a.dispose();
    await b.dispose();
    await waitFor('gateway released everything', () => gateway.subscriptions.stats().subscriptions === 0 && gateway.subscriptions.stats().subgraphConnections === 0);
  });

  it('serves the same subscription over SSE (graphql-sse client), and refuses bad credentials and missing scope with HTTP statuses', async () => {
    const sse = createSseClient({ url: `${gateway.url}graphql`, headers: bearer(keys.both), retryAttempts: 0 });
    const received: Result[] = [];
    const iterator = sse.iterate<Record<string, any>, unknown>({ query: ADOPTIONS, variables: { province: 'AL' } });
    const reading = (async () => {
      for await (const r of iterator) received.push(r);
    })();
    await waitFor('the SSE subscription upstream', () => events.subscribers() === 1);
    events.publish(adoption(3, '001272', 'TO')); // filtered out
    events.publish(adoption(4, '006003', 'AL'));
    await waitFor('the SSE event', () => received.length >= 1);
    await sleep(100);
    expect(received).toEqual([expected(4, '006003', 'AL')]);
    await iterator.return?.();
    await reading;
    sse.dispose();
    await waitFor('SSE subscription released', () => events.subscribers() === 0 && gateway.subscriptions.stats().eventStreams === 0);

    const post = (headers: Record<string, string>, query = ADOPTIONS) =>
      fetch(`${gateway.url}graphql`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...headers }, body: JSON.stringify({ query }) });
    const bad = await post(bearer('ali_not-a-real-key'));
    expect(bad.status).toBe(401);
    expect(((await bad.json()) as any).errors[0].extensions.code).toBe('UNAUTHENTICATED');
    const unscoped = await post(bearer(keys.placesOnly));
    expect(unscoped.status).toBe(403);
    expect(((await unscoped.json()) as any).errors[0].extensions).toMatchObject({ code: 'SUBGRAPH_NOT_SUBSCRIBED', subgraphs: ['events'] });
    // A query over SSE: one `next`, then `complete` (a GET needs a header a cross-site form cannot send, as over HTTP).
    const query = await fetch(`${gateway.url}graphql?query=${encodeURIComponent('{ municipality(code: "004078") { name } }')}`, {
      headers: { accept: 'text/event-stream', 'apollo-require-preflight': 'true', ...bearer(keys.placesOnly) },
    });
    expect(query.status).toBe(200);
    expect(await query.text()).toBe('event: next\ndata: {"data":{"municipality":{"name":"Cuneo"}}}\n\nevent: complete\ndata:\n\n');
    expect(events.subscribers()).toBe(0);
    // A subscription sent as a plain HTTP request (no event stream asked for): a client error, not a 500.
    const plain = await fetch(`${gateway.url}graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...bearer(keys.both) }, body: JSON.stringify({ query: ADOPTIONS }) });
    expect(plain.status).toBe(400);
    expect(((await plain.json()) as any).errors[0]).toMatchObject({ message: expect.stringMatching(/WebSocket.*Server-Sent Events/), extensions: { code: 'BAD_REQUEST' } });
  });

  it('shutting down ends WebSocket connections with 1001 and SSE streams with complete', async () => {
    const extra = await startGateway({ supergraph: { sdl: composeFixtures({ events: events.url, places: places.url }) }, gatewaySecret: secret, accessDb: mongo.db(dbName), port: 0, host: '127.0.0.1' });
    const client = wsClient(extra, bearer(keys.both), false);
    const sub = subscribe(client, ADOPTIONS);
    const res = await fetch(`${extra.url}graphql`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...bearer(keys.both) }, body: JSON.stringify({ query: ADOPTIONS }) });
    expect(res.status).toBe(200);
    const text = res.text();
    await waitFor('2 upstream subscriptions', () => events.subscribers() === 2);
    await extra.stop(1000);
    await sub.done;
    expect(client.closes[0]).toMatchObject({ code: 1001 });
    expect(await text).toMatch(/event: complete\ndata:\n\n$/);
    await waitFor('upstream released', () => events.subscribers() === 0);
    await client.dispose();
  });

  it('closes a WebSocket with bad credentials with 4401, and refuses a subscription outside the key\'s scope without closing', async () => {
    const bad = wsClient(gateway, bearer('ali_not-a-real-key'));
    const refused = subscribe(bad, ADOPTIONS);
    await refused.done;
    expect(bad.closes[0]).toMatchObject({ code: 4401 });
    expect(bad.closes[0]!.reason).toMatch(/UNAUTHENTICATED/);

    // Scoped to places only: the subscription field is served by `events`.
    const partner = wsClient(gateway, bearer(keys.placesOnly), false);
    const sub = subscribe(partner, ADOPTIONS);
    await sub.done;
    expect(sub.errors[0]).toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code: 'SUBGRAPH_NOT_SUBSCRIBED', subgraphs: ['events'] }) })]);
    // Scoped to events only: the selection reaches into `places` (municipality name and alliance).
    const eventsOnly = wsClient(gateway, bearer(keys.eventsOnly));
    const sub2 = subscribe(eventsOnly, ADOPTIONS);
    await sub2.done;
    expect(sub2.errors[0]).toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code: 'SUBGRAPH_NOT_SUBSCRIBED', subgraphs: ['places'] }) })]);
    // Same connection, still open: a query it may run is answered (queries and mutations work over the socket too).
    const q = subscribe(partner, MUNICIPALITY, { code: '001272' });
    await q.done;
    expect(q.results).toEqual([{ data: { municipality: { name: 'Torino', alliance: 'ALI Torino' } } }]);
    expect(partner.closes).toEqual([]);
    expect(partner.connects).toBe(1);
    // Bad documents and variables: an error message, nothing subscribed upstream.
    const invalid = subscribe(partner, 'subscription { adoptionChanged { nope } }');
    await invalid.done;
    expect((invalid.errors[0] as any)[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
    const both = wsClient(gateway, bearer(keys.both));
    const badVars = subscribe(both, ADOPTIONS, { province: 12 });
    await badVars.done;
    expect((badVars.errors[0] as any)[0].extensions.code).toBe('BAD_USER_INPUT');
    // The role's operation limits apply (this gateway gives analysts maxDepth 2).
    const analyst = wsClient(gateway, bearer(keys.analyst));
    const deep = subscribe(analyst, ADOPTIONS);
    await deep.done;
    expect((deep.errors[0] as any)[0].extensions).toMatchObject({ code: 'OPERATION_LIMIT_EXCEEDED', limit: 'maxDepth', max: 2 });
    expect(events.wsSubscriptions.filter((s) => s.caller.role === 'analyst' || s.caller.read.length === 1)).toEqual([]);
    for (const c of [bad, partner, eventsOnly, both, analyst]) await c.dispose();
  });

  it('refuses a subscription past the subscriptions per connection and per key with an error, leaving the others running', async () => {
    const one = wsClient(tight, bearer(keys.tight), false);
    const subs = [1, 2, 3].map(() => subscribe(one, ADOPTIONS));
    await waitFor('3 subscriptions', () => tight.subscriptions.stats().subscriptions === 3);
    const fourth = subscribe(one, ADOPTIONS);
    await fourth.done;
    expect(fourth.errors[0]).toEqual([expect.objectContaining({ message: expect.stringMatching(/SUBSCRIPTIONS_PER_CONNECTION/), extensions: { code: 'SUBSCRIPTION_LIMIT_EXCEEDED', limit: 'perConnection', max: 3 } })]);
    expect(one.closes).toEqual([]);
    expect(tight.subscriptions.stats().subscriptions).toBe(3);
    for (const s of subs) s.dispose();
    await waitFor('released', () => tight.subscriptions.stats().subscriptions === 0);

    // Per key, across connections: 3 + 1 open, the fifth is refused.
    const two = wsClient(tight, bearer(keys.tight));
    const three = wsClient(tight, bearer(keys.tight));
    const open = [subscribe(two, ADOPTIONS), subscribe(two, ADOPTIONS), subscribe(two, ADOPTIONS)];
    await waitFor('3 subscriptions', () => tight.subscriptions.stats().subscriptions === 3);
    open.push(subscribe(three, ADOPTIONS));
    await waitFor('4 subscriptions', () => tight.subscriptions.stats().subscriptions === 4);
    const fifth = subscribe(three, ADOPTIONS);
    await fifth.done;
    expect(fifth.errors[0]).toEqual([expect.objectContaining({ message: expect.stringMatching(/SUBSCRIPTIONS_PER_KEY/), extensions: { code: 'SUBSCRIPTION_LIMIT_EXCEEDED', limit: 'perKey', max: 4 } })]);
    expect(two.closes).toEqual([]);
    expect(three.closes).toEqual([]);
    for (const s of open) s.dispose();
    await two.dispose();
    await one.dispose();
    await three.dispose();
    await waitFor('released', () => tight.subscriptions.stats().subscriptions === 0 && events.subscribers() === 0);
  });

  it('closes a consumer that stops reading with 4413 once its queue is full, without buffering the rest', async () => {
    const socket = new WebSocket(`${tight.url.replace(/^http/, 'ws')}graphql`, 'graphql-transport-ws');
    const messages: string[] = [];
    const closed = new Promise<{ code: number; reason: string }>((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    socket.on('message', (m) => void messages.push(m.toString()));
    await new Promise((r) => socket.once('open', r));
    socket.send(JSON.stringify({ type: 'connection_init', payload: bearer(keys.tight) }));
    await waitFor('ack', () => messages.some((m) => m.includes('connection_ack')));
    socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: PADDED } }));
    await waitFor('upstream subscription', () => events.subscribers() === 1);
    // Stop reading: the kernel buffers fill, then the gateway's queue (8 events).
    (socket as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();
    const padding = 'x'.repeat(256 * 1024);
    for (let seq = 1; seq <= 200; seq++) {
      events.publish(adoption(seq, '001272', 'TO', { padding }));
      if (seq % 10 === 0) await sleep(5);
    }
    await waitFor('the gateway to drop the slow subscription', () => tight.subscriptions.stats().subscriptions === 0, 10_000);
    (socket as unknown as { _socket: { resume(): void } })._socket.resume();
    const close = await closed;
    expect(close).toEqual({ code: 4413, reason: expect.stringMatching(/^Slow consumer/) });
    const delivered = messages.filter((m) => m.includes('"next"')).length;
    // Some events reached the socket before the client stopped reading; far from all 200.
    expect(delivered).toBeGreaterThan(0);
    expect(delivered).toBeLessThan(200);
    await waitFor('upstream released', () => events.subscribers() === 0);
  });

  it('reconnects to a restarted subgraph, and ends subscriptions with SUBGRAPH_UNAVAILABLE when it stays down', async () => {
    const client = wsClient(gateway, bearer(keys.both));
    const sub = subscribe(client, ADOPTIONS);
    await waitFor('upstream subscription', () => events.subscribers() === 1);
    await events.restart(150);
    await waitFor('resubscribed after the restart', () => events.subscribers() === 1);
    events.publish(adoption(10, '004078', 'CN'));
    await waitFor('the event after the restart', () => sub.results.length === 1);
    expect(sub.results).toEqual([expected(10, '004078', 'CN')]);
    expect(sub.completed).toBe(false);

    // Down for good: 3 attempts 100 ms apart, then an error result and `complete`.
    const down = Date.now();
    await events.stop();
    await sub.done;
    const tookMs = Date.now() - down;
    expect(sub.completed).toBe(true);
    expect(sub.results.slice(1)).toEqual([
      { errors: [expect.objectContaining({ extensions: expect.objectContaining({ code: 'SUBGRAPH_UNAVAILABLE', serviceName: 'events' }) })] },
    ]);
    expect(tookMs).toBeLessThan(3000);
    expect(client.closes).toEqual([]);
    await events.start();
    await client.dispose();
    await waitFor('released', () => gateway.subscriptions.stats().subscriptions === 0 && gateway.subscriptions.stats().subgraphConnections === 0);
  });

  it('1,000 connect/subscribe/disconnect cycles leave no open handles and bounded heap', async () => {
    // Run with --expose-gc or not: V8 exposes gc to a new context once the flag is set.
    v8.setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const cycle = async () => {
      const client = wsClient(gateway, bearer(keys.cycles));
      events.wsSubscriptions.length = 0; // the fixture's record is not the gateway's memory
      const sub = subscribe(client, ADOPTIONS);
      await waitFor('upstream subscription', () => events.wsSubscriptions.length === 1 && events.subscribers() === 1);
      sub.dispose();
      await client.dispose();
      await waitFor(() => `teardown: ${JSON.stringify(gateway.subscriptions.stats())}, ${events.subscribers()} upstream`, () => events.subscribers() === 0 && gateway.subscriptions.stats().websockets === 0 && gateway.subscriptions.stats().subgraphConnections === 0);
    };
    const settle = async () => {
      await waitFor('all sockets closed', () => events.connections() === 0);
      await sleep(50);
      gc();
      gc();
    };
    for (let i = 0; i < 50; i++) await cycle(); // warm-up: caches, JIT, pools
    await settle();
    const handlesBefore = process.getActiveResourcesInfo();
    const heapBefore = process.memoryUsage().heapUsed;
    const started = Date.now();
    for (let i = 0; i < 1000; i++) await cycle();
    const ms = Date.now() - started;
    await settle();
    const handlesAfter = process.getActiveResourcesInfo();
    const heapAfter = process.memoryUsage().heapUsed;
    const count = (list: string[]) => list.reduce<Record<string, number>>((acc, r) => ({ ...acc, [r]: (acc[r] ?? 0) + 1 }), {});
    console.log(
      `1000 cycles in ${ms} ms; handles ${handlesBefore.length} -> ${handlesAfter.length} ${JSON.stringify(count(handlesAfter))}; heap ${(heapBefore / 1048576).toFixed(1)} -> ${(heapAfter / 1048576).toFixed(1)} MiB`,
    );
    // No growth: sockets (client, gateway and subgraph ends) and timers all went away with their cycle.
    expect(count(handlesAfter)['TCPSocketWrap'] ?? 0).toBeLessThanOrEqual(count(handlesBefore)['TCPSocketWrap'] ?? 0);
    expect(count(handlesAfter)['Timeout'] ?? 0).toBeLessThanOrEqual((count(handlesBefore)['Timeout'] ?? 0) + 1);
    expect(handlesAfter.length).toBeLessThanOrEqual(handlesBefore.length + 2);
    // Bound: 5 MiB over 1,000 cycles (5 KiB per cycle) after a full collection.
    expect(heapAfter - heapBefore).toBeLessThan(5 * 1024 * 1024);
    expect(gateway.subscriptions.stats()).toEqual({ websockets: 0, eventStreams: 0, subscriptions: 0, subgraphConnections: 0 });
  }, 120_000);
});
