/**
 * Rate limits: a fixed window of requests per key (per IP for anonymous callers), per
 * role, with rate-limiter-flexible. In process memory by default; in Redis when a URL is given, so
 * every gateway instance draws on one budget. When Redis is unreachable, each instance falls back
 * to its own in-memory limiter (the library's insurance limiter) and says so in the log: a Redis
 * outage loosens the limits, it never fails a request.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Role } from '../lib/access.ts';
import type { Config } from '../lib/config.ts';
import { ioredis } from '../lib/drivers.ts';

export type RateDecision =
  | { readonly allowed: true; readonly limit: number; readonly remaining: number; readonly resetSeconds: number }
  | { readonly allowed: false; readonly limit: number; readonly retryAfterSeconds: number };

/** Where the counters are: this process, or Redis (answered from memory while not connected). */
export type RateLimiterState = { readonly store: 'memory' } | { readonly store: 'redis'; readonly connected: boolean };

export interface RateLimiter {
  /** Counts one request of `key` (a key name, JWT subject or client IP) under `role`'s budget. */
  consume(key: string, role: Role): Promise<RateDecision>;
  state(): RateLimiterState;
  /** Closes the Redis connection, if any. */
  close(): Promise<void>;
}

export interface RateLimiterOptions {
  /** Requests per window, per role (RATE_LIMITS); a role without an entry is not limited. */
  readonly limits: NonNullable<Config['RATE_LIMITS']>;
  /** Redis shared by every gateway instance (REDIS_URL); default: this process's memory. */
  readonly redisUrl?: string;
  /** Prefix of the Redis keys (default `ali:rl`); one `<prefix>:<role>:<key>` counter per window. */
  readonly keyPrefix?: string;
  readonly log?: Logger;
}

/** How long one Redis command may take before the insurance limiter answers instead. */
const REDIS_COMMAND_TIMEOUT_MS = 500;

/** The decision for a role without a limit (send no rate-limit headers: `limit` is Infinity). */
const UNLIMITED: RateDecision = Object.freeze({ allowed: true, limit: Number.POSITIVE_INFINITY, remaining: Number.POSITIVE_INFINITY, resetSeconds: 0 });

const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

export function createRateLimiter(opts: RateLimiterOptions): RateLimiter {
  const prefix = opts.keyPrefix ?? 'ali:rl';
  const connection = opts.redisUrl ? connectRedis(opts.redisUrl, opts.log) : undefined;
  const redis = connection?.redis;

  const limiters = new Map<Role, { readonly points: number; readonly limiter: RateLimiterAbstract }>();
  for (const [role, rate] of Object.entries(opts.limits) as [Role, { points: number; seconds: number } | undefined][]) {
    if (!rate) continue;
    const common = { points: rate.points, duration: rate.seconds, keyPrefix: `${prefix}:${role}` };
    const limiter = redis
      ? new RateLimiterRedis({
          ...common,
          storeClient: redis,
          // Answer from memory at once while the connection is down, rather than queue or wait.
          rejectIfRedisNotReady: true,
          insuranceLimiter: new RateLimiterMemory(common),
        })
      : new RateLimiterMemory(common);
    limiters.set(role, { points: rate.points, limiter });
  }

  return {
    async consume(key, role) {
      const entry = limiters.get(role);
      if (!entry) return UNLIMITED;
      try {
        const res = await entry.limiter.consume(key);
        return { allowed: true, limit: entry.points, remaining: res.remainingPoints, resetSeconds: seconds(res.msBeforeNext) };
      } catch (err) {
        if (err instanceof RateLimiterRes) return { allowed: false, limit: entry.points, retryAfterSeconds: seconds(err.msBeforeNext) };
        // Not expected (the insurance limiter answers for Redis): let the request through.
        opts.log?.error({ err, role }, 'rate limiter failed; request let through');
        return { allowed: true, limit: entry.points, remaining: entry.points, resetSeconds: 0 };
      }
    },
    state: () => (redis ? { store: 'redis', connected: redis.status === 'ready' } : { store: 'memory' }),
    async close() {
      if (!connection || !redis) return;
      connection.closing = true;
      if (redis.status === 'ready') await redis.quit().catch(() => redis.disconnect());
      else redis.disconnect();
    },
  };
}

/** An ioredis client that fails fast when Redis is away and logs each change of availability once. */
function connectRedis(url: string, log: Logger | undefined): { readonly redis: Redis; closing: boolean } {
  const redis = new (ioredis().Redis)(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
    connectionName: 'ali-gateway-rate-limits',
  });
  const where = redactedUrl(url);
  const connection = { redis, closing: false };
  let up: boolean | undefined;
  redis.on('ready', () => {
    if (up !== true) log?.info({ redis: where }, 'rate limits shared through Redis');
    up = true;
  });
  redis.on('error', (err: Error) => {
    if (up !== false && !connection.closing) log?.warn({ redis: where, err: err.message }, 'Redis unavailable: rate limits enforced per process until it is back');
    up = false;
  });
  redis.on('close', () => {
    if (up === true && !connection.closing) log?.warn({ redis: where }, 'Redis connection lost: rate limits enforced per process until it is back');
    up = false;
  });
  return connection;
}

function redactedUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'redis';
  }
}
