/**
 * Webhooks on the real stack: endpoints registered through the admin API, each event of their
 * subscription executed through the gateway as their key, POSTed to local receivers with Standard
 * Webhooks signatures; retries on a test clock (500, timeout, refused connection, then success),
 * de-duplication by webhook-id, dead letter after the retry period, admin replay, disabling after
 * sustained failure; a slow receiver that delays no other endpoint, and one entity's deliveries
 * in order; one delivery per event with two gateway instances; the key's view and only it.
 */
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../../gateway/runtime.ts';
import { retryDelay } from '../../../gateway/webhooks/schedule.ts';
import { startStack, type Stack } from '../../helpers/stack.ts';
import { freshComuni, sleep, until } from '../../helpers/eventClients.ts';
import { ADD_WEBHOOK, adminQuery, DELIVERIES, ManualClock, TestReceiver } from '../../helpers/webhooks.ts';

const operation = (name: string) => readFileSync(new URL(`./operations/${name}.graphql`, import.meta.url), 'utf8');
const ADOPTIONS = operation('adoptions');
const REGISTER = operation('registerAdoption');
const CHANGE_STATUS = 'mutation($id: ID!, $status: AdoptionStatus!, $v: Int!) { changeAdoptionStatus(id: $id, status: $status, expectedVersion: $v) { adoption { id version } } }';
const SOLUTION = 'sigma-ter-piemonte';

let stack: Stack;
let partner: string;
let editor: string;
let admin: string;
const receivers: TestReceiver[] = [];

beforeAll(async () => {
  // The stack's gateway registers endpoints but delivers nothing: each block runs its own deliverers.
  stack = await startStack({ gateway: { webhooks: { deliver: false } } });
  partner = await stack.createKey({ name: 'hooks-partner', role: 'partner', subgraphs: ['reuse', 'alliances'] });
  editor = await stack.createKey({ name: 'hooks-editor', role: 'editor', subgraphs: ['reuse'] });
  admin = await stack.createKey({ name: 'hooks-admin', role: 'admin' });
});

afterAll(async () => {
  for (const r of receivers) await r.stop();
  await stack?.stop();
});

async function receiver(): Promise<TestReceiver> {
  const r = await new TestReceiver().start();
  receivers.push(r);
  return r;
}

/** Registers an endpoint for `key` (name) delivering ADOPTIONS in `province` to `r`. */
async function addEndpoint(r: TestReceiver, province: string, key = 'hooks-partner', query = ADOPTIONS): Promise<string> {
  const res = await adminQuery(stack.gatewayUrl, admin, ADD_WEBHOOK, { input: { key, url: r.url, query, variables: JSON.stringify({ provinceCode: province }) } });
  expect(res.errors).toBeUndefined();
  r.secret = res.data.addWebhook.secret;
  expect(r.secret).toMatch(/^whsec_/);
  return res.data.addWebhook.webhook.id as string;
}

async function register(province: string): Promise<string> {
  const istat = (await freshComuni(stack.dbs.reuse, SOLUTION, province))[0]!;
  const r = await stack.query(REGISTER, { input: { solutionId: SOLUTION, municipalityIstatCode: istat, provenance: 'SAMPLE' } }, { 'x-api-key': editor });
  expect(r.body.errors).toBeUndefined();
  return r.body.data.registerAdoption.adoption.id as string;
}

async function deliveries(id: string, state?: string): Promise<any[]> {
  const res = await adminQuery(stack.gatewayUrl, admin, DELIVERIES, { id, state: state ?? null });
  expect(res.errors).toBeUndefined();
  return res.data.webhookDeliveries;
}

/** Waits until the delivery log shows `n` attempts of the endpoint's only delivery (its next one scheduled): then the clock may move. */
const recorded = (id: string, n: number) => until(`attempt ${n} recorded`, async () => (await deliveries(id))[0]?.attempts.length === n);

const remove = (id: string) => adminQuery(stack.gatewayUrl, admin, 'mutation($id: ID!) { removeWebhook(id: $id) }', { id });

describe('retries on a test clock', () => {
  const clock = new ManualClock();
  const schedule = { baseMs: 1000, maxMs: 8000 };
  let gateway: RunningGateway;
  const logLines: string[] = [];
  // Jitter at its top: each wait is the whole doubled delay, so the schedule is exact.
  const random = () => 1;

  beforeAll(async () => {
    const logger = pino({ level: 'warn' }, new Writable({ write: (chunk, _e, cb) => void (logLines.push(String(chunk)), cb()) }));
    gateway = await stack.startGateway({
      logger,
      webhooks: { clock, random, schedule, retryPeriodMs: 10_000, disableAfterMs: 20_000, timeoutMs: 400, pollMs: 100, leaseMs: 3000 },
    });
  });
  afterAll(() => gateway?.stop(0));

  it('retries after a 500, a timeout and a refused connection on the schedule, then delivers: once to the application, signed', async () => {
    const r = await receiver();
    const id = await addEndpoint(r, '004');
    r.mode = 'fail';
    const t0 = clock.now();
    const adoption = await register('004');
    await until('attempt 1 (500)', () => r.requests.length === 1);
    await recorded(id, 1);

    r.mode = 'hang';
    clock.advance(retryDelay(1, schedule, random) - 1);
    await sleep(200);
    expect(r.requests).toHaveLength(1); // not before its time
    clock.advance(1);
    await until('attempt 2 (times out)', () => r.requests.length === 2);
    await recorded(id, 2);

    await r.stop();
    clock.advance(retryDelay(2, schedule, random));
    await recorded(id, 3);

    await r.start();
    r.mode = 'ok';
    clock.advance(retryDelay(3, schedule, random));
    await until('attempt 4 (delivered)', async () => (await deliveries(id))[0]?.state === 'delivered');

    const [d] = await deliveries(id);
    expect(d.attempts.map((a: any) => [Date.parse(a.at) - t0 >= 0 ? Date.parse(a.at) - Date.parse(d.attempts[0].at) : -1, a.status, a.error])).toEqual([
      [0, 500, 'HTTP 500'],
      [1000, null, 'timeout'],
      [3000, null, 'connection refused'],
      [7000, 204, null],
    ]);
    // Four requests reached the receiver (the third never connected), all with the same webhook-id
    // and valid signatures; the application saw the event once, though the timed-out attempt
    // reached it too.
    expect(r.requests.map((q) => [q.id, q.verified])).toEqual([
      [d.eventId, true],
      [d.eventId, true],
      [d.eventId, true],
    ]);
    expect(r.app).toHaveLength(1);
    expect(r.app[0]!.body).toMatchObject({ type: 'adoptionChanged', data: { adoptionChanged: { kind: 'REGISTERED', adoption: { id: adoption, municipality: { name: expect.any(String) } } } } });
    expect(r.requests[0]!.headers['webhook-timestamp']).toBe(String(Math.floor(Date.parse(d.attempts[0].at) / 1000)));
    await remove(id);
  });

  /** An endpoint whose receiver fails, after the first failed attempt at an event of `province`. */
  async function failing(province: string): Promise<{ r: TestReceiver; id: string }> {
    const r = await receiver();
    const id = await addEndpoint(r, province);
    r.mode = 'fail';
    await register(province);
    await recorded(id, 1);
    return { r, id };
  }

  it('dead-letters a delivery once the retry period has run out, and an admin replay delivers it', async () => {
    const { r, id } = await failing('006');
    for (const [n, wait] of [[2, 1000], [3, 2000], [4, 4000]] as const) {
      clock.advance(wait);
      await recorded(id, n);
    }
    // The next wait (8 s) would end after the 10 s period: dead.
    await until('the dead letter', async () => (await deliveries(id, 'dead')).length === 1);
    expect((await deliveries(id, 'pending')).length).toBe(0);
    const metrics = await (await fetch(`${gateway.url}metrics`)).text();
    expect(metrics).toMatch(/^ali_gateway_webhook_dead_letters_total 1$/m);
    expect(metrics).toMatch(/^ali_gateway_webhook_retries_total \d+$/m);

    r.mode = 'ok';
    const replayed = await adminQuery(stack.gatewayUrl, admin, 'mutation($id: ID!) { replayWebhookDeliveries(id: $id) }', { id });
    expect(replayed).toEqual({ data: { replayWebhookDeliveries: 1 } });
    await until('the replayed delivery', async () => (await deliveries(id, 'delivered')).length === 1);
    expect(r.app).toHaveLength(1);
    const [d] = await deliveries(id);
    expect(d.attempts.map((a: any) => a.status)).toEqual([500, 500, 500, 500, 204]);
    await remove(id);
  });

  it('disables an endpoint whose every attempt has failed for disableAfterMs, with a metric and a log line', async () => {
    const { id } = await failing('003');
    clock.advance(25_000); // the first delivery retries, then dies; the endpoint has failed for 25 s
    await until('the dead letter', async () => (await deliveries(id, 'dead')).length === 1);
    await register('003');
    await until('the endpoint disabled', async () => (await adminQuery(stack.gatewayUrl, admin, '{ webhooks { id state disabledReason } }')).data.webhooks.find((w: any) => w.id === id)?.state === 'disabled');
    const metrics = () => fetch(`${gateway.url}metrics`).then((m) => m.text());
    expect(await metrics()).toMatch(/^ali_gateway_webhook_endpoints_disabled_total 1$/m);
    // The gauge counts the database's endpoints at each pass.
    await until('the gauge', async () => /^ali_gateway_webhook_endpoints\{state="disabled"\} 1$/m.test(await metrics()));
    expect(logLines.some((l) => l.includes('webhook endpoint disabled') && l.includes(id))).toBe(true);
    await remove(id);
  });
});

describe('delivering at the speed of each receiver', () => {
  let gateway: RunningGateway;
  beforeAll(async () => {
    gateway = await stack.startGateway({ webhooks: { pollMs: 100, leaseMs: 3000, timeoutMs: 5000 } });
  });
  afterAll(() => gateway?.stop(0));

  it('a slow receiver delays no other endpoint; one entity\'s deliveries go out in order, another\'s alongside', async () => {
    const slow = await receiver();
    slow.mode = 'slow';
    const fast = await receiver();
    const slowId = await addEndpoint(slow, '001');
    const fastId = await addEndpoint(fast, '001');
    const first = await register('001');
    for (const [status, v] of [['IN_PROGRESS', 1], ['ACTIVE', 2]] as const) {
      expect((await stack.query(CHANGE_STATUS, { id: first, status, v }, { 'x-api-key': editor })).body.errors).toBeUndefined();
    }
    const second = await register('001');
    const started = Date.now();
    await until('the fast receiver: all 4', () => fast.app.length === 4, 5000);
    const fastDone = Date.now() - started;
    expect(slow.app.length).toBeLessThan(4);
    await until('the slow receiver: all 4', () => slow.app.length === 4, 15_000);
    expect(fastDone).toBeLessThan(slow.slowMs);
    for (const r of [slow, fast]) {
      const ofFirst = r.app.filter((e) => e.body.data.adoptionChanged.adoption.id === first).map((e) => e.body.data.adoptionChanged.adoption.status);
      expect(ofFirst).toEqual(['PLANNED', 'IN_PROGRESS', 'ACTIVE']);
    }
    // The other entity did not wait behind the first one's three slow deliveries.
    const at = (id: string) => slow.requests.find((q) => JSON.parse(q.body).data.adoptionChanged.adoption.id === id)!.receivedAt;
    expect(at(second) - at(first)).toBeLessThan(slow.slowMs);
    await remove(slowId);
    await remove(fastId);
  });

  it('never sends a field or an event outside the key\'s view', async () => {
    await stack.createKey({ name: 'hooks-reuse-only', role: 'partner', subgraphs: ['reuse'] });
    const r = await receiver();
    // Outside its view: refused at registration, as the subscription would be.
    const refused = await adminQuery(stack.gatewayUrl, admin, ADD_WEBHOOK, { input: { key: 'hooks-reuse-only', url: r.url, query: ADOPTIONS } });
    expect(refused.errors?.[0].extensions).toMatchObject({ code: 'SUBGRAPH_NOT_SUBSCRIBED', argument: 'query' });
    const funding = await adminQuery(stack.gatewayUrl, admin, ADD_WEBHOOK, { input: { key: 'hooks-reuse-only', url: r.url, query: 'subscription { fundedProjectChanged { kind } }' } });
    expect(funding.errors?.[0].extensions).toMatchObject({ code: 'SUBGRAPH_NOT_SUBSCRIBED' });
    const bad = await adminQuery(stack.gatewayUrl, admin, ADD_WEBHOOK, { input: { key: 'hooks-reuse-only', url: r.url, query: 'subscription { adoptionChanged(provinceCode: "999") { kind } }' } });
    expect(bad.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'query' });
    const http = await adminQuery(stack.gatewayUrl, admin, ADD_WEBHOOK, { input: { key: 'hooks-reuse-only', url: 'http://example.org/hook', query: 'subscription { adoptionChanged { kind } }' } });
    expect(http.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'url' });
    // Within its view: exactly the fields it asked for, of the events its filter selects.
    const ok = await adminQuery(stack.gatewayUrl, admin, ADD_WEBHOOK, {
      input: { key: 'hooks-reuse-only', url: r.url, query: 'subscription($p: ID) { adoptionChanged(provinceCode: $p) { kind adoption { id status } } }', variables: '{"p":"002"}' },
    });
    expect(ok.errors).toBeUndefined();
    r.secret = ok.data.addWebhook.secret;
    await register('005');
    const mine = await register('002');
    await until('the delivery', () => r.app.length === 1);
    await sleep(300);
    expect(r.app.map((e) => e.body.data)).toEqual([{ adoptionChanged: { kind: 'REGISTERED', adoption: { id: mine, status: 'PLANNED' } } }]);
    // Its key revoked: the endpoint is disabled and nothing more goes out.
    await adminQuery(stack.gatewayUrl, admin, 'mutation { revokeApiKey(name: "hooks-reuse-only") { status } }');
    await until('the endpoint disabled', async () => (await adminQuery(stack.gatewayUrl, admin, '{ webhooks(key: "hooks-reuse-only") { state } }')).data.webhooks[0].state === 'disabled');
    await register('002');
    await sleep(500);
    expect(r.requests).toHaveLength(1);
    await remove(ok.data.addWebhook.webhook.id);
  });
});

describe('two gateway instances', () => {
  const gateways: RunningGateway[] = [];
  afterEach(async () => {
    for (const g of gateways.splice(0)) await g.stop(0);
  });

  it('deliver each event once, and the survivor takes over when the holder stops', async () => {
    for (let i = 0; i < 2; i++) gateways.push(await stack.startGateway({ webhooks: { pollMs: 100, leaseMs: 1000 } }));
    const r = await receiver();
    const id = await addEndpoint(r, '096');
    const before = [await register('096'), await register('096'), await register('096')];
    await until('3 deliveries', () => r.app.length === 3);
    await sleep(500);
    expect(r.requests).toHaveLength(3); // not one duplicate between the two instances
    // The instance holding the lease stops (and releases it); the other delivers from there.
    const holder = gateways.find((g) => g.subscriptions.stats().subscriptions > 0)!;
    await holder.stop(0);
    gateways.splice(gateways.indexOf(holder), 1);
    const after = [await register('096'), await register('096')];
    await until('2 more deliveries', () => r.app.length === 5, 10_000);
    await sleep(500);
    expect(r.app.map((e) => e.body.data.adoptionChanged.adoption.id)).toEqual([...before, ...after]);
    expect(r.requests).toHaveLength(5);
    const log = await deliveries(id);
    expect(log.map((d) => [d.state, d.attempts.length])).toEqual(Array(5).fill(['delivered', 1]));
    await remove(id);
  });
});
