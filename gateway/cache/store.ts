/**
 * Where the gateway's caches keep their entries, and the version of every tag.
 *
 * A tag names what an entry depends on (a subgraph's data: ./index.ts says why); its version is a
 * counter that every write acknowledged through a gateway increments. An entry records the
 * versions of its tags as they were when the fetch that filled it BEGAN, and is served only while
 * they are still the current ones: a write that lands while a read is in flight leaves an entry
 * that is stale from the moment it is stored, so it is never served.
 *
 * - memory: one process; the versions are counters in this process, the entries in an LRU bounded
 *   by bytes.
 * - redis: the versions are one Redis hash shared by every gateway, read in one round trip per
 *   request (HGETALL) and incremented before a mutation's answer leaves the gateway (HINCRBY);
 *   entries live in Redis with their TTL (shared fills), and in this process's LRU in front of it.
 *   The hash also holds an `epoch`, set once (HSETNX) to a random value: after Redis loses its
 *   data, the counters start again from 0 under another epoch, so no entry kept in a process's
 *   LRU from before (whose counters could be equal by chance) is ever current again.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import { ioredis } from '../../lib/drivers.ts';

/** The versions of the tags at one moment. */
export interface Versions {
  readonly epoch: string;
  /** Tag → version; a tag never written is at 0. */
  readonly tags: Readonly<Record<string, number>>;
}

/** One cached value. */
export interface Entry {
  readonly epoch: string;
  /** The versions of the entry's tags when the fetch that filled it began. */
  readonly tags: Readonly<Record<string, number>>;
  /** When it stops being served (ms since the epoch), from the subgraphs' max-age. */
  readonly expires: number;
  /** The value as JSON: every hit parses its own copy (the executor merges into what it gets). */
  readonly json: string;
}

/** Whether `entry` was filled under the versions that are current in `now`. */
export function isCurrent(entry: Entry, now: Versions): boolean {
  if (entry.epoch !== now.epoch) return false;
  for (const tag in entry.tags) if (entry.tags[tag] !== (now.tags[tag] ?? 0)) return false;
  return true;
}

export interface StoreHooks {
  /** An entry was dropped from the LRU to make room; `key` says which layer it belonged to. */
  onEvict?(key: string): void;
}

export interface CacheStore {
  readonly kind: 'memory' | 'redis';
  /** The current versions (redis: one round trip). */
  versions(): Promise<Versions>;
  /** The entry under `key`: a current one (under `now`) if there is one, else what there is. */
  get(key: string, now: Versions): Promise<Entry | undefined>;
  /** Stores an entry (redis: sent without waiting; a lost write is only a later miss). */
  set(key: string, entry: Entry): void;
  /** Increments the versions of `tags`; resolves once every gateway will see it. */
  bump(tags: readonly string[]): Promise<void>;
  /** Bytes of the entries in this process. */
  bytes(): number;
  close(): Promise<void>;
}

export interface StoreOptions {
  /** Bytes of entries this process keeps, at most (CACHE_MAX_BYTES). */
  readonly maxBytes: number;
  /** Redis URL: the shared store; unset: this process only. */
  readonly redisUrl?: string | undefined;
  /** Prefix of every Redis key (default "ali-graph:cache:"). */
  readonly keyPrefix?: string;
  readonly hooks?: StoreHooks;
}

function lru(maxBytes: number, hooks: StoreHooks | undefined): LRUCache<string, Entry> {
  return new LRUCache<string, Entry>({
    maxSize: maxBytes,
    // UTF-16 in memory, plus the key and the object around them.
    sizeCalculation: (entry, key) => 2 * (entry.json.length + key.length) + 200,
    // An entry that cannot fit is not stored rather than emptying the cache for it.
    maxEntrySize: Math.max(1, Math.floor(maxBytes / 4)),
    ttlAutopurge: false,
    dispose: (_entry, key, reason) => {
      if (reason === 'evict') hooks?.onEvict?.(key);
    },
  });
}

function ttlOf(entry: Entry): number {
  return Math.max(0, entry.expires - Date.now());
}

class MemoryStore implements CacheStore {
  readonly kind = 'memory' as const;
  private readonly entries: LRUCache<string, Entry>;
  private readonly epoch = randomBytes(8).toString('hex');
  private readonly counters: Record<string, number> = Object.create(null);

  constructor(opts: StoreOptions) {
    this.entries = lru(opts.maxBytes, opts.hooks);
  }

  async versions(): Promise<Versions> {
    return { epoch: this.epoch, tags: { ...this.counters } };
  }

  async get(key: string): Promise<Entry | undefined> {
    return this.entries.get(key);
  }

  set(key: string, entry: Entry): void {
    const ttl = ttlOf(entry);
    if (ttl > 0) this.entries.set(key, entry, { ttl });
  }

  async bump(tags: readonly string[]): Promise<void> {
    for (const tag of tags) this.counters[tag] = (this.counters[tag] ?? 0) + 1;
  }

  bytes(): number {
    return this.entries.calculatedSize;
  }

  async close(): Promise<void> {
    this.entries.clear();
  }
}

/** An entry as Redis keeps it: "<epoch>\n<tags JSON>\n<expires>\n<json>". */
function encodeEntry(e: Entry): string {
  return `${e.epoch}\n${JSON.stringify(e.tags)}\n${e.expires}\n${e.json}`;
}

function decodeEntry(s: string): Entry | undefined {
  const a = s.indexOf('\n');
  const b = s.indexOf('\n', a + 1);
  const c = s.indexOf('\n', b + 1);
  if (a < 0 || b < 0 || c < 0) return undefined;
  try {
    return { epoch: s.slice(0, a), tags: JSON.parse(s.slice(a + 1, b)) as Record<string, number>, expires: Number(s.slice(b + 1, c)), json: s.slice(c + 1) };
  } catch {
    return undefined;
  }
}

class RedisStore implements CacheStore {
  readonly kind = 'redis' as const;
  private readonly entries: LRUCache<string, Entry>;
  private readonly redis: Redis;
  private readonly versionsKey: string;
  private readonly entryPrefix: string;

  constructor(url: string, opts: StoreOptions) {
    this.entries = lru(opts.maxBytes, opts.hooks);
    // During an outage a command fails after one reconnection attempt: a lookup then goes
    // uncached, a mutation's invalidation is reported (./index.ts).
    // The lookups of one request's entities are issued together: one pipeline, one round trip.
    this.redis = new (ioredis().Redis)(url, { maxRetriesPerRequest: 1, connectionName: 'ali-graph-cache', enableAutoPipelining: true });
    this.redis.on('error', () => {}); // every command's failure reaches its caller
    const prefix = opts.keyPrefix ?? 'ali-graph:cache:';
    this.versionsKey = `${prefix}versions`;
    this.entryPrefix = `${prefix}e:`;
  }

  async versions(): Promise<Versions> {
    let all = await this.redis.hgetall(this.versionsKey);
    if (all['epoch'] === undefined) {
      await this.redis.hsetnx(this.versionsKey, 'epoch', randomBytes(8).toString('hex'));
      all = await this.redis.hgetall(this.versionsKey);
    }
    const tags: Record<string, number> = Object.create(null);
    for (const [tag, v] of Object.entries(all)) if (tag !== 'epoch') tags[tag] = Number(v);
    return { epoch: all['epoch']!, tags };
  }

  async get(key: string, now: Versions): Promise<Entry | undefined> {
    const local = this.entries.get(key);
    if (local && isCurrent(local, now)) return local;
    // Another gateway may have filled it again since this process kept its copy.
    const stored = await this.redis.get(this.entryPrefix + key);
    const entry = stored === null ? undefined : decodeEntry(stored);
    if (entry) this.keepLocally(key, entry);
    return entry ?? local;
  }

  set(key: string, entry: Entry): void {
    const ttl = ttlOf(entry);
    if (ttl <= 0) return;
    this.keepLocally(key, entry);
    this.redis.set(this.entryPrefix + key, encodeEntry(entry), 'PX', ttl).catch(() => {});
  }

  async bump(tags: readonly string[]): Promise<void> {
    const tx = this.redis.multi().hsetnx(this.versionsKey, 'epoch', randomBytes(8).toString('hex'));
    for (const tag of tags) tx.hincrby(this.versionsKey, tag, 1);
    const results = await tx.exec();
    const failed = results?.find(([err]) => err);
    if (!results || failed) throw failed?.[0] ?? new Error('the Redis transaction was discarded');
  }

  bytes(): number {
    return this.entries.calculatedSize;
  }

  async close(): Promise<void> {
    this.entries.clear();
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  private keepLocally(key: string, entry: Entry): void {
    const ttl = ttlOf(entry);
    if (ttl > 0) this.entries.set(key, entry, { ttl });
  }
}

export function createStore(opts: StoreOptions): CacheStore {
  return opts.redisUrl ? new RedisStore(opts.redisUrl, opts) : new MemoryStore(opts);
}
