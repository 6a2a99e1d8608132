/**
 * The event bus behind subscriptions (lib/events/bus.ts), memory and Redis: JSON payloads, one
 * delivery per subscriber, bounded queues (SLOW_CONSUMER), release on return or abort, Redis
 * channels subscribed only while they have subscribers. Everything real: redis-server included.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { startRedis, type RunningRedis } from '../../helpers/redis.ts';
import { createEventBus, DEFAULT_CHANNEL_PREFIX, SLOW_CONSUMER, SlowConsumerError } from '../../../lib/events.ts';
import { until } from '../../helpers/eventClients.ts';


describe('event bus (memory)', () => {
  it('delivers a published event to every subscriber of the topic, as JSON (bigint as a string)', async () => {
    const b = createEventBus();
    const a = b.subscribe('t');
    const other = b.subscribe('u');
    await b.publish('t', { cents: 12345n, at: new Date('2024-01-02T03:04:05Z') });
    expect(await a.next()).toEqual({ value: { cents: '12345', at: '2024-01-02T03:04:05.000Z' }, done: false });
    await b.publish('u', 1);
    expect(await other.next()).toEqual({ value: 1, done: false });
    await b.close();
    expect(await a.next()).toEqual({ value: undefined, done: true });
  });

  it('ends a subscriber that falls more than bufferSize events behind with SLOW_CONSUMER, keeping nothing', async () => {
    const b = createEventBus();
    const slow = b.subscribe('t', { bufferSize: 5 });
    const fast = b.subscribe('t', { bufferSize: 5 });
    const seen: unknown[] = [];
    void (async () => {
      for await (const v of fast) seen.push(v);
    })();
    for (let i = 0; i < 5; i++) await b.publish('t', i);
    expect(b.subscriberCount('t')).toBe(2); // 5 waiting: at the bound, not over it
    await b.publish('t', 5);
    // The slow one is released at once (not when it next pulls); the fast one carries on.
    expect(b.subscriberCount('t')).toBe(1);
    const err = await slow.next().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SlowConsumerError);
    expect((err as SlowConsumerError).extensions.code).toBe(SLOW_CONSUMER);
    expect(await slow.next()).toEqual({ value: undefined, done: true });
    await until('the fast subscriber', () => seen.length === 6);
    expect(seen).toEqual([0, 1, 2, 3, 4, 5]);
    await b.close();
  });

  it('filters before buffering, and return() or abort releases a subscriber even while next() waits', async () => {
    const b = createEventBus();
    const evens = b.subscribe('t', { bufferSize: 2, filter: (v) => (v as number) % 2 === 0 });
    for (let i = 0; i < 5; i++) await b.publish('t', i); // 3 of 5 pass: over a bound of 2
    await expect(evens.next()).rejects.toBeInstanceOf(SlowConsumerError);

    const waiting = b.subscribe('t');
    const pending = waiting.next();
    await waiting.return!();
    expect(await pending).toEqual({ value: undefined, done: true });

    const ac = new AbortController();
    const aborted = b.subscribe('t', { signal: ac.signal });
    const pending2 = aborted.next();
    ac.abort();
    expect(await pending2).toEqual({ value: undefined, done: true });
    expect(b.subscriberCount()).toBe(0);
    await b.close();
  });

  it('leaves no listener behind after 1,000 subscribe/return cycles', async () => {
    const b = createEventBus();
    for (let i = 0; i < 1000; i++) {
      const s = b.subscribe(`t${i % 7}`);
      const p = s.next();
      if (i % 2 === 0) await b.publish(`t${i % 7}`, i);
      await s.return!();
      await p;
    }
    expect(b.subscriberCount()).toBe(0);
    await b.close();
  });
});

describe('event bus (Redis)', () => {
  let redis: RunningRedis;
  let probe: Redis;
  beforeAll(async () => {
    redis = await startRedis();
    probe = new Redis(redis.url);
  });
  afterAll(async () => {
    await probe?.quit();
    await redis?.stop();
  });
  const numsub = async (topic: string) => Number(((await probe.pubsub('NUMSUB', DEFAULT_CHANNEL_PREFIX + topic)) as [string, number])[1]);

  it('carries an event from one bus to the subscribers of every bus, once each', async () => {
    const a = createEventBus({ redisUrl: redis.url });
    const b = createEventBus({ redisUrl: redis.url });
    expect(a.kind).toBe('redis');
    const onA = a.subscribe('t');
    const onB = b.subscribe('t');
    await until('both buses to subscribe', async () => (await numsub('t')) === 2);
    await a.publish('t', { n: 1, cents: 10n ** 20n });
    expect(await onA.next()).toEqual({ value: { n: 1, cents: '100000000000000000000' }, done: false });
    expect(await onB.next()).toEqual({ value: { n: 1, cents: '100000000000000000000' }, done: false });
    await a.publish('t', { n: 2 });
    expect((await onB.next()).value).toEqual({ n: 2 });
    expect((await onA.next()).value).toEqual({ n: 2 }); // not twice: Redis delivers, not the publisher
    await Promise.all([a.close(), b.close()]);
    expect(await onA.next()).toEqual({ value: undefined, done: true });
  });

  it('unsubscribes the channel when its last subscriber leaves: 1,000 cycles leave 0 Redis subscriptions', async () => {
    const b = createEventBus({ redisUrl: redis.url });
    for (let i = 0; i < 1000; i++) await b.subscribe(`c${i % 5}`).return!();
    expect(b.subscriberCount()).toBe(0);
    await until('Redis to drop the channels', async () => {
      for (let t = 0; t < 5; t++) if ((await numsub(`c${t}`)) !== 0) return false;
      return true;
    });
    // Still working afterwards.
    const s = b.subscribe('c0');
    await until('the channel', async () => (await numsub('c0')) === 1);
    await b.publish('c0', 'after');
    expect((await s.next()).value).toBe('after');
    await b.close();
  });
});
