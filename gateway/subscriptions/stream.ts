/**
 * One client subscription's stream of results: upstream events are queued raw (as the owning
 * subgraph sent them) and resolved into client results one at a time, when the transport asks for
 * the next one. The transports (graphql-ws, SSE) ask only once the previous result has been written
 * to the socket, so a client that reads slowly leaves events in this queue, and the queue is
 * bounded: past `maxQueued` events (or when the transport reports too many bytes waiting), the
 * stream calls `onOverflow` once and ends.
 *
 * It is the AsyncGenerator graphql-ws expects: `return()` (client `complete`, socket closed) ends
 * it at once, even while a `next()` waits, and runs `onEnd` exactly once.
 *
 * Positions: with `positions` on (SSE, webhooks), the event-log position a subscription starts from
 * comes out as a result of its own ({@link isPosition}), in order with the events, for the
 * transport to pass on as an SSE `id:` line; graphql-ws, which has nowhere to put it, leaves it off.
 */
import type { ExecutionResult } from 'graphql';

const POSITION = Symbol('ali-graph.position');
const EVENT = Symbol('ali-graph.event');

/** What a result of a logged event carries besides `extensions.eventId`. */
export interface ResultEvent {
  readonly id: string;
  /** "<collection>/<document id>" */
  readonly entity: string;
  readonly replayed: boolean;
}

/** A result that is only a position (an SSE `id:` line, a webhook cursor). */
export function isPosition(result: ExecutionResult): result is ExecutionResult & { [POSITION]: string } {
  return POSITION in result;
}

function positionResult(id: string): ExecutionResult {
  return { [POSITION]: id } as ExecutionResult;
}

export function positionId(result: ExecutionResult & { [POSITION]: string }): string {
  return result[POSITION];
}

/** The event a result was resolved from, if it came from an event log. */
export function eventOf(result: ExecutionResult): ResultEvent | undefined {
  return (result as { [EVENT]?: ResultEvent })[EVENT];
}

export function withEvent(result: ExecutionResult, event: ResultEvent): ExecutionResult {
  return Object.assign(result, { [EVENT]: event });
}

export interface EventStreamOptions<Raw> {
  /** Turns one upstream event into the client's result (runs the rest of the query plan). */
  readonly resolve: (raw: Raw) => Promise<ExecutionResult>;
  /** Upstream events waiting for the client, at most (default 100). */
  readonly maxQueued: number;
  /** The transport's own backlog is too large (bytes waiting in the socket). */
  readonly congested?: () => boolean;
  /** Called once when the client cannot keep up; the stream has ended. */
  readonly onOverflow: (queued: number) => void;
  /** Called once when the stream ends, whatever the reason (releases the upstream and the quota). */
  readonly onEnd: () => void;
  /** Yield positions (default off). */
  readonly positions?: boolean;
}

type State = { readonly phase: 'open' } | { readonly phase: 'draining' } | { readonly phase: 'ended' };

type Item<Raw> =
  | { readonly kind: 'event'; readonly raw: Raw }
  | { readonly kind: 'final'; readonly result: ExecutionResult }
  | { readonly kind: 'position'; readonly id: string };

export class EventStream<Raw> implements AsyncGenerator<ExecutionResult, undefined, unknown> {
  private readonly queue: Item<Raw>[] = [];
  private state: State = { phase: 'open' };
  private wake: (() => void) | undefined;

  constructor(private readonly opts: EventStreamOptions<Raw>) {}

  /** Events waiting for the client. */
  get queued(): number {
    return this.queue.length;
  }

  get ended(): boolean {
    return this.state.phase === 'ended';
  }

  /** An upstream event. */
  push(raw: Raw): void {
    if (this.state.phase !== 'open') return;
    if (this.queue.length >= this.opts.maxQueued || this.opts.congested?.()) {
      const queued = this.queue.length;
      this.end();
      this.opts.onOverflow(queued);
      return;
    }
    this.queue.push({ kind: 'event', raw });
    this.signal();
  }

  /** The position the subscription starts (or resumes) from; only with `positions` on. */
  position(id: string): void {
    if (this.state.phase !== 'open' || !this.opts.positions) return;
    this.queue.push({ kind: 'position', id });
    this.signal();
  }

  /** Ends the stream after the queued events, with `result` (an error) as its last one. */
  finish(result?: ExecutionResult): void {
    if (this.state.phase !== 'open') return;
    if (result) this.queue.push({ kind: 'final', result });
    this.state = { phase: 'draining' };
    this.signal();
  }

  async next(): Promise<IteratorResult<ExecutionResult, undefined>> {
    for (;;) {
      if (this.state.phase === 'ended') return { done: true, value: undefined };
      const item = this.queue.shift();
      if (item) {
        const result = item.kind === 'event' ? await this.opts.resolve(item.raw) : item.kind === 'final' ? item.result : positionResult(item.id);
        // Completed by the client while the event was being resolved: nothing more is sent.
        if (this.ended) return { done: true, value: undefined };
        return { done: false, value: result };
      }
      if (this.state.phase === 'draining') {
        this.end();
        return { done: true, value: undefined };
      }
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  async return(): Promise<IteratorResult<ExecutionResult, undefined>> {
    this.end();
    return { done: true, value: undefined };
  }

  async throw(err: unknown): Promise<IteratorResult<ExecutionResult, undefined>> {
    this.end();
    throw err;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private end(): void {
    if (this.state.phase === 'ended') return;
    this.state = { phase: 'ended' };
    this.queue.length = 0;
    this.signal();
    this.opts.onEnd();
  }

  private signal(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
