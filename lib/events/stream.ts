/**
 * One subscription's events, from the event log and the bus: every matching event after a start
 * position, in log order, each once — replayed from the log, then live from the bus, with no gap
 * and no duplicate at the seam, whichever instance of the subgraph wrote it.
 *
 * The stream keeps a cursor, the last position it has passed. It subscribes to the bus before it
 * reads anything, so nothing published from then on is missed, then:
 * - resuming after a position, it checks that the log still has every event after it (else
 *   EVENT_ID_EXPIRED, or EVENT_ID_UNKNOWN for a position past the head) and replays from it;
 * - starting afresh, it starts at the log's head (or just before the first event the bus brought
 *   meanwhile, so that one is not lost).
 * A live event at cursor+1 is taken from the bus as it is; one at or below the cursor is dropped
 * (replayed already); one further ahead means the bus missed events (a publish lost in a crash or
 * a Redis outage, another instance's out of order, the replay not finished): the stream reads the
 * log from its cursor instead. The log is dense (./log.ts), so reading it in order passes every
 * position: entries of other topics and void ones are skipped, an applied one of this topic is
 * delivered if it passes the filter, and a pending one is waited for (its writer marks it within
 * milliseconds) or, once older than the claim timeout, settled (lib/writes.ts).
 */
import { GraphQLError } from 'graphql';
import type { Db, Document } from 'mongodb';
import { AUDIT, CLAIM_TIMEOUT_MS, settleStaleEvent, type AuditDoc } from '../writes.ts';
import type { EventBus } from './bus.ts';
import { EventIdCode, formatEventId } from './ids.ts';
import { checkPosition, entriesAfter, findEntry, headPosition, positionOf, type LogEntry } from './log.ts';
import { entityOf, payloadOf, startMarker, withMeta, type Envelope, type EventSource } from './source.ts';

/** What every stream of one subgraph reads from. */
export interface LogContext {
  readonly db: Db;
  readonly subgraph: string;
  readonly bus: EventBus;
  /** Event sources by collection. */
  readonly sources: ReadonlyMap<string, EventSource>;
  /** Counts events read from the log rather than the bus. */
  readonly onReplayed?: (topic: string) => void;
}

export interface LogStreamOptions {
  readonly topic: string;
  readonly filter?: (payload: unknown) => boolean;
  /** Replay after this position; null: start at the head. */
  readonly after: number | null;
  /** Yield a start marker first (the gateway's protocol, ./ids.ts). */
  readonly announce: boolean;
  readonly signal?: AbortSignal;
  readonly bufferSize?: number;
}

/** Entries read from the log at once. */
const BATCH = 100;
/** How long a stream waiting on a pending entry waits for the bus before it reads the log again. */
const PENDING_POLL_MS = 200;

const DONE: IteratorResult<unknown> = { value: undefined, done: true };

function positionError(code: 'expired' | 'unknown', id: string): GraphQLError {
  return code === 'expired'
    ? new GraphQLError(`The event log no longer has the events after ${id} (older than its retention): subscribe without a resume position and read the current state by query`, {
        extensions: { code: EventIdCode.EVENT_ID_EXPIRED, eventId: id },
      })
    : new GraphQLError(`${id} is not a position of this event log`, { extensions: { code: EventIdCode.EVENT_ID_UNKNOWN, eventId: id } });
}

export class LogStream implements AsyncIterableIterator<unknown> {
  private cursor = 0;
  private behind = false;
  private starting = true;
  private firstSeen: number | undefined;
  private done = false;
  private readonly ready: unknown[] = [];
  private readonly live: AsyncIterableIterator<unknown>;
  /** A bus `next()` that outlived a wait: the next wait takes it over, so no event is dropped. */
  private waiting: Promise<IteratorResult<unknown>> | undefined;

  constructor(
    private readonly ctx: LogContext,
    private readonly opts: LogStreamOptions,
  ) {
    this.live = ctx.bus.subscribe(opts.topic, {
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.bufferSize ? { bufferSize: opts.bufferSize } : {}),
      filter: (envelope) => {
        const position = (envelope as Envelope).position;
        if (this.starting && position !== undefined) this.firstSeen = Math.min(this.firstSeen ?? position, position);
        return true;
      },
    });
  }

  /** Finds the start position (refusing a resume position the log cannot serve). */
  async start(): Promise<void> {
    const { db, subgraph } = this.ctx;
    if (this.opts.after !== null) {
      const check = await checkPosition(db, this.opts.after);
      if (check !== 'ok') throw positionError(check, formatEventId(subgraph, this.opts.after));
      this.cursor = this.opts.after;
      this.behind = true;
    } else {
      const head = await headPosition(db);
      this.cursor = this.firstSeen !== undefined ? Math.min(head, this.firstSeen - 1) : head;
      this.behind = this.cursor < head;
    }
    this.starting = false;
    if (this.opts.announce) this.ready.push(startMarker(formatEventId(subgraph, this.cursor)));
  }

  async next(): Promise<IteratorResult<unknown>> {
    for (;;) {
      if (this.done) return DONE;
      if (this.ready.length > 0) return { value: this.ready.shift(), done: false };
      if (this.behind) {
        await this.catchUp();
        if (this.ready.length > 0 || !this.behind) continue;
      }
      const r = await this.nextLive(this.behind ? PENDING_POLL_MS : undefined);
      if (r === 'timeout') continue;
      if (r.done) {
        this.done = true;
        return DONE;
      }
      this.accept(r.value as Envelope);
    }
  }

  async return(): Promise<IteratorResult<unknown>> {
    this.done = true;
    this.ready.length = 0;
    await this.live.return?.();
    return DONE;
  }

  async throw(err?: unknown): Promise<IteratorResult<unknown>> {
    await this.return();
    throw err;
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<unknown> {
    return this;
  }

  private matches(payload: unknown): boolean {
    return !this.opts.filter || this.opts.filter(payload);
  }

  private deliver(position: number, entity: string, payload: unknown, replayed: boolean): void {
    this.cursor = position;
    if (!this.matches(payload)) return;
    this.ready.push(this.opts.announce ? withMeta(payload, { id: formatEventId(this.ctx.subgraph, position), entity, replayed }) : payload);
  }

  /** One event from the bus. */
  private accept(envelope: Envelope): void {
    if (envelope.position === undefined) return void this.ready.push(envelope.payload); // outside the API: live only
    if (envelope.position <= this.cursor) return;
    if (envelope.position === this.cursor + 1) return this.deliver(envelope.position, envelope.entity ?? '', envelope.payload, false);
    this.behind = true;
  }

  /** The bus's next event, or 'timeout' after `timeoutMs` (the pending `next()` is kept for the next wait). */
  private async nextLive(timeoutMs: number | undefined): Promise<IteratorResult<unknown> | 'timeout'> {
    const pending = (this.waiting ??= this.live.next());
    if (timeoutMs === undefined) {
      this.waiting = undefined;
      return pending;
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(resolve, timeoutMs, 'timeout')));
    const r = await Promise.race([pending, timeout]);
    clearTimeout(timer);
    if (r !== 'timeout') this.waiting = undefined;
    return r;
  }

  /** Reads the log after the cursor: delivers what it can, stops at a pending entry of this topic. */
  private async catchUp(): Promise<void> {
    const batch = await entriesAfter(this.ctx.db, this.cursor, BATCH);
    for (const entry of batch) {
      if (this.done) return;
      const position = positionOf(entry);
      if (position !== this.cursor + 1) {
        // A hole: this read missed an entry being written (read again), or the retention took it.
        if (await findEntry(this.ctx.db, this.cursor + 1)) return;
        throw positionError('expired', formatEventId(this.ctx.subgraph, this.cursor));
      }
      if (!(await this.take(entry))) return;
    }
    if (batch.length < BATCH) this.behind = false;
  }

  /** One entry at cursor+1; false when it is pending and must be waited for. */
  private async take(entry: LogEntry): Promise<boolean> {
    const position = positionOf(entry);
    const source = this.ctx.sources.get(entry.collection);
    let state = entry.state;
    if (!source || source.topic !== this.opts.topic || state === 'void') {
      this.cursor = position;
      return true;
    }
    if (state === 'pending') {
      if (Date.now() - entry.at.getTime() < CLAIM_TIMEOUT_MS) return false;
      state = await settleStaleEvent(this.ctx.db, entry);
    }
    const record = state === 'applied' ? await this.ctx.db.collection<AuditDoc<Document>>(AUDIT).findOne({ _id: entry.audit }) : null;
    if (!record) {
      this.cursor = position;
      return true;
    }
    this.ctx.onReplayed?.(this.opts.topic);
    this.deliver(position, entityOf(record), payloadOf(source, record, true), true);
    return true;
  }
}

/** Opens a stream: subscribed to the bus, its start position found (or the resume position refused). */
export async function openLogStream(ctx: LogContext, opts: LogStreamOptions): Promise<LogStream> {
  const stream = new LogStream(ctx, opts);
  try {
    await stream.start();
  } catch (err) {
    await stream.return();
    throw err;
  }
  return stream;
}
