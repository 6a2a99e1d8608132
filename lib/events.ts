/**
 * The event bus behind GraphQL subscriptions: a subgraph publishes one event per successful
 * mutation on a topic ("<subgraph>.<Subscription field>", e.g. "reuse.adoptionChanged"), and every
 * subscription of that topic, on every instance of that subgraph, receives it.
 *
 * - In memory (default): one process; an EventEmitter with one listener per subscriber.
 * - Redis (`redisUrl`, from REDIS_URL): one publisher and one subscriber connection per bus, one
 *   channel per topic (`<channelPrefix><topic>`), subscribed while this process has a subscriber
 *   of that topic. Events published during a Redis outage are lost (pub/sub keeps nothing);
 *   ioredis resubscribes after a reconnect.
 *
 * Payloads travel as JSON in both modes (bigint, i.e. money in cents, as a decimal string; Date
 * as an ISO string), so a subscriber sees the same value whichever bus carried it.
 *
 * Bounded buffers: every subscriber has a queue of at most `bufferSize` events. A subscriber that
 * falls further behind is ended: its queue is dropped and its next `next()` rejects with a
 * {@link SlowConsumerError} (extensions.code SLOW_CONSUMER), so memory never grows with a stuck
 * consumer. `return()` (or the abort signal) releases the subscriber at once, even while a
 * `next()` is waiting.
 *
 * Change streams: {@link watchChanges} feeds events for writes made outside the API, where the
 * database has change streams (MongoDB replica set; FerretDB has none).
 */
import { EventEmitter } from 'node:events';
import { GraphQLError } from 'graphql';
import { Redis } from 'ioredis';
import type { ChangeStream, ChangeStreamDocument, Db, Document } from 'mongodb';
import type { Logger } from './log.ts';
import { detectCapabilities } from './mongo.ts';
import { AUDIT } from './writes.ts';
import { ErrorCode } from './errors.ts';

export interface SubscribeOptions {
  /** Ends the subscription (as `return()` does) when aborted. */
  readonly signal?: AbortSignal;
  /** Events a subscriber may have waiting before it is ended with SLOW_CONSUMER (default 1000). */
  readonly bufferSize?: number;
  /** Events for which it returns false are not delivered (nor buffered). */
  readonly filter?: (payload: unknown) => boolean;
}

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

export type EventLog = Pick<Logger, 'info' | 'warn' | 'error'>;

export interface EventBusOptions {
  /** Redis URL (REDIS_URL); unset: in memory, this process only. */
  readonly redisUrl?: string;
  /** Prefix of the Redis channels (default "ali-graph:events:"). */
  readonly channelPrefix?: string;
  /** Where publish and connection failures are logged (default: nowhere). */
  readonly log?: EventLog;
}

export const DEFAULT_BUFFER_SIZE = 1000;
export const DEFAULT_CHANNEL_PREFIX = 'ali-graph:events:';
export const SLOW_CONSUMER = ErrorCode.SLOW_CONSUMER;
export const EVENT_BUS_UNAVAILABLE = ErrorCode.EVENT_BUS_UNAVAILABLE;

/** A subscriber fell more than `bufferSize` events behind and was ended. */
export class SlowConsumerError extends GraphQLError {
  constructor(bufferSize: number) {
    super(`The subscriber fell more than ${bufferSize} events behind and was ended; subscribe again`, {
      extensions: { code: SLOW_CONSUMER, bufferSize },
    });
  }
}

/** JSON with bigint as a decimal string (money in cents): what both buses carry. */
export function encodeEvent(payload: unknown): string {
  return JSON.stringify(payload, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

export function createEventBus(opts: EventBusOptions = {}): LocalEventBus {
  return opts.redisUrl ? new RedisEventBus(opts.redisUrl, opts.channelPrefix ?? DEFAULT_CHANNEL_PREFIX, opts.log) : new MemoryEventBus();
}

/**
 * Publishes the event of a write that succeeded. The change is made and audited whatever happens
 * here, so a bus failure (logged by the bus) must not turn the mutation into an error that would
 * make the client retry a change already made.
 */
export async function publishAfterWrite(bus: EventBus, topic: string, payload: unknown): Promise<void> {
  try {
    await bus.publish(topic, payload);
  } catch {
    // Logged by the bus.
  }
}

// ---------------------------------------------------------------------------------------------
// Subscribers

type SubscriberState =
  | { readonly phase: 'open' }
  | { readonly phase: 'failed'; readonly error: Error }
  | { readonly phase: 'done' };

/** One subscription: a bounded queue between the bus (push) and the consumer (next). */
class Subscriber implements AsyncIterableIterator<unknown> {
  private state: SubscriberState = { phase: 'open' };
  private queue: unknown[] = [];
  private waiting: { resolve: (r: IteratorResult<unknown>) => void; reject: (e: unknown) => void }[] = [];
  private readonly bufferSize: number;
  private readonly filter: ((payload: unknown) => boolean) | undefined;
  private readonly signal: AbortSignal | undefined;
  private readonly onAbort = () => void this.return();

  constructor(
    readonly topic: string,
    private readonly detach: (s: Subscriber) => void,
    opts: SubscribeOptions,
  ) {
    this.bufferSize = opts.bufferSize ?? DEFAULT_BUFFER_SIZE;
    if (!Number.isInteger(this.bufferSize) || this.bufferSize < 1) throw new RangeError('bufferSize must be an integer ≥ 1');
    this.filter = opts.filter;
    this.signal = opts.signal;
    this.signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  /** Called by the bus for every event of the topic. */
  readonly push = (payload: unknown): void => {
    if (this.state.phase !== 'open') return;
    try {
      if (this.filter && !this.filter(payload)) return;
    } catch (err) {
      return this.fail(err instanceof Error ? err : new Error(String(err)));
    }
    const waiter = this.waiting.shift();
    if (waiter) return waiter.resolve({ value: payload, done: false });
    if (this.queue.length >= this.bufferSize) return this.fail(new SlowConsumerError(this.bufferSize));
    this.queue.push(payload);
  };

  /** Ends the subscriber with `error`: released now, the error on the next `next()`. */
  fail(error: Error): void {
    if (this.state.phase !== 'open') return;
    this.release();
    const waiter = this.waiting.shift();
    if (waiter) {
      this.state = { phase: 'done' };
      waiter.reject(error);
    } else {
      this.state = { phase: 'failed', error };
    }
    this.finishWaiters();
  }

  /** Ends the subscriber normally (bus closed). */
  end(): void {
    if (this.state.phase !== 'open') return;
    this.release();
    this.state = { phase: 'done' };
    this.finishWaiters();
  }

  next(): Promise<IteratorResult<unknown>> {
    if (this.queue.length > 0) return Promise.resolve({ value: this.queue.shift(), done: false });
    const state = this.state;
    if (state.phase === 'failed') {
      this.state = { phase: 'done' };
      return Promise.reject(state.error);
    }
    if (state.phase === 'done') return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  return(): Promise<IteratorResult<unknown>> {
    if (this.state.phase === 'open') this.release();
    this.state = { phase: 'done' };
    this.queue = [];
    this.finishWaiters();
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(err?: unknown): Promise<IteratorResult<unknown>> {
    void this.return();
    return Promise.reject(err);
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<unknown> {
    return this;
  }

  private release(): void {
    this.signal?.removeEventListener('abort', this.onAbort);
    this.detach(this);
    // A failed subscriber keeps nothing: its queue goes now, not when the consumer comes back.
    this.queue = [];
  }

  private finishWaiters(): void {
    for (const w of this.waiting.splice(0)) w.resolve({ value: undefined, done: true });
  }
}

/** Local fan-out: one EventEmitter listener per subscriber; hooks on a topic's first and last. */
class Fanout {
  readonly emitter = new EventEmitter();
  private readonly subscribers = new Set<Subscriber>();

  constructor(
    private readonly onFirst: (topic: string) => void = () => {},
    private readonly onLast: (topic: string) => void = () => {},
  ) {
    this.emitter.setMaxListeners(0);
  }

  add(topic: string, opts: SubscribeOptions): Subscriber {
    const sub = new Subscriber(topic, (s) => {
      if (!this.subscribers.delete(s)) return;
      this.emitter.removeListener(topic, s.push);
      if (this.emitter.listenerCount(topic) === 0) this.onLast(topic);
    }, opts);
    if (opts.signal?.aborted) {
      void sub.return();
      return sub;
    }
    const first = this.emitter.listenerCount(topic) === 0;
    this.subscribers.add(sub);
    this.emitter.on(topic, sub.push);
    if (first) this.onFirst(topic);
    return sub;
  }

  deliver(topic: string, payload: unknown): void {
    this.emitter.emit(topic, payload);
  }

  count(topic?: string): number {
    if (topic !== undefined) return this.emitter.listenerCount(topic);
    return this.emitter.eventNames().reduce((n, t) => n + this.emitter.listenerCount(t), 0);
  }

  failTopic(topic: string, error: Error): void {
    for (const s of [...this.subscribers]) if (s.topic === topic) s.fail(error);
  }

  endAll(): void {
    for (const s of [...this.subscribers]) s.end();
  }
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
    private readonly log: EventLog | undefined,
  ) {
    super();
    // A publish during an outage fails after a couple of retries rather than holding the mutation.
    this.publisher = new Redis(url, { maxRetriesPerRequest: 2, connectionName: 'ali-graph-events-pub' });
    this.subscriber = new Redis(url, { maxRetriesPerRequest: 2, connectionName: 'ali-graph-events-sub' });
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

// ---------------------------------------------------------------------------------------------
// Change streams (optional)

/** How one collection's changes become events (declared by the subgraph, in data/events.ts). */
export interface ChangeFeed {
  readonly collection: string;
  /** The event of an insert, update or replace whose document is `doc`; null for none. */
  toEvent(doc: Document, operation: 'insert' | 'update' | 'replace'): { topic: string; payload: unknown } | null;
}

export type ChangeStreamMode = 'auto' | 'off';

export interface RunningChangeFeeds {
  readonly active: boolean;
  stop(): Promise<void>;
}

/**
 * Publishes events for writes made OUTSIDE the API, by watching `feeds` with change streams.
 * UNTESTED AGAINST MONGODB: this project's tests run on FerretDB, which has no change streams,
 * so only the detection (off on FerretDB) is tested.
 *
 * - `mode` off, or a database without change streams (detected: FerretDB has none, MongoDB needs
 *   a replica set), or a bus without `deliverLocally`: nothing is watched, and the log says why.
 * - Every instance of a subgraph watches, so each delivers to its own subscribers only
 *   ({@link LocalEventBus.deliverLocally}), never through Redis: one event per subscriber.
 * - A write made through the API has its audit record "<collection>/<id>@<version>" whose `after`
 *   is the document as written; such changes are skipped, since the mutation published their
 *   event already. A write that bypasses the API either has no audit record for its version or
 *   leaves a document that differs from the record's `after`.
 * - Deletes publish nothing (no event kind for them). Updates use `fullDocument: 'updateLookup'`,
 *   i.e. the document as it is when the change is read.
 */
export async function watchChanges(
  db: Db,
  feeds: readonly ChangeFeed[],
  bus: EventBus & Partial<Pick<LocalEventBus, 'deliverLocally'>>,
  opts: { mode: ChangeStreamMode; subgraph: string; log?: (line: string) => void },
): Promise<RunningChangeFeeds> {
  const { log } = opts;
  const inactive: RunningChangeFeeds = { active: false, stop: async () => {} };
  if (feeds.length === 0) return inactive;
  if (opts.mode === 'off') {
    log?.(`${opts.subgraph}: change streams off (CHANGE_STREAMS=off): only API mutations publish events`);
    return inactive;
  }
  const caps = await detectCapabilities(db);
  if (!caps.changeStreams) {
    const why = caps.server === 'ferretdb' ? `FerretDB ${caps.version} has none` : 'MongoDB without a replica set has none';
    log?.(`${opts.subgraph}: change streams off (${why}): only API mutations publish events`);
    return inactive;
  }
  const deliverLocally = bus.deliverLocally?.bind(bus);
  if (!deliverLocally) {
    log?.(`${opts.subgraph}: change streams off (the event bus cannot deliver locally; use createEventBus): only API mutations publish events`);
    return inactive;
  }
  const deliver: (topic: string, payload: unknown) => void = deliverLocally;
  const byCollection = new Map(feeds.map((f) => [f.collection, f]));
  const stream: ChangeStream = db.watch(
    [{ $match: { operationType: { $in: ['insert', 'update', 'replace'] }, 'ns.coll': { $in: [...byCollection.keys()] } } }],
    { fullDocument: 'updateLookup' },
  );
  stream.on('change', (change: ChangeStreamDocument) => {
    void handle(change).catch((err: Error) => log?.(`${opts.subgraph}: a change stream event was not published: ${err.message}`));
  });
  stream.on('error', (err: Error) => log?.(`${opts.subgraph}: the change stream failed (${err.message}); outside writes no longer publish events`));
  async function handle(change: ChangeStreamDocument): Promise<void> {
    if (change.operationType !== 'insert' && change.operationType !== 'update' && change.operationType !== 'replace') return;
    const doc = change.fullDocument;
    const feed = byCollection.get(change.ns.coll);
    if (!doc || !feed) return;
    const version = doc.version === undefined || doc.version === null ? 0 : Number(doc.version);
    const audit = await db.collection<{ _id: string; after: unknown }>(AUDIT).findOne({ _id: `${feed.collection}/${String(doc._id)}@${version}` });
    if (audit && encodeEvent(audit.after) === encodeEvent(doc)) return; // made through the API: published already
    const event = feed.toEvent(doc, change.operationType);
    if (event) deliver(event.topic, event.payload);
  }
  log?.(`${opts.subgraph}: watching ${[...byCollection.keys()].join(', ')} with change streams for writes made outside the API`);
  return { active: true, stop: () => stream.close() };
}
