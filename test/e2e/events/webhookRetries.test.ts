/**
 * Webhook retries on a test clock, on the real stack: a receiver that fails with a 500, times out,
 * refuses the connection, then succeeds, gets the event on the schedule (exponential backoff with
 * jitter) and the application once, after de-duplication by webhook-id, every signature verified
 * with the Standard Webhooks reference library; a delivery that keeps failing is dead-lettered when
 * the retry period runs out, and an admin replay delivers it; an endpoint failing for long enough
 * is disabled, with a metric and a log line.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RunningGateway } from '../../../gateway/runtime.ts';
import { retryDelay } from '../../../gateway/webhooks/schedule.ts';
import { sleep, until } from '../../helpers/eventClients.ts';
import { adminQuery, ManualClock, type TestReceiver } from '../../helpers/webhooks.ts';
import { useWebhookStack } from './fixtures/hooks.ts';

const t = useWebhookStack();
const { receiver, addEndpoint, register, deliveries, recorded, remove } = t;
const clock = new ManualClock();
const schedule = { baseMs: 1000, maxMs: 8000 };
let gateway: RunningGateway;
const logLines: string[] = [];
// Jitter at its top: each wait is the whole doubled delay, so the schedule is exact.
const random = () => 1;

beforeAll(async () => {
  const logger = pino({ level: 'warn' }, new Writable({ write: (chunk, _e, cb) => void (logLines.push(String(chunk)), cb()) }));
  gateway = await t.stack.startGateway({
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
  const replayed = await adminQuery(t.stack.gatewayUrl, t.admin, 'mutation($id: ID!) { replayWebhookDeliveries(id: $id) }', { id });
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
  await until('the endpoint disabled', async () => (await adminQuery(t.stack.gatewayUrl, t.admin, '{ webhooks { id state disabledReason } }')).data.webhooks.find((w: any) => w.id === id)?.state === 'disabled');
  const metrics = () => fetch(`${gateway.url}metrics`).then((m) => m.text());
  expect(await metrics()).toMatch(/^ali_gateway_webhook_endpoints_disabled_total 1$/m);
  // The gauge counts the database's endpoints at each pass.
  await until('the gauge', async () => /^ali_gateway_webhook_endpoints\{state="disabled"\} 1$/m.test(await metrics()));
  expect(logLines.some((l) => l.includes('webhook endpoint disabled') && l.includes(id))).toBe(true);
  await remove(id);
});
