/**
 * Rate limits over HTTP: per key, per address for anonymous callers, 429 with Retry-After at the
 * threshold and not below; with REDIS_URL, two gateway instances enforce one budget (a real
 * redis-server).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RunningRedis } from '../../helpers/redis.ts';
import { startStack, type Stack } from '../../helpers/stack.ts';

let stack: Stack;
let redis: RunningRedis;
beforeAll(async () => {
  stack = await startStack();
  redis = await startRedis();
});
afterAll(async () => {
  await stack?.stop();
  await redis?.stop();
});

const QUERY = JSON.stringify({ query: '{ provinces { code } }' });
const hit = async (base: string, headers: Record<string, string> = {}) => {
  const res = await fetch(`${base}graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: QUERY });
  return { status: res.status, retryAfter: res.headers.get('retry-after'), remaining: res.headers.get('ratelimit-remaining'), body: (await res.json()) as { errors: { extensions: { code: string } }[] } };
};

describe('rate limits', () => {
  it('per address for anonymous callers and per key, 429 with Retry-After from the request over the limit', async () => {
    const fetched: string[] = [];
    const gw = await stack.startGateway({
      rateLimits: { anonymous: { points: 3, seconds: 60 }, analyst: { points: 5, seconds: 60 } },
      onSubgraphRequest: (subgraph) => fetched.push(subgraph),
    });
    const anon = [];
    for (let i = 0; i < 4; i++) anon.push(await hit(gw.url));
    expect(anon.map((r) => r.status)).toEqual([200, 200, 200, 429]);
    expect(anon.map((r) => r.remaining)).toEqual(['2', '1', '0', '0']);
    const refused = anon[3]!;
    expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(58);
    expect(Number(refused.retryAfter)).toBeLessThanOrEqual(60);
    expect(refused.body.errors[0]!.extensions.code).toBe('RATE_LIMITED');

    // A key has its own budget, whatever address it comes from.
    const key = await stack.createKey({ name: 'rl-analyst', role: 'analyst' });
    const keyed = [];
    for (let i = 0; i < 6; i++) keyed.push((await hit(gw.url, { 'x-api-key': key })).status);
    expect(keyed).toEqual([200, 200, 200, 200, 200, 429]);

    // Guessing keys spends the address's anonymous budget (already spent here): 429, not 401.
    expect((await hit(gw.url, { 'x-api-key': 'ali_' + 'z'.repeat(43) })).status).toBe(429);
    // Refused requests reached no subgraph: 3 anonymous + 5 keyed answers, one fetch each.
    expect(fetched).toEqual(Array(8).fill('alliances'));
  });

  it('with Redis, two gateway instances share one budget', async () => {
    const limits = { partner: { points: 4, seconds: 60 } };
    const a = await stack.startGateway({ rateLimits: limits, redisUrl: redis.url });
    const b = await stack.startGateway({ rateLimits: limits, redisUrl: redis.url });
    const key = await stack.createKey({ name: 'rl-partner', role: 'partner', subgraphs: ['alliances'] });
    const statuses = [];
    for (const gw of [a, b, a, b, a, b]) statuses.push((await hit(gw.url, { 'x-api-key': key })).status);
    expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
    // Without Redis each instance would have allowed 4: a third instance on memory proves the difference.
    const c = await stack.startGateway({ rateLimits: limits });
    expect((await hit(c.url, { 'x-api-key': key })).status).toBe(200);
  });
});
