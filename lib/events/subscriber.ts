/**
 * One subscription of the event bus (./bus.ts): a bounded queue between the bus (push) and the
 * consumer (next), and the local fan-out of a topic's events to its subscribers.
 *
 * Bounded buffers: every subscriber has a queue of at most `bufferSize` events. A subscriber that
 * falls further behind is ended: its queue is dropped and its next `next()` rejects with a
 * {@link SlowConsumerError} (extensions.code SLOW_CONSUMER), so memory never grows with a stuck
 * consumer. `return()` (or the abort signal) releases the subscriber at once, even while a
 * `next()` is waiting.
 */
import { EventEmitter } from 'node:events';
import { GraphQLError } from 'graphql';
import { ErrorCode } from '../errors.ts';

export interface SubscribeOptions {
  /** Ends the subscription (as `return()` does) when aborted. */
  readonly signal?: AbortSignal;
  /** Events a subscriber may have waiting before it is ended with SLOW_CONSUMER (default 1000). */
  readonly bufferSize?: number;
  /** Events for which it returns false are not delivered (nor buffered). */
  readonly filter?: (payload: unknown) => boolean;
}

const DEFAULT_BUFFER_SIZE = 1000;
export const SLOW_CONSUMER = ErrorCode.SLOW_CONSUMER;

/** A subscriber fell more than `bufferSize` events behind and was ended. */
export class SlowConsumerError extends GraphQLError {
  constructor(bufferSize: number) {
    super(`The subscriber fell more than ${bufferSize} events behind and was ended; subscribe again`, {
      extensions: { code: SLOW_CONSUMER, bufferSize },
    });
  }
}

type SubscriberState =
  | { readonly phase: 'open' }
  | { readonly phase: 'failed'; readonly error: Error }
  | { readonly phase: 'done' };

/** One subscription: a bounded queue between the bus (push) and the consumer (next). */
export class Subscriber implements AsyncIterableIterator<unknown> {
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
export class Fanout {
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
