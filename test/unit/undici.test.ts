/**
 * The gateway loads undici's connection pool alone (gateway/transport/undici.ts): importing the
 * gateway loads neither undici's entry point (fetch, WebSocket, cookies…) nor, through it, Node's
 * own bundled undici; and the pool it loads is the one the package exports. Broken once by
 * importing `Pool` from 'undici' again in gateway/transport/pools.ts: the first test failed.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');

function loadedAfter(script: string): { entry: boolean; pool: boolean; bundled: boolean } {
  const probe = `${script}
const { createRequire } = await import('node:module');
const loaded = Object.keys(createRequire(import.meta.url).cache);
console.log(JSON.stringify({
  entry: loaded.some((f) => f.endsWith('/node_modules/undici/index.js')),
  pool: loaded.some((f) => f.endsWith('/node_modules/undici/lib/dispatcher/pool.js')),
  bundled: process.moduleLoadList.some((m) => m.includes('undici')),
}));`;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', probe], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  return JSON.parse(out.trim().split('\n').pop()!) as { entry: boolean; pool: boolean; bundled: boolean };
}

describe('undici, loaded in part', () => {
  it('importing the gateway loads its pool, not its entry point, nor Node’s bundled undici', () => {
    // On Node 22 and later an ES import of node:http loads Node's bundled undici itself (for its
    // WebSocket exports); the gateway must load nothing more than that. On Node 20, nothing.
    const { bundled } = loadedAfter("await import('node:http');");
    if (process.versions.node.startsWith('20.')) expect(bundled).toBe(false);
    expect(loadedAfter("await import('./gateway/runtime.ts'); await import('./gateway/routes/index.ts');")).toEqual({ entry: false, pool: true, bundled });
  }, 60_000);

  it('the pool loaded is the one the package exports', async () => {
    const { Pool } = await import('../../gateway/transport/undici.ts');
    const undici = await import('undici');
    expect(Pool).toBe(undici.Pool);
    expect(typeof Pool.prototype.dispatch).toBe('function');
  });
});
