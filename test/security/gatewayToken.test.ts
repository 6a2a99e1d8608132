/**
 * The gateway's token as the subgraphs check it: its `read` claim is a scope they enforce, it must
 * carry `exp` and `iat`, live no longer than GATEWAY_TOKEN_MAX_LIFETIME_SECONDS and not be issued
 * in the future beyond the clock skew; and a subgraph WebSocket lives no longer than its token
 * unless the gateway renews it in place (a `ping` carrying a fresh token), which the gateway does,
 * so that a partner's subscription outlives any number of tokens.
 */
import { readFileSync } from 'node:fs';
import { SignJWT } from 'jose';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { GATEWAY_TOKEN_HEADER, signGatewayToken, type Caller } from '../../lib/access.ts';
import { piedmontMunicipalities } from '../../lib/domain/registry.ts';
import { createEventBus } from '../../lib/events.ts';
import { startSubgraph, type RunningSubgraph } from '../../lib/subgraph.ts';
import { subgraphModules } from '../../subgraphs/index.ts';
import { adoptionDocs } from '../../subgraphs/reuse/data/seed.ts';
import { SubgraphConnections } from '../../gateway/subscriptions/upstream.ts';
import { startStack, TEST_LIMITS, type Stack } from '../helpers/stack.ts';

const operation = (name: string) => readFileSync(new URL(`./operations/${name}.graphql`, import.meta.url), 'utf8');
const TYPENAME = operation('typename');
const ADOPTION_CHANGED = operation('adoptionStatusChanged');
const REGISTER = operation('registerAdoption');

const PARTNER: Caller = { sub: 'partner-reuse', role: 'partner', read: ['reuse'], write: [] };
const EDITOR: Caller = { sub: 'editor-reuse', role: 'editor', read: '*', write: ['reuse'] };
const OTHER: Caller = { sub: 'someone-else', role: 'partner', read: ['reuse'], write: [] };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A Comune of `province` without a seeded adoption of Sigma Ter Piemonte. */
function freshComune(province: string): string {
  const seeded = new Set(adoptionDocs().map((a) => a._id));
  return piedmontMunicipalities().find((m) => m.provinceCode === province && !seeded.has(`sigma-ter-piemonte:${m.istatCode}`))!.istatCode;
}

async function waitFor(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

let stack: Stack;
const bus = createEventBus();
/** A reuse subgraph of its own, with no clock skew tolerated, so that expiry is exact. */
let reuse: RunningSubgraph;
let upgrades = 0;

beforeAll(async () => {
  stack = await startStack({ events: bus });
  reuse = await startSubgraph(subgraphModules.reuse, {
    db: stack.dbs.reuse,
    gatewaySecret: stack.gatewaySecret,
    limits: TEST_LIMITS,
    port: 0,
    host: '127.0.0.1',
    events: bus,
    tokenPolicy: { maxLifetimeSeconds: 120, clockSkewSeconds: 0 },
  });
  reuse.httpServer.on('upgrade', () => upgrades++);
});

/** Raw connections of the tests, ended after them. */
const sockets: WebSocket[] = [];

afterAll(async () => {
  for (const s of sockets) s.terminate();
  await reuse?.stop();
  await stack?.stop();
  await bus.close();
});

/** A token signed with the stack's secret, with the given claims and times (seconds from now). */
async function craft(claims: { read?: unknown; iat?: number | null; exp?: number | null }, subgraph = 'reuse'): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  let jwt = new SignJWT({ role: 'partner', read: claims.read ?? ['reuse'], write: [] })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('crafted')
    .setIssuer('ali-gateway')
    .setAudience(subgraph);
  if (claims.iat !== null) jwt = jwt.setIssuedAt(now + (claims.iat ?? 0));
  if (claims.exp !== null) jwt = jwt.setExpirationTime(now + (claims.exp ?? 60));
  return jwt.sign(new TextEncoder().encode(stack.gatewaySecret));
}

async function postWith(token: string, url = stack.subgraphUrls.reuse) {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', [GATEWAY_TOKEN_HEADER]: token }, body: JSON.stringify({ query: TYPENAME }) });
  return { status: res.status, body: (await res.json()) as { data?: unknown; errors?: { message: string; extensions?: { code?: string } }[] } };
}

describe('gateway token claims at a subgraph', () => {
  it('refuses a caller whose signed read scope leaves the subgraph out (403)', async () => {
    const refused = await postWith(await signGatewayToken(stack.gatewaySecret, { sub: 'p', role: 'partner', read: ['funding'], write: [] }, 'reuse'));
    expect(refused.status).toBe(403);
    expect(refused.body.errors?.[0]?.extensions?.code).toBe('SUBGRAPH_NOT_SUBSCRIBED');
    expect((await postWith(await craft({ read: 'nothing' }))).status).toBe(403);
    // The same scope with the subgraph in it, and `*`, are accepted.
    expect((await postWith(await craft({ read: ['funding', 'reuse'] }))).body).toEqual({ data: { __typename: 'Query' } });
    expect((await postWith(await craft({ read: '*' }))).status).toBe(200);
  });

  it('refuses a token without exp or iat, living longer than the maximum, or issued in the future (401)', async () => {
    const cases = {
      'without exp': await craft({ exp: null }),
      'without iat': await craft({ iat: null }),
      'ten-year exp': await craft({ exp: 10 * 365 * 86_400 }),
      'three-minute lifetime': await craft({ iat: -1, exp: 179 }),
      'issued a minute from now': await craft({ iat: 60, exp: 90 }),
      'issued three minutes ago, exp still ahead': await craft({ iat: -180, exp: 10 }),
    };
    for (const [name, token] of Object.entries(cases)) {
      const r = await postWith(token);
      expect(r.status, name).toBe(401);
      expect(r.body.errors?.[0]?.extensions?.code, name).toBe('UNAUTHENTICATED');
    }
  });

  it("accepts the gateway's own tokens, and an iat ahead by less than the clock skew", async () => {
    expect((await postWith(await signGatewayToken(stack.gatewaySecret, PARTNER, 'reuse'))).status).toBe(200);
    expect((await postWith(await craft({ iat: 3, exp: 60 }))).status).toBe(200);
  });
});

/** The graphql-transport-ws protocol by hand, to send what the gateway sends (pings with a token). */
function rawConnection(token: string | undefined, url = reuse.url) {
  const socket = new WebSocket(`${url.replace(/^http/, 'ws')}graphql`, 'graphql-transport-ws');
  sockets.push(socket);
  const received: { type: string; id?: string; payload?: unknown }[] = [];
  const closed = new Promise<{ code: number; reason: string }>((resolve) => socket.once('close', (code, reason) => resolve({ code, reason: String(reason) })));
  const send = (message: object) => socket.send(JSON.stringify(message));
  socket.on('message', (data) => received.push(JSON.parse(String(data))));
  socket.once('open', () => send({ type: 'connection_init', ...(token === undefined ? {} : { payload: { [GATEWAY_TOKEN_HEADER]: token } }) }));
  const acked = () => waitFor('connection_ack', () => received.some((m) => m.type === 'connection_ack'));
  /** How the connection closed, or code 0 when it is still open after `ms`. */
  const closedWithin = (ms = 5000) => Promise.race([closed, sleep(ms).then(() => ({ code: 0, reason: 'still open' }))]);
  return { socket, received, closedWithin, send, acked, isOpen: () => socket.readyState === WebSocket.OPEN };
}

describe('subgraph WebSocket and token expiry', () => {
  it('closes a connection when its token expires (4403), ending its subscriptions', async () => {
    const started = Date.now();
    const c = rawConnection(await signGatewayToken(stack.gatewaySecret, PARTNER, 'reuse', 2));
    await c.acked();
    c.send({ id: '1', type: 'subscribe', payload: { query: ADOPTION_CHANGED } });
    const { code } = await c.closedWithin();
    expect(code).toBe(4403);
    // Token exp is whole seconds: it expired between 1 and 2 s after it was signed.
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(Date.now() - started).toBeLessThan(4000);
  });

  it("a ping carrying a fresh token of the same caller renews the connection; another caller's token closes it", async () => {
    const c = rawConnection(await signGatewayToken(stack.gatewaySecret, PARTNER, 'reuse', 2));
    await c.acked();
    await sleep(1000);
    c.send({ type: 'ping', payload: { [GATEWAY_TOKEN_HEADER]: await signGatewayToken(stack.gatewaySecret, PARTNER, 'reuse', 4) } });
    await sleep(2500);
    expect(c.isOpen()).toBe(true);
    c.send({ type: 'ping', payload: { [GATEWAY_TOKEN_HEADER]: await signGatewayToken(stack.gatewaySecret, OTHER, 'reuse', 60) } });
    expect((await c.closedWithin()).code).toBe(4403);
  });

  it('a renewal with an invalid token closes the connection (4401)', async () => {
    const c = rawConnection(await signGatewayToken(stack.gatewaySecret, PARTNER, 'reuse', 30));
    await c.acked();
    c.send({ type: 'ping', payload: { [GATEWAY_TOKEN_HEADER]: 'forged' } });
    expect((await c.closedWithin()).code).toBe(4401);
  });

  it('leaves the connections of a subgraph without a secret (the benchmark\'s) open: no token, no expiry', async () => {
    const open = await startSubgraph(subgraphModules.reuse, { db: stack.dbs.reuse, gatewaySecret: null, limits: TEST_LIMITS, port: 0, host: '127.0.0.1', events: bus });
    try {
      const c = rawConnection(undefined, open.url);
      await c.acked();
      expect((await c.closedWithin(1500)).code).toBe(0);
    } finally {
      await open.stop();
    }
  });

  it('refuses a connection whose token scope leaves the subgraph out (4403)', async () => {
    const c = rawConnection(await signGatewayToken(stack.gatewaySecret, { ...PARTNER, read: ['funding'] }, 'reuse', 30));
    expect((await c.closedWithin()).code).toBe(4403);
  });
});

describe("the gateway's subscription across token renewals", () => {
  it('keeps a partner subscription on one subgraph connection while its 4 s tokens are renewed, and delivers events after', async () => {
    const partnerKey = await stack.createKey({ name: 'partner-renewal', role: 'partner', subgraphs: ['reuse'] });
    const editorKey = await stack.createKey({ name: 'editor-renewal', role: 'editor', subgraphs: ['reuse'] });
    const gw = await stack.startGateway({ urlOverrides: { ...stack.subgraphUrls, reuse: reuse.url }, gatewayTokenTtlSeconds: 4 });
    const client = createClient({
      url: `${gw.url.replace(/^http/, 'ws')}graphql`,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${partnerKey}` },
    });
    const events: unknown[] = [];
    const errors: unknown[] = [];
    const subscribers = bus.subscriberCount();
    const dispose = client.subscribe({ query: ADOPTION_CHANGED, variables: { provinceCode: '004' } }, { next: (e) => void events.push(e), error: (e) => void errors.push(e), complete: () => {} });
    await waitFor('the subscription at the subgraph', () => bus.subscriberCount() > subscribers);
    const upgradesBefore = upgrades;
    // Three token lifetimes: without renewal the subgraph closes the connection at the first expiry.
    // (4 s rather than less: the renewal goes out a quarter of a lifetime before the expiry, a
    // margin a loaded machine must be able to keep.)
    await sleep(12_500);
    const istatCode = freshComune('004');
    const input = { solutionId: 'sigma-ter-piemonte', municipalityIstatCode: istatCode, status: 'PLANNED', provenance: 'SAMPLE' };
    const write = await fetch(`${gw.url}graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${editorKey}` },
      body: JSON.stringify({ query: REGISTER, variables: { input } }),
    });
    expect(((await write.json()) as { errors?: unknown }).errors).toBeUndefined();
    await waitFor('the event', () => events.length >= 1);
    expect(events[0]).toEqual({
      data: { adoptionChanged: { kind: 'REGISTERED', adoption: { id: `sigma-ter-piemonte:${istatCode}`, status: 'PLANNED' } } },
      extensions: { eventId: expect.stringMatching(/^reuse\.\d+$/) },
    });
    expect(errors).toEqual([]);
    // Renewed in place: no new connection to the subgraph.
    expect(upgrades).toBe(upgradesBefore);
    dispose();
    await client.dispose();
    await waitFor('the subscription released', () => bus.subscriberCount() === subscribers);
  }, 40_000);

  it('reconnects with a fresh token when a renewal does not take: the subgraph closes at expiry, the subscription goes on', async () => {
    // The renewal (the second signature) hands back the first, expiring token, as a broken signer would.
    const signed: string[] = [];
    const sign = async (caller: Caller, subgraph: string) => {
      signed.push(signed.length === 1 ? signed[0]! : await signGatewayToken(stack.gatewaySecret, caller, subgraph, 2));
      return signed.at(-1)!;
    };
    const upstream = new SubgraphConnections({ sign, keepAliveMs: 12_000, retryAttempts: 3, retryDelayMs: () => 0, ackTimeoutMs: 5000 });
    const events: unknown[] = [];
    const errors: unknown[] = [];
    const subscribers = bus.subscriberCount();
    const connections = upgrades;
    const sink = { next: (e: unknown) => void events.push(e), error: (e: unknown) => void errors.push(e), complete: () => {} };
    const stop = upstream.subscribe('reuse', [`${reuse.url}graphql`], PARTNER, { query: ADOPTION_CHANGED, variables: { provinceCode: '001' } }, sink);
    await waitFor('the subscription', () => bus.subscriberCount() > subscribers);
    await waitFor('a second connection, after the first token expired', () => upgrades >= connections + 2, 8000);
    await waitFor('the subscription again', () => bus.subscriberCount() > subscribers);
    const istatCode = freshComune('001');
    const input = { solutionId: 'sigma-ter-piemonte', municipalityIstatCode: istatCode, status: 'PLANNED', provenance: 'SAMPLE' };
    expect((await stack.subgraphQuery('reuse', REGISTER, { input }, EDITOR)).body.errors).toBeUndefined();
    await waitFor('the event', () => events.length >= 1);
    expect(events[0]).toEqual({ data: { adoptionChanged: { kind: 'REGISTERED', adoption: { id: `sigma-ter-piemonte:${istatCode}`, status: 'PLANNED' } } } });
    expect(errors).toEqual([]);
    stop();
    await upstream.close();
  }, 30_000);
});
