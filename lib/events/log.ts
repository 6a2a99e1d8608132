/**
 * The event log of a subgraph: one entry per change a mutation makes, in the subgraph's own
 * database (collection `events`), written by lib/writes.ts as part of the write itself. The entry
 * holds no payload: it points at the change's audit record, which is the event; the subgraph
 * derives the payload from it (./source.ts), live and on replay alike.
 *
 * Positions. An entry's `_id` is its position, a decimal string padded to 16 digits so that string
 * order is numeric order and a point lookup is an `{_id}` filter (the only kind FerretDB 1.24
 * pushes down). Positions are DENSE and appended in order: position p is inserted only after p−1
 * was seen to exist (a duplicate `_id` means another writer took p: the writer reads the head and
 * tries the next one; the unique `_id` of an insert is atomic on FerretDB as on MongoDB). So a
 * reader that sees p knows every position below it was written before; a hole below the head can
 * only be the retention's doing (it deletes a prefix, never the newest entry).
 *
 * States. An entry is appended `pending` right after its change's claim (the audit record) and
 * before the document write, and marked `applied` once the document is written: an applied change
 * therefore always has its entry, even if the process dies right after the write. A reader never
 * delivers a pending entry and never passes one of its topic: it waits for it to be marked, and
 * settles one older than the claim timeout itself (lib/writes.ts, `settleStaleEvent`: roll the
 * change forward, or mark the entry `void` when its claim is gone). A write whose document write
 * failed marks its entry `void` (skipped by readers) before it removes its claim.
 */
import type { Db } from 'mongodb';
import type { CollectionSpec } from '../mongo.ts';
import { isDuplicateKey } from '../drivers.ts';

/** The event log collection of every subgraph database. */
export const EVENT_LOG = 'events';

/** Positions by time, for the retention; entries by audit record, for rolling a stale claim forward. */
export const eventLogCollection: CollectionSpec = {
  name: EVENT_LOG,
  indexes: [
    { key: { at: 1 }, name: 'at' },
    { key: { audit: 1 }, name: 'audit' },
  ],
};

export type EntryState = 'pending' | 'applied' | 'void';

/** One entry of the log. */
export interface LogEntry {
  /** The position, as {@link positionKey} writes it. */
  _id: string;
  at: Date;
  state: EntryState;
  /** The `_id` of the change's audit record: "<collection>/<document id>@<version>". */
  audit: string;
  collection: string;
  documentId: string;
  version: number;
}

/** What the writer of a change tells the log (the rest is the log's). */
export type EntryFields = Pick<LogEntry, 'audit' | 'collection' | 'documentId' | 'version'>;

const KEY_DIGITS = 16;

export function positionKey(position: number): string {
  return String(position).padStart(KEY_DIGITS, '0');
}

export function positionOf(entry: Pick<LogEntry, '_id'>): number {
  return Number(entry._id);
}

/** Appends give up after this many positions taken by others in a row (a stuck log, not contention). */
const MAX_APPEND_ATTEMPTS = 50;

/** The newest position each database's log is known to have reached in this process. */
const heads = new WeakMap<Db, number>();

/** The newest position of the log (0 for an empty log); the retention never deletes it. */
export async function headPosition(db: Db): Promise<number> {
  const [newest] = await db
    .collection<LogEntry>(EVENT_LOG)
    .find({}, { projection: { _id: 1 } })
    .sort({ _id: -1 })
    .limit(1)
    .toArray();
  const head = newest ? positionOf(newest) : 0;
  heads.set(db, Math.max(heads.get(db) ?? 0, head));
  return head;
}

/** Reads the head once, so this process's first append starts from it (called at start-up). */
export async function primeEventLog(db: Db): Promise<void> {
  if (!heads.has(db)) await headPosition(db);
}

/** Appends a pending entry at the next free position; returns the position. */
export async function appendPending(db: Db, fields: EntryFields, at = new Date()): Promise<number> {
  const log = db.collection<LogEntry>(EVENT_LOG);
  let next = (heads.has(db) ? heads.get(db)! : await headPosition(db)) + 1;
  for (let attempt = 0; attempt < MAX_APPEND_ATTEMPTS; attempt++) {
    try {
      await log.insertOne({ _id: positionKey(next), at, state: 'pending', ...fields });
      heads.set(db, Math.max(heads.get(db) ?? 0, next));
      return next;
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      next = Math.max(next, await headPosition(db)) + 1;
    }
  }
  throw new Error(`event log: no free position after ${MAX_APPEND_ATTEMPTS} attempts`);
}

export async function markEntry(db: Db, position: number, state: Exclude<EntryState, 'pending'>): Promise<void> {
  await db.collection<LogEntry>(EVENT_LOG).updateOne({ _id: positionKey(position) }, { $set: { state } });
}

export async function findEntry(db: Db, position: number): Promise<LogEntry | null> {
  return db.collection<LogEntry>(EVENT_LOG).findOne({ _id: positionKey(position) });
}

/** The newest entry of one audit record (a claim rolled forward after a failure may have a void one before it). */
export async function findEntryOf(db: Db, audit: string): Promise<LogEntry | null> {
  const [entry] = await db.collection<LogEntry>(EVENT_LOG).find({ audit }).sort({ _id: -1 }).limit(1).toArray();
  return entry ?? null;
}

/** Up to `limit` entries after `position`, in order. */
export async function entriesAfter(db: Db, position: number, limit: number): Promise<LogEntry[]> {
  return db
    .collection<LogEntry>(EVENT_LOG)
    .find({ _id: { $gt: positionKey(position) } })
    .sort({ _id: 1 })
    .limit(limit)
    .toArray();
}

export type PositionCheck = 'ok' | 'expired' | 'unknown';

/**
 * Whether the log can resume after `position`: `ok` when nothing after it has been deleted,
 * `expired` when the retention deleted events after it, `unknown` for a position past the head.
 * The head is read first: an entry after `position` appended during the check is then either
 * not counted in the head or already there to be found (reading it last, an empty log's first
 * entry landing between the reads made its start position look expired).
 */
export async function checkPosition(db: Db, position: number): Promise<PositionCheck> {
  const head = await headPosition(db);
  if (head === position) return 'ok';
  if (head < position) return 'unknown';
  if (await findEntry(db, position + 1)) return 'ok';
  if (position > 0 && (await findEntry(db, position))) return 'ok';
  return 'expired';
}

/**
 * Deletes the entries older than `retentionMs` (a prefix of positions, never the newest entry,
 * so the head stays known); returns how many. Audit records are not touched: they are the trail.
 */
export async function trimEventLog(db: Db, retentionMs: number, now = Date.now()): Promise<number> {
  const log = db.collection<LogEntry>(EVENT_LOG);
  const [oldest] = await log
    .find({ at: { $lt: new Date(now - retentionMs) } }, { projection: { _id: 1 } })
    .sort({ _id: -1 })
    .limit(1)
    .toArray();
  if (!oldest) return 0;
  const upTo = Math.min(positionOf(oldest), (await headPosition(db)) - 1);
  if (upTo < 1) return 0;
  return (await log.deleteMany({ _id: { $lte: positionKey(upTo) } })).deletedCount;
}
