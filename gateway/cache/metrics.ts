/**
 * Prometheus series of the gateway's caches, on the gateway's registry (gateway/metrics.ts):
 *
 * | series | type | labels |
 * |---|---|---|
 * | `ali_gateway_cache_lookups_total` | counter | `layer` (`fetch`, `response`), `subgraph` (empty for `response`), `result` (`hit`, `miss`, `stale`) |
 * | `ali_gateway_cache_invalidations_total` | counter | `subgraph`: tags a mutation bumped |
 * | `ali_gateway_cache_invalidation_failures_total` | counter | – : mutations whose bump Redis refused (entries then hold until their max-age) |
 * | `ali_gateway_cache_evictions_total` | counter | `layer`: entries dropped from this process's LRU to make room |
 * | `ali_gateway_cache_bytes` | gauge | – : bytes of entries in this process's LRU |
 *
 * `stale` is an entry found but filled before a write that has been acknowledged since: rejected.
 */
import { Counter, Gauge, type Registry } from 'prom-client';

export type CacheLayer = 'fetch' | 'response';
export type LookupResult = 'hit' | 'miss' | 'stale';

export interface CacheMetrics {
  lookup(layer: CacheLayer, subgraph: string, result: LookupResult): void;
  invalidated(subgraph: string): void;
  invalidationFailed(): void;
  evicted(layer: CacheLayer): void;
}

export function createCacheMetrics(registry: Registry, bytes: () => number, prefix = 'ali_gateway_'): CacheMetrics {
  const registers = [registry];
  const lookups = new Counter({
    name: `${prefix}cache_lookups_total`,
    help: 'Cache lookups by layer, subgraph and result (hit, miss, stale: filled before an acknowledged write)',
    labelNames: ['layer', 'subgraph', 'result'],
    registers,
  });
  const invalidations = new Counter({ name: `${prefix}cache_invalidations_total`, help: 'Cache tags bumped by mutations, by subgraph', labelNames: ['subgraph'], registers });
  const failures = new Counter({ name: `${prefix}cache_invalidation_failures_total`, help: 'Mutations whose cache invalidation the store refused', registers });
  const evictions = new Counter({ name: `${prefix}cache_evictions_total`, help: 'Cache entries evicted from the in-process LRU, by layer', labelNames: ['layer'], registers });
  new Gauge({
    name: `${prefix}cache_bytes`,
    help: 'Bytes of cache entries in this process',
    registers,
    collect() {
      this.set(bytes());
    },
  });
  for (const layer of ['fetch', 'response'] as const) evictions.inc({ layer }, 0);
  failures.inc(0);
  return {
    lookup: (layer, subgraph, result) => lookups.inc({ layer, subgraph, result }),
    invalidated: (subgraph) => invalidations.inc({ subgraph }),
    invalidationFailed: () => failures.inc(),
    evicted: (layer) => evictions.inc({ layer }),
  };
}
