/**
 * undici's connection pool, loaded without the rest of undici. The package's entry point also
 * loads its fetch, WebSocket, cache and cookie modules, and the cookie module reads the global
 * `Headers`, which makes Node load its own bundled copy of undici as well: about 10 MB of
 * resident memory in every gateway process on Node 20 for code the gateway never runs (it only
 * dispatches requests on pools, ./pools.ts). On Node 22 and later an ES import of node:http loads
 * the bundled copy anyway. The package has no `exports` map, so this file of it is reachable; the
 * version is pinned by the lock file, and test/unit/undici.test.ts checks that it is the pool the
 * package exports and that importing the gateway loads neither the rest nor Node's copy.
 */
import { createRequire } from 'node:module';
import type { Pool as UndiciPool } from 'undici';

const require = createRequire(import.meta.url);

export const Pool = require('undici/lib/dispatcher/pool.js') as typeof UndiciPool;
export type Pool = UndiciPool;
