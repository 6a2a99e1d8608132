/**
 * Rate limits at unit level: createRateLimiter in memory, and over a real Redis server
 * (Debian's redis-server, started per test) shared by two limiters as two gateway instances would
 * share it. The HTTP side (429 with Retry-After) is tested with the gateway.
 */
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createRateLimiter, type RateDecision, type RateLimiter } from '../../../gateway/rateLimit.ts';
import { startRedis, type RunningRedis } from '../../helpers/redis.ts';

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

function track<T extends { close(): Promise<void> }>(x: T): T {
  open.push(x);
  return x;
}

async function redisServer(): Promise<RunningRedis> {
  const server = await startRedis();
  let stopped = false;
  track({ close: async () => void (stopped || (await server.stop())) });
  return {
    ...server,
    stop: async () => {
      stopped = true;
      await server.stop();
    },
  };
}

/** A pino logger whose lines land in `lines`. */
function capturingLogger() {
  const lines: { level: number; msg: string }[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { log: pino({ level: 'info' }, stream), lines };
}

/** Waits until the limiter's Redis connection is up, so that consumes go to Redis. */
async function connected(limiter: RateLimiter): Promise<void> {
  const deadline = Date.now() + 5000;
  for (let s = limiter.state(); !(s.store === 'redis' && s.connected); s = limiter.state()) {
    if (Date.now() > deadline) throw new Error(`Redis limiter not connected: ${JSON.stringify(limiter.state())}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function consumeN(limiter: RateLimiter, key: string, n: number): Promise<RateDecision[]> {
  const out: RateDecision[] = [];
  for (let i = 0; i < n; i++) out.push(await limiter.consume(key, 'frontend'));
  return out;
}

describe('in memory', () => {
  it('allows exactly the budget per key, then refuses until the window ends', async () => {
    const limiter = track(createRateLimiter({ limits: { frontend: { points: 5, seconds: 60 } } }));
    expect(limiter.state()).toEqual({ store: 'memory' });
    const decisions = await consumeN(limiter, 'key-a', 5);
    expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, true, true]);
    expect(decisions.map((d) => (d.allowed ? d.remaining : -1))).toEqual([4, 3, 2, 1, 0]);
    for (const d of decisions) expect(d).toMatchObject({ limit: 5, resetSeconds: expect.any(Number) });
    expect((decisions[0] as { resetSeconds: number }).resetSeconds).toBe(60);

    const refused = await limiter.consume('key-a', 'frontend');
    expect(refused).toEqual({ allowed: false, limit: 5, retryAfterSeconds: expect.any(Number) });
    const retry = (refused as { retryAfterSeconds: number }).retryAfterSeconds;
    expect(retry).toBeGreaterThanOrEqual(59);
    expect(retry).toBeLessThanOrEqual(60);

    // Another key has its own budget; a role without an entry is not limited.
    expect((await limiter.consume('key-b', 'frontend')).allowed).toBe(true);
    for (let i = 0; i < 20; i++) expect((await limiter.consume('key-a', 'admin')).allowed).toBe(true);
  });

  it('roles have separate budgets for the same key', async () => {
    const limiter = track(createRateLimiter({ limits: { frontend: { points: 1, seconds: 60 }, analyst: { points: 2, seconds: 60 } } }));
    expect((await limiter.consume('k', 'frontend')).allowed).toBe(true);
    expect((await limiter.consume('k', 'frontend')).allowed).toBe(false);
    expect((await limiter.consume('k', 'analyst')).allowed).toBe(true);
    expect((await limiter.consume('k', 'analyst')).allowed).toBe(true);
    expect((await limiter.consume('k', 'analyst')).allowed).toBe(false);
  });

  it('a new window restores the budget', async () => {
    const limiter = track(createRateLimiter({ limits: { frontend: { points: 2, seconds: 1 } } }));
    await consumeN(limiter, 'k', 2);
    const refused = await limiter.consume('k', 'frontend');
    expect(refused).toEqual({ allowed: false, limit: 2, retryAfterSeconds: 1 });
    await new Promise((r) => setTimeout(r, 1100));
    expect(await limiter.consume('k', 'frontend')).toMatchObject({ allowed: true, remaining: 1 });
  });
});

describe('in Redis', () => {
  it('two limiters on one Redis enforce one budget', async () => {
    const redis = await redisServer();
    const keyPrefix = `test:${randomUUID()}`;
    const limits = { frontend: { points: 6, seconds: 60 } };
    const a = track(createRateLimiter({ limits, redisUrl: redis.url, keyPrefix }));
    const b = track(createRateLimiter({ limits, redisUrl: redis.url, keyPrefix }));
    await connected(a);
    await connected(b);

    const decisions: RateDecision[] = [];
    for (let i = 0; i < 6; i++) decisions.push(await (i % 2 === 0 ? a : b).consume('shared-key', 'frontend'));
    expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, true, true, true]);
    expect(decisions.map((d) => (d.allowed ? d.remaining : -1))).toEqual([5, 4, 3, 2, 1, 0]);

    // Both instances now refuse: the budget was spent across them.
    for (const limiter of [a, b]) {
      const refused = await limiter.consume('shared-key', 'frontend');
      expect(refused.allowed).toBe(false);
      expect((refused as { retryAfterSeconds: number }).retryAfterSeconds).toBeGreaterThanOrEqual(59);
    }
    // The counter lives in Redis under the prefix, with the window as its lifetime.
    const client = new Redis(redis.url);
    try {
      expect(await client.get(`${keyPrefix}:frontend:shared-key`)).toBe('8');
      expect(await client.ttl(`${keyPrefix}:frontend:shared-key`)).toBeGreaterThan(55);
    } finally {
      await client.quit();
    }
  });

  it('falls back to a per-process limit when Redis dies, without failing a request, and logs it', async () => {
    const redis = await redisServer();
    const { log, lines } = capturingLogger();
    const limiter = track(
      createRateLimiter({ limits: { frontend: { points: 3, seconds: 60 } }, redisUrl: redis.url, keyPrefix: `test:${randomUUID()}`, log }),
    );
    await connected(limiter);
    expect((await consumeN(limiter, 'k', 2)).every((d) => d.allowed)).toBe(true);
    expect(lines.some((l) => l.msg === 'rate limits shared through Redis')).toBe(true);

    await redis.stop();
    const started = Date.now();
    // The insurance limiter starts a budget of its own: 3 more, then refused, all answered promptly.
    const after = await consumeN(limiter, 'k', 4);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(after.map((d) => d.allowed)).toEqual([true, true, true, false]);
    expect(limiter.state()).toEqual({ store: 'redis', connected: false });
    expect(lines.some((l) => l.level === 40 && /per process/.test(l.msg))).toBe(true);
  });

  it('starts and answers from memory when Redis is not there at all', async () => {
    const redis = await redisServer();
    await redis.stop(); // a port nothing listens on
    const { log, lines } = capturingLogger();
    const limiter = track(createRateLimiter({ limits: { frontend: { points: 2, seconds: 60 } }, redisUrl: redis.url, log }));
    const decisions = await consumeN(limiter, 'k', 3);
    expect(decisions.map((d) => d.allowed)).toEqual([true, true, false]);
    await new Promise((r) => setTimeout(r, 200));
    expect(lines.some((l) => l.level === 40 && /Redis unavailable/.test(l.msg))).toBe(true);
  });
});
