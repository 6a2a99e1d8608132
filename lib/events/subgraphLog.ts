/**
 * A subgraph's events, as its resolvers reach them (`ctx.events`): mutations publish the event of
 * the change they made (its log entry is written already, lib/writes.ts), subscriptions open a
 * stream of the log and the bus (./stream.ts) from where the request asks (the gateway's
 * `extensions.eventLog`, ./ids.ts) or from now. It also keeps the log within its retention.
 */
import { GraphQLError } from 'graphql';
import type { Db, Document } from 'mongodb';
import type { AuditDoc, Change } from '../writes.ts';
import type { EventBus } from './bus.ts';
import { EventIdCode, parseEventId, type ResumeRequest } from './ids.ts';
import { primeEventLog, trimEventLog } from './log.ts';
import type { EventMetrics } from './metrics.ts';
import { entityOf, payloadOf, type Envelope, type EventSource } from './source.ts';
import { openLogStream, type LogContext } from './stream.ts';

/** What resolvers call. */
export interface SubgraphEvents {
  /** Publishes the event of a change a mutation made. Never fails: the log has the event whatever the bus does. */
  publish(change: Change<object>): Promise<void>;
  /** The events of `topic` that pass `filter`: resumed where the request asks, else from now. */
  subscribe(topic: string, opts?: { readonly filter?: (payload: unknown) => boolean }): Promise<AsyncIterableIterator<unknown>>;
}

export interface EventLogOptions {
  readonly db: Db;
  readonly subgraph: string;
  readonly sources: readonly EventSource[];
  readonly bus: EventBus;
  /** How long the log keeps an event (EVENT_RETENTION_DAYS). */
  readonly retentionMs: number;
  readonly metrics?: EventMetrics | undefined;
  readonly log?: ((line: string) => void) | undefined;
}

/** How often the retention runs (and once at start). */
const TRIM_INTERVAL_MS = 60 * 60 * 1000;

export class SubgraphEventLog {
  private readonly ctx: LogContext;
  private readonly byCollection: ReadonlyMap<string, EventSource>;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: EventLogOptions) {
    this.byCollection = new Map(opts.sources.map((s) => [s.collection, s]));
    this.ctx = { db: opts.db, subgraph: opts.subgraph, bus: opts.bus, sources: this.byCollection, onReplayed: (topic) => opts.metrics?.replayed(topic) };
  }

  /** Learns the log's head and trims it now and every hour. */
  async start(): Promise<void> {
    await primeEventLog(this.opts.db);
    await this.trim();
    this.timer = setInterval(() => void this.trim(), TRIM_INTERVAL_MS).unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Deletes the events older than the retention; returns how many. */
  async trim(now = Date.now()): Promise<number> {
    try {
      const n = await trimEventLog(this.opts.db, this.opts.retentionMs, now);
      if (n > 0) this.opts.log?.(`${this.opts.subgraph}: event log: ${n} events older than the retention deleted`);
      return n;
    } catch (err) {
      this.opts.log?.(`${this.opts.subgraph}: event log: the retention failed (${(err as Error).message}); next try within the hour`);
      return 0;
    }
  }

  async publish(change: Change<object>): Promise<void> {
    const record = change.event.record as AuditDoc<Document>;
    const source = this.byCollection.get(record.collection);
    if (!source) return;
    this.opts.metrics?.appended(source.topic);
    const envelope: Envelope = { position: change.event.position, entity: entityOf(record), payload: payloadOf(source, record, false) };
    try {
      await this.opts.bus.publish(source.topic, envelope);
    } catch {
      // Logged by the bus. Subscribers read the event from the log when the next one shows the gap,
      // and resuming ones replay it.
    }
  }

  /** The events as one request sees them: subscriptions resume where `resume` says. */
  forRequest(resume: ResumeRequest | undefined): SubgraphEvents {
    return {
      publish: (change) => this.publish(change),
      subscribe: async (topic, opts = {}) => {
        let after: number | null = null;
        if (resume?.after != null) {
          const parsed = parseEventId(resume.after);
          if (!parsed || parsed.subgraph !== this.opts.subgraph) {
            throw new GraphQLError(`${JSON.stringify(resume.after)} is not an event id of the ${this.opts.subgraph} subgraph`, {
              extensions: { code: EventIdCode.EVENT_ID_UNKNOWN },
            });
          }
          after = parsed.position;
        }
        return openLogStream(this.ctx, { topic, ...(opts.filter ? { filter: opts.filter } : {}), after, announce: resume !== undefined });
      },
    };
  }
}
