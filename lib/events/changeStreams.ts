/**
 * Change streams (optional): events for writes made OUTSIDE the API, where the database has change
 * streams (MongoDB replica set; FerretDB has none). They have no place in the event log (no audit
 * record, no position): they are delivered live only, without an id, and never replayed.
 */
import type { ChangeStream, ChangeStreamDocument, Db, Document } from 'mongodb';
import { detectCapabilities } from '../mongo.ts';
import { AUDIT } from '../writes.ts';
import { encodeEvent, type EventBus, type LocalEventBus } from './bus.ts';

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
    // An envelope without a position (./stream.ts): delivered live, never replayed.
    if (event) deliver(event.topic, { payload: event.payload });
  }
  log?.(`${opts.subgraph}: watching ${[...byCollection.keys()].join(', ')} with change streams for writes made outside the API`);
  return { active: true, stop: () => stream.close() };
}
