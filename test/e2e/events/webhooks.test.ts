/**
 * Webhooks on the real stack: a slow receiver delays no other endpoint, and one entity's
 * deliveries go out in order while another's go alongside; the key's view and only it (refusals
 * at registration, the fields it asked for, nothing after its key is revoked); one delivery per
 * event with two gateway instances, and the survivor taking over. Retries: ./webhookRetries.test.ts.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../../gateway/runtime.ts';
import { sleep, until } from '../../helpers/eventClients.ts';
import { ADD_WEBHOOK, adminQuery } from '../../helpers/webhooks.ts';
import { ADOPTIONS, useWebhookStack } from './fixtures/hooks.ts';

const CHANGE_STATUS = 'mutation($id: ID!, $status: AdoptionStatus!, $v: Int!) { changeAdoptionStatus(id: $id, status: $status, expectedVersion: $v) { adoption { id version } } }';

const t = useWebhookStack();
const { receiver, addEndpoint, register, deliveries, remove } = t;

describe('delivering at the speed of each receiver', () => {
  let gateway: RunningGateway;
  beforeAll(async () => {
    gateway = await t.stack.startGateway({ webhooks: { pollMs: 100, leaseMs: 3000, timeoutMs: 5000 } });
  });
  afterAll(() => gateway?.stop(0));

  it('a slow receiver delays no other endpoint; one entity\'s deliveries go out in order, another\'s alongside', async () => {
    const slow = await receiver();
    slow.mode = 'slow';
    slow.slowMs = 3000;
    const fast = await receiver();
    const slowId = await addEndpoint(slow, '001');
    const fastId = await addEndpoint(fast, '001');
    const first = await register('001');
    const second = await register('001');
    for (const [status, v] of [['IN_PROGRESS', 1], ['ACTIVE', 2]] as const) {
      expect((await t.stack.query(CHANGE_STATUS, { id: first, status, v }, { 'x-api-key': t.editor })).body.errors).toBeUndefined();
    }
    await until('the fast receiver: all 4', () => fast.app.length === 4, 10_000);
    // The slow one is still on the first entity's deliveries, one at a time.
    expect(slow.app.length).toBeLessThan(4);
    await until('the slow receiver: all 4', () => slow.app.length === 4, 30_000);
    for (const r of [slow, fast]) {
      const ofFirst = r.app.filter((e) => e.body.data.adoptionChanged.adoption.id === first).map((e) => e.body.data.adoptionChanged.adoption.status);
      expect(ofFirst).toEqual(['PLANNED', 'IN_PROGRESS', 'ACTIVE']);
    }
    // The second entity did not wait behind the first one's slow deliveries: it went out while the
    // first one's first answer was still awaited.
    const sent = (id: string) => slow.requests.filter((q) => JSON.parse(q.body).data.adoptionChanged.adoption.id === id).map((q) => q.receivedAt);
    expect(sent(second)[0]).toBeLessThan(sent(first)[1]!);
    expect(sent(second)[0]! - sent(first)[0]!).toBeLessThan(slow.slowMs);
    await remove(slowId);
    await remove(fastId);
  });

  it('never sends a field or an event outside the key\'s view', async () => {
    await t.stack.createKey({ name: 'hooks-reuse-only', role: 'partner', subgraphs: ['reuse'] });
    const r = await receiver();
    // Outside its view: refused at registration, as the subscription would be.
    const refused = await adminQuery(t.stack.gatewayUrl, t.admin, ADD_WEBHOOK, { input: { key: 'hooks-reuse-only', url: r.url, query: ADOPTIONS } });
    expect(refused.errors?.[0].extensions).toMatchObject({ code: 'SUBGRAPH_NOT_SUBSCRIBED', argument: 'query' });
    const funding = await adminQuery(t.stack.gatewayUrl, t.admin, ADD_WEBHOOK, { input: { key: 'hooks-reuse-only', url: r.url, query: 'subscription { fundedProjectChanged { kind } }' } });
    expect(funding.errors?.[0].extensions).toMatchObject({ code: 'SUBGRAPH_NOT_SUBSCRIBED' });
    const bad = await adminQuery(t.stack.gatewayUrl, t.admin, ADD_WEBHOOK, { input: { key: 'hooks-reuse-only', url: r.url, query: 'subscription { adoptionChanged(provinceCode: "999") { kind } }' } });
    expect(bad.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'query' });
    const http = await adminQuery(t.stack.gatewayUrl, t.admin, ADD_WEBHOOK, { input: { key: 'hooks-reuse-only', url: 'http://example.org/hook', query: 'subscription { adoptionChanged { kind } }' } });
    expect(http.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'url' });
    // Within its view: exactly the fields it asked for, of the events its filter selects.
    const ok = await adminQuery(t.stack.gatewayUrl, t.admin, ADD_WEBHOOK, {
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
    await adminQuery(t.stack.gatewayUrl, t.admin, 'mutation { revokeApiKey(name: "hooks-reuse-only") { status } }');
    await until('the endpoint disabled', async () => (await adminQuery(t.stack.gatewayUrl, t.admin, '{ webhooks(key: "hooks-reuse-only") { state } }')).data.webhooks[0].state === 'disabled');
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
    for (let i = 0; i < 2; i++) gateways.push(await t.stack.startGateway({ webhooks: { pollMs: 100, leaseMs: 1000 } }));
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
