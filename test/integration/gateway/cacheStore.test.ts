/**
 * The caches' store on its own, in memory and over a real Redis shared by two stores (two
 * gateways): an entry is current only under the versions it was filled with; a bump through one
 * store is seen by the other at its next read of the versions; after Redis loses its data, what a
 * process still holds is never current again; memory is bounded by bytes.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStore, isCurrent, type CacheStore, type Entry, type Versions } from '../../../gateway/cache/store.ts';
import { startRedis, type RunningRedis } from '../../helpers/redis.ts';

const MiB = 1024 * 1024;
const entryUnder = (now: Versions, json = '{"a":1}'): Entry => ({ epoch: now.epoch, tags: { reuse: now.tags['reuse'] ?? 0 }, expires: Date.now() + 60_000, json });

describe('memory', () => {
  it('an entry filled before a bump is not current after it', async () => {
    const store = createStore({ maxBytes: MiB });
    const before = await store.versions();
    store.set('k', entryUnder(before));
    await store.bump(['reuse']);
    const after = await store.versions();
    const entry = (await store.get('k', after))!;
    expect(isCurrent(entry, before)).toBe(true);
    expect(isCurrent(entry, after)).toBe(false);
    // A bump of another subgraph leaves it current.
    store.set('k', entryUnder(after));
    await store.bump(['funding']);
    const latest = await store.versions();
    expect(isCurrent((await store.get('k', latest))!, latest)).toBe(true);
  });

  it('drops an entry at the end of its max-age', async () => {
    const store = createStore({ maxBytes: MiB });
    const now = await store.versions();
    store.set('short', { ...entryUnder(now), expires: Date.now() + 50 });
    expect(await store.get('short', now)).toBeDefined();
    await new Promise((r) => setTimeout(r, 100));
    expect(await store.get('short', now)).toBeUndefined();
  });

  it('keeps at most maxBytes, dropping the least recently used, and counts the evictions', async () => {
    let evicted = 0;
    const store = createStore({ maxBytes: MiB, hooks: { onEvict: () => evicted++ } });
    const now = await store.versions();
    const big = 'x'.repeat(50_000);
    for (let i = 0; i < 40; i++) store.set(`f:${i}`, entryUnder(now, big));
    expect(store.bytes()).toBeLessThanOrEqual(MiB);
    expect(evicted).toBeGreaterThan(0);
    expect(await store.get('f:0', now)).toBeUndefined();
    expect(await store.get('f:39', now)).toBeDefined();
  });
});

describe('redis, two stores', () => {
  let redis: RunningRedis;
  let one: CacheStore;
  let two: CacheStore;
  beforeAll(async () => {
    redis = await startRedis();
    one = createStore({ maxBytes: MiB, redisUrl: redis.url });
    two = createStore({ maxBytes: MiB, redisUrl: redis.url });
  });
  afterAll(async () => {
    await one?.close();
    await two?.close();
    await redis?.stop();
  });

  it('shares entries, and a bump through one makes the other reject what it holds', async () => {
    const now = await one.versions();
    one.set('shared', entryUnder(now, '{"b":2}'));
    await new Promise((r) => setTimeout(r, 50));
    const seen = (await two.get('shared', now))!;
    expect(seen.json).toBe('{"b":2}');
    expect(isCurrent(seen, await two.versions())).toBe(true);
    await one.bump(['reuse']);
    const bumped = await two.versions();
    expect(isCurrent((await two.get('shared', bumped))!, bumped)).toBe(false);
    // Filled again through one after the write: two, holding the old copy, finds the new one.
    one.set('shared', entryUnder(bumped, '{"b":3}'));
    await new Promise((r) => setTimeout(r, 50));
    const refilled = (await two.get('shared', bumped))!;
    expect([refilled.json, isCurrent(refilled, bumped)]).toEqual(['{"b":3}', true]);
  });

  it('after Redis loses its data, nothing held in a process is current again', async () => {
    const now = await two.versions();
    // Tagged with a subgraph never written: its counter is 0 before and after the loss.
    two.set('kept', { ...entryUnder(now), tags: { governance: 0 } });
    expect(isCurrent((await two.get('kept', now))!, now)).toBe(true);
    const admin = new Redis(redis.url);
    await admin.flushall();
    await admin.quit();
    // The counters start again from 0, equal to the entry's: only the epoch tells.
    const fresh = await two.versions();
    expect(fresh.epoch).not.toBe(now.epoch);
    expect(isCurrent((await two.get('kept', fresh))!, fresh)).toBe(false);
  });
});
