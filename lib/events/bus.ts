/**
 * The event bus behind GraphQL subscriptions: a subgraph publishes one event per successful
 * mutation on a topic ("<subgraph>.<Subscription field>", e.g. "reuse.adoptionChanged"), and every
 * subscription of that topic, on every instance of that subgraph, receives it. The bus only
 * carries events live; what makes them durable and resumable is the event log (./log.ts).
 *
 * - In memory (default): one process; an EventEmitter with one listener per subscriber.
 * - Redis (`redisUrl`, from REDIS_URL): one publisher and one subscriber connection per bus, one
 *   channel per topic (`<channelPrefix><topic>`), subscribed while this process has a subscriber
 *   of that topic. Events published during a Redis outage are lost to the bus (pub/sub keeps
 *   nothing; the log still has them); ioredis resubscribes after a reconnect.
 *
 * Payloads travel as JSON in both modes (bigint, i.e. money in cents, as a decimal string; Date
 * as an ISO string), so a subscriber sees the same value whichever bus carried it. Each
 * subscriber's queue is bounded (./subscriber.ts).
 */
import { GraphQLError } from 'graphql';
import type { Redis } from 'ioredis';
import type { Logger } from '../log.ts';
import { ErrorCode } from '../errors.ts';
import { Fanout, type SubscribeOptions } from './subscriber.ts';
import { ioredis } from '../drivers.ts';

/** The contract between publishers (mutations) and subscriptions. */
export interface EventBus {
  /** Resolves once the event is handed on (memory: delivered here; Redis: accepted by Redis). */
  publish(topic: string, payload: unknown): Promise<void>;
  subscribe(topic: string, opts?: SubscribeOptions): AsyncIterableIterator<unknown>;
  /** Ends every subscription (done) and closes the connections. */
  close(): Promise<void>;
}

/** What {@link createEventBus} returns: the contract, plus what tests and change streams need. */
export interface LocalEventBus extends EventBus {
  readonly kind: 'memory' | 'redis';
  /** Subscribers of `topic` (or of all topics) in this process. */
  subscriberCount(topic?: string): number;
  /** Delivers to this process's subscribers only (change streams: every instance watches). */
  deliverLocally(topic: string, payload: unknown): void;
}

export type BusLogger = Pick<Logger, 'info' | 'warn' | 'error'>;

export interface EventBusOptions {
  /** Redis URL (REDIS_URL); unset: in memory, this process only. */
  readonly redisUrl?: string;
  /** Prefix of the Redis channels (default "ali-graph:events:"). */
  readonly channelPrefix?: string;
  /** Where publish and connection failures are logged (default: nowhere). */
  readonly log?: BusLogger;
}

export const DEFAULT_CHANNEL_PREFIX = 'ali-graph:events:';
const EVENT_BUS_UNAVAILABLE = ErrorCode.EVENT_BUS_UNAVAILABLE;

/** JSON with bigint as a decimal string (money in cents): what both buses carry. */
export function encodeEvent(payload: unknown): string {
  return JSON.stringify(payload, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

export function createEventBus(opts: EventBusOptions = {}): LocalEventBus {
  return opts.redisUrl ? new RedisEventBus(opts.redisUrl, opts.channelPrefix ?? DEFAULT_CHANNEL_PREFIX, opts.log) : new MemoryEventBus();
}

/** What both buses share: local subscribers behind one Fanout. */
abstract class FanoutBus implements LocalEventBus {
  abstract readonly kind: LocalEventBus['kind'];
  protected abstract readonly fanout: Fanout;
  protected closed = false;

  abstract publish(topic: string, payload: unknown): Promise<void>;

  subscribe(topic: string, opts: SubscribeOptions = {}): AsyncIterableIterator<unknown> {
    const sub = this.fanout.add(topic, opts);
    if (this.closed) sub.end();
    return sub;
  }

  deliverLocally(topic: string, payload: unknown): void {
    // Through JSON as on Redis: subscribers get the same values, and never the publisher's objects.
    this.fanout.deliver(topic, JSON.parse(encodeEvent(payload)));
  }

  subscriberCount(topic?: string): number {
    return this.fanout.count(topic);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.fanout.endAll();
  }
}

class MemoryEventBus extends FanoutBus {
  readonly kind = 'memory' as const;
  protected readonly fanout = new Fanout();

  async publish(topic: string, payload: unknown): Promise<void> {
    if (this.closed) throw new Error('event bus closed');
    this.deliverLocally(topic, payload);
  }
}

class RedisEventBus extends FanoutBus {
  readonly kind = 'redis' as const;
  private readonly publisher: Redis;
  private readonly subscriber: Redis;
  protected readonly fanout: Fanout;

  constructor(
    url: string,
    private readonly prefix: string,
    private readonly log: BusLogger | undefined,
  ) {
    super();
    // A publish during an outage fails after a couple of retries rather than holding the mutation.
    this.publisher = new (ioredis().Redis)(url, { maxRetriesPerRequest: 2, connectionName: 'ali-graph-events-pub' });
    this.subscriber = new (ioredis().Redis)(url, { maxRetriesPerRequest: 2, connectionName: 'ali-graph-events-sub' });
    for (const [role, conn] of [['publisher', this.publisher], ['subscriber', this.subscriber]] as const) {
      conn.on('error', (err: Error) => this.log?.warn({ err: err.message, role }, 'event bus: Redis connection error'));
    }
    this.fanout = new Fanout(
      (topic) => {
        this.subscriber.subscribe(this.prefix + topic).catch((err: Error) => {
          this.log?.error({ err: err.message, topic }, 'event bus: Redis SUBSCRIBE failed');
          this.fanout.failTopic(
            topic,
            new GraphQLError('The event bus is unavailable; subscribe again', { extensions: { code: EVENT_BUS_UNAVAILABLE } }),
          );
        });
      },
      (topic) => {
        if (this.closed) return;
        this.subscriber.unsubscribe(this.prefix + topic).catch((err: Error) => {
          this.log?.warn({ err: err.message, topic }, 'event bus: Redis UNSUBSCRIBE failed');
        });
      },
    );
    this.subscriber.on('message', (channel: string, message: string) => {
      if (!channel.startsWith(this.prefix)) return;
      let payload: unknown;
      try {
        payload = JSON.parse(message);
      } catch {
        return void this.log?.warn({ channel }, 'event bus: a message that is not JSON was ignored');
      }
      this.fanout.deliver(channel.slice(this.prefix.length), payload);
    });
  }

  async publish(topic: string, payload: unknown): Promise<void> {
    if (this.closed) throw new Error('event bus closed');
    try {
      await this.publisher.publish(this.prefix + topic, encodeEvent(payload));
    } catch (err) {
      this.log?.error({ err: (err as Error).message, topic }, 'event bus: Redis PUBLISH failed; the event is lost');
      throw err;
    }
  }

  override async close(): Promise<void> {
    if (this.closed) return;
    await super.close();
    await Promise.allSettled([this.publisher.quit(), this.subscriber.quit()]);
  }
}
