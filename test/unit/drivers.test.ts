/**
 * The MongoDB and Redis drivers are loaded on first use (lib/drivers.ts): importing the gateway
 * and every module it starts from loads neither, so a gateway configured without MONGODB_URI
 * and REDIS_URL does not carry them; using one loads it. Broken once by importing `Redis` as a
 * value again in gateway/rateLimit.ts: the first test failed.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');

/** Which drivers a fresh Node process has loaded after running `script` (an ES module body). */
function loadedAfter(script: string): { mongodb: boolean; ioredis: boolean } {
  const probe = `${script}
const { createRequire } = await import('node:module');
const loaded = Object.keys(createRequire(import.meta.url).cache);
console.log(JSON.stringify({ mongodb: loaded.some((f) => f.includes('/node_modules/mongodb/')), ioredis: loaded.some((f) => f.includes('/node_modules/ioredis/')) }));`;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', probe], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  return JSON.parse(out.trim().split('\n').pop()!) as { mongodb: boolean; ioredis: boolean };
}

describe('drivers loaded on first use', () => {
  it('importing the gateway (runtime, transport, caches, rate limits, webhooks, events) loads neither', () => {
    expect(loadedAfter("await import('./gateway/runtime.ts'); await import('./lib/mongo.ts'); await import('./lib/events/bus.ts');")).toEqual({ mongodb: false, ioredis: false });
  }, 60_000);

  it('using one loads it', () => {
    expect(loadedAfter("const { fromStored } = await import('./lib/money.ts'); fromStored(5);")).toEqual({ mongodb: false, ioredis: false });
    const { mongodb, ioredis } = loadedAfter("const d = await import('./lib/drivers.ts'); d.mongodb(); d.ioredis();");
    expect({ mongodb, ioredis }).toEqual({ mongodb: true, ioredis: true });
  }, 60_000);
});
