/**
 * The caches as one request sees them: the fetch cache the lean executor calls for each fetch of
 * the request's plan (the `FetchCache` seam of gateway/executor/plan.ts), and what the response
 * cache (./index.ts) needs to know once the plan has run.
 *
 * - The versions of the tags are read once per request, when it first needs them (redis: one
 *   round trip), and every lookup and fill of the request uses them: an entry is served only if
 *   it is current at that moment, which is after every write acknowledged before the request
 *   began; a fill records them, taken before its fetch was sent, so a write acknowledged while the
 *   fetch was in flight makes the entry stale as soon as it is stored.
 * - Root fetches are cached whole; `_entities` fetches one representation at a time, so batches
 *   that overlap reuse each other's entities and only the representations missing are sent.
 * - Only what a subgraph answered without errors and with a max-age is kept (./hints.ts).
 * - Keys hold the supergraph, the caller's signed claims (`scope`), the subgraph, the fetch's
 *   operation and its variables: two callers whose claims differ never share an entry.
 * - Mutations and subscriptions never read nor fill: a mutation's run only records which
 *   subgraphs it wrote to, whose tags ./index.ts bumps before the answer leaves the gateway.
 */
import { createHash } from 'node:crypto';
import type { FetchNode } from '@apollo/query-planner';
import type { FetchCache, FetchResult } from '../executor/plan.ts';
import { lifetimeOf } from './hints.ts';
import type { CacheLayer, CacheMetrics, LookupResult } from './metrics.ts';
import { isCurrent, type CacheStore, type Entry, type Versions } from './store.ts';

/** What a request asking for it (`extensions.cacheStatus: true`) gets in its response's extensions. */
export interface CacheStatus {
  response: LookupResult | 'bypass';
  fetches: Record<LookupResult, number>;
}

export interface RunDeps {
  readonly store: CacheStore;
  readonly metrics: CacheMetrics;
  /** The store failed a read: the request goes on uncached. */
  readonly onStoreError: (err: unknown) => void;
}

/** A tag per subgraph: a subgraph's fields may read any of its collections (./index.ts). */
export const tagOf = (subgraph: string): string => subgraph;

export class CacheRun implements FetchCache {
  private snapshot: Promise<Versions | undefined> | undefined;
  readonly status: CacheStatus = { response: 'bypass', fetches: { hit: 0, miss: 0, stale: 0 } };
  /** Subgraphs this request read from (query) or wrote to (mutation). */
  readonly subgraphs = new Set<string>();
  /** Fetches that went through the cache; the response is kept only if some did and all could be. */
  fetched = 0;
  /** When the earliest part of the response expires; 0 once a part may not be kept. */
  expires = Infinity;

  constructor(
    private readonly deps: RunDeps,
    readonly mode: 'read' | 'write',
    /** The supergraph and the caller's claims, hashed: the part of every key this request shares. */
    readonly scope: string,
  ) {}

  /** The versions this request reads and fills under; undefined when the store cannot say. */
  versions(): Promise<Versions | undefined> {
    return (this.snapshot ??= this.deps.store.versions().catch((err: unknown) => {
      this.deps.onStoreError(err);
      return undefined;
    }));
  }

  key(layer: CacheLayer, ...parts: string[]): string {
    const h = createHash('sha256').update(this.scope);
    for (const p of parts) h.update('\0').update(p);
    return `${layer === 'fetch' ? 'f' : 'r'}:${h.digest('base64url')}`;
  }

  /** The current entry under `key`, counted; undefined on a miss or a stale entry. */
  async lookup(layer: CacheLayer, subgraph: string, key: string, now: Versions): Promise<Entry | undefined> {
    let entry: Entry | undefined;
    try {
      entry = await this.deps.store.get(key, now);
    } catch (err) {
      this.deps.onStoreError(err);
    }
    const result: LookupResult = !entry || entry.expires <= Date.now() ? 'miss' : isCurrent(entry, now) ? 'hit' : 'stale';
    this.deps.metrics.lookup(layer, subgraph, result);
    if (layer === 'fetch') this.status.fetches[result]++;
    else this.status.response = result;
    if (result !== 'hit') return undefined;
    this.expires = Math.min(this.expires, entry!.expires);
    return entry;
  }

  /** Stores `json` under `key`, tagged with `tags` at their versions in `now`. */
  fill(key: string, tags: Iterable<string>, now: Versions, lifetimeMs: number, json: string): void {
    const expires = Date.now() + lifetimeMs;
    const versions: Record<string, number> = {};
    for (const tag of tags) versions[tag] = now.tags[tag] ?? 0;
    this.deps.store.set(key, { epoch: now.epoch, tags: versions, expires, json });
    this.expires = Math.min(this.expires, expires);
  }

  /** Whether this fetch reads through the cache; if not, the response cannot be kept either. */
  private reads(fetch: FetchNode): boolean {
    if (fetch.operationKind === 'mutation') this.subgraphs.add(fetch.serviceName);
    if (this.mode === 'read' && fetch.operationKind === 'query') return true;
    this.expires = 0;
    return false;
  }

  async root(fetch: FetchNode, variables: Record<string, unknown>, send: () => Promise<FetchResult>): Promise<FetchResult> {
    const now = this.reads(fetch) ? await this.versions() : undefined;
    if (!now) {
      this.expires = 0;
      return send();
    }
    const subgraph = fetch.serviceName;
    this.fetched++;
    this.subgraphs.add(subgraph);
    const key = this.key('fetch', subgraph, fetch.operation, JSON.stringify(variables));
    const entry = await this.lookup('fetch', subgraph, key, now);
    if (entry) return { data: JSON.parse(entry.json) as Record<string, unknown> };
    const response = await send();
    const lifetime = lifetimeOf(response);
    if (response.errors || !response.data || lifetime <= 0) this.expires = 0;
    else this.fill(key, [tagOf(subgraph)], now, lifetime, JSON.stringify(response.data));
    return response;
  }

  async entities(
    fetch: FetchNode,
    variables: Record<string, unknown>,
    representations: readonly unknown[],
    send: (representations: unknown[]) => Promise<FetchResult>,
  ): Promise<FetchResult> {
    const now = this.reads(fetch) ? await this.versions() : undefined;
    if (!now) {
      this.expires = 0;
      return send([...representations]);
    }
    const subgraph = fetch.serviceName;
    this.fetched++;
    this.subgraphs.add(subgraph);
    const others = JSON.stringify(variables);
    const keys = representations.map((r) => this.key('fetch', subgraph, fetch.operation, others, JSON.stringify(r)));
    const entities: unknown[] = new Array(representations.length).fill(null);
    const missing: number[] = [];
    const entries = await Promise.all(keys.map((k) => this.lookup('fetch', subgraph, k, now)));
    entries.forEach((entry, i) => (entry ? (entities[i] = JSON.parse(entry.json)) : missing.push(i)));
    if (missing.length === 0) return { data: { _entities: entities } };

    const response = await send(missing.map((i) => representations[i]));
    const answered: unknown = response.data?.['_entities'];
    if (!Array.isArray(answered) || answered.length !== missing.length) {
      // The executor reports what is wrong with it, as without the cache.
      this.expires = 0;
      return response.errors ? { ...response, errors: atPositions(response.errors, missing) } : response;
    }
    const lifetime = lifetimeOf(response);
    const keep = !response.errors && lifetime > 0;
    if (!keep) this.expires = 0;
    missing.forEach((i, j) => {
      const entity = answered[j];
      entities[i] = entity;
      // A null is an entity the subgraph did not find: asked again next time rather than kept.
      if (keep && entity !== null && entity !== undefined) this.fill(keys[i]!, [tagOf(subgraph)], now, lifetime, JSON.stringify(entity));
      else if (keep) this.expires = 0;
    });
    return { ...response, data: { ...response.data, _entities: entities }, ...(response.errors ? { errors: atPositions(response.errors, missing) } : {}) };
  }
}

/** Errors of a request for some representations, at the positions those have in the whole list. */
function atPositions(errors: FetchResult['errors'], positions: readonly number[]): FetchResult['errors'] {
  return errors?.map((error) => {
    const path = error.path;
    if (!path || path[0] !== '_entities' || typeof path[1] !== 'number') return error;
    return { ...error, path: ['_entities', positions[path[1]] ?? path[1], ...path.slice(2)] };
  });
}
