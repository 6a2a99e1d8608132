/**
 * The gateway's caches, which never serve a value older than the last write acknowledged through
 * any gateway sharing their store (docs/caching.md states the guarantee and its limits):
 *
 * - the fetch cache: the answer of each subgraph fetch the lean executor makes (./run.ts);
 * - the response cache: the whole result of an identical query (document, operation name,
 *   variables, caller), made only of fetches that could all be kept, for the shortest of their
 *   lifetimes, tagged with every subgraph it read.
 *
 * Invalidation. Every entry is tagged with the subgraphs it read. A subgraph's fields may read any
 * of its collections (lists, counts, sums), so a write to one of its records can change any of its
 * answers: the tag is the subgraph, which is correct for every field without declaring what each
 * depends on. A mutation run by the lean executor bumps the tags of the subgraphs its mutation
 * fetches went to (one run by stock, every subgraph's), AFTER the subgraphs answered and BEFORE
 * its result leaves the gateway: any read that begins after the write is acknowledged reads the
 * new versions and rejects what was filled before. Writes made outside the API only expire
 * (the subgraphs' max-age, CACHE_MAX_AGE_SECONDS).
 *
 * Queries only: mutations and subscriptions are never answered from, nor stored in, a cache.
 */
import { createHash } from 'node:crypto';
import type { ApolloGateway } from '@apollo/gateway';
import type { GatewayExecutionResult, GatewayExecutor, GatewayGraphQLRequestContext } from '@apollo/server-gateway-interface';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Caller } from '../../lib/access.ts';
import type { GatewayContext } from '../context.ts';
import type { FetchCache } from '../executor/index.ts';
import { createCacheMetrics, type CacheMetrics } from './metrics.ts';
import { CacheRun, tagOf, type RunDeps } from './run.ts';
import { createStore, type CacheStore } from './store.ts';

export { lifetimeOf } from './hints.ts';

/** Where the caches keep their entries (CACHE, resolved): ./store.ts. */
export type CacheMode = 'off' | 'memory' | 'redis';

/** The request extension that asks for the cache status in the response's extensions. */
const CACHE_STATUS_EXTENSION = 'cacheStatus';

/**
 * CACHE=auto: Redis when there is one (every gateway then shares the versions); in development
 * this process's memory (one gateway, `npm start`); in production without Redis, off: several
 * instances with caches of their own would not see each other's writes.
 */
export function resolveCacheMode(setting: 'auto' | CacheMode, redisUrl: string | undefined, production: boolean): CacheMode {
  if (setting !== 'auto') return setting;
  if (redisUrl) return 'redis';
  return production ? 'off' : 'memory';
}

export interface GatewayCacheOptions {
  readonly mode: 'memory' | 'redis';
  /** Required for `redis`. */
  readonly redisUrl?: string | undefined;
  /** Bytes of entries this process keeps, at most (CACHE_MAX_BYTES). */
  readonly maxBytes: number;
  readonly registry: Registry;
  readonly log: Logger;
  /** Every subgraph of the supergraph served: what a mutation that stock executed invalidates. */
  readonly subgraphs: () => readonly string[];
}

/** A caller's claims, as the subgraphs receive them signed: what makes their answers depend on the caller. */
function claimsOf(caller: Caller): string {
  return JSON.stringify([caller.sub, caller.role, caller.read, caller.write]);
}

export class GatewayCache {
  private readonly store: CacheStore;
  private readonly metrics: CacheMetrics;
  private readonly deps: RunDeps;
  private supergraph = '';
  private readonly runs = new WeakMap<GatewayGraphQLRequestContext, CacheRun>();
  private readonly leanRuns = new WeakSet<CacheRun>();

  constructor(private readonly opts: GatewayCacheOptions) {
    if (opts.mode === 'redis' && !opts.redisUrl) throw new Error('CACHE=redis needs REDIS_URL');
    let metrics: CacheMetrics | undefined;
    this.store = createStore({
      maxBytes: opts.maxBytes,
      redisUrl: opts.mode === 'redis' ? opts.redisUrl : undefined,
      hooks: { onEvict: (key) => metrics?.evicted(key.startsWith('r:') ? 'response' : 'fetch') },
    });
    this.metrics = metrics = createCacheMetrics(opts.registry, () => this.store.bytes());
    this.deps = {
      store: this.store,
      metrics: this.metrics,
      onStoreError: (err) => opts.log.warn({ err }, 'cache store unavailable: the request goes uncached'),
    };
  }

  get kind(): CacheStore['kind'] {
    return this.store.kind;
  }

  /** The supergraph being served: entries filled under another one are never read. */
  setSupergraph(sdl: string): void {
    this.supergraph = createHash('sha256').update(sdl).digest('hex');
  }

  /** The fetch cache of a request, for the lean executor (`LeanExecutorOptions.fetchCache`). */
  readonly fetchCacheOf = (requestContext: GatewayGraphQLRequestContext): FetchCache | undefined => {
    const run = this.runs.get(requestContext);
    if (run) this.leanRuns.add(run);
    return run;
  };

  /** Wraps `gateway.executor` (after useLeanExecutor): the response cache, and invalidation after mutations. */
  use(gateway: ApolloGateway): void {
    const inner: GatewayExecutor = gateway.executor;
    (gateway as { executor: GatewayExecutor }).executor = (requestContext) => this.execute(requestContext, inner);
  }

  async close(): Promise<void> {
    await this.store.close();
  }

  private async execute(requestContext: GatewayGraphQLRequestContext, inner: GatewayExecutor): Promise<GatewayExecutionResult> {
    const kind = requestContext.operation?.operation;
    const caller = (requestContext.context as Partial<GatewayContext>).caller;
    if ((kind !== 'query' && kind !== 'mutation') || !caller) return inner(requestContext);
    // Development's query-plan exposure answers with the plan, which only an execution has.
    if (kind === 'query' && requestContext.request.http?.headers.get('apollo-query-plan-experimental')) return inner(requestContext);
    const scope = createHash('sha256').update(this.supergraph).update('\0').update(claimsOf(caller)).digest('hex');
    const run = new CacheRun(this.deps, kind === 'query' ? 'read' : 'write', scope);
    this.runs.set(requestContext, run);
    if (kind === 'mutation') {
      try {
        return await inner(requestContext);
      } finally {
        await this.invalidate(run, requestContext);
      }
    }
    const result = await this.read(run, requestContext, inner);
    if (requestContext.request.extensions?.[CACHE_STATUS_EXTENSION] !== true) return result;
    return { ...result, extensions: { ...result.extensions, [CACHE_STATUS_EXTENSION]: run.status } };
  }

  /** A query: from the response cache, or executed (through the fetch cache) and kept if it may be. */
  private async read(run: CacheRun, requestContext: GatewayGraphQLRequestContext, inner: GatewayExecutor): Promise<GatewayExecutionResult> {
    const now = await run.versions();
    if (!now) return inner(requestContext);
    const { request } = requestContext;
    const key = run.key('response', requestContext.queryHash ?? '', request.operationName ?? '', JSON.stringify(request.variables ?? {}));
    const entry = await run.lookup('response', '', key, now);
    if (entry) return { data: JSON.parse(entry.json) as Record<string, unknown> };
    const result = await inner(requestContext);
    // Errors, partial data and extensions (the query plan, post-processing errors) are never kept,
    // nor the first part of a deferred answer (its deferred parts went to the incremental handoff).
    const deferred = (requestContext.context as Partial<GatewayContext>).incremental?.deferred !== undefined;
    const whole = !deferred && !result.errors && !result.extensions && result.data && run.fetched > 0 && this.leanRuns.has(run);
    const lifetime = run.expires - Date.now();
    if (whole && Number.isFinite(lifetime) && lifetime > 0) run.fill(key, [...run.subgraphs].map(tagOf), now, lifetime, JSON.stringify(result.data));
    return result;
  }

  /** After a mutation: bumps the tags of what it wrote, before its result is returned. */
  private async invalidate(run: CacheRun, requestContext: GatewayGraphQLRequestContext): Promise<void> {
    const subgraphs = this.leanRuns.has(run) ? [...run.subgraphs] : this.opts.subgraphs();
    if (subgraphs.length === 0) return;
    try {
      await this.store.bump(subgraphs.map(tagOf));
      for (const s of subgraphs) this.metrics.invalidated(s);
    } catch (err) {
      this.metrics.invalidationFailed();
      const log = (requestContext.context as Partial<GatewayContext>).log ?? this.opts.log;
      log.error({ err, subgraphs }, 'the cache could not be invalidated after a mutation: entries of these subgraphs may be served until their max-age');
    }
  }
}
