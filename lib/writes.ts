/**
 * What every mutation shares: versioned inserts and updates, each with its audit record, on a
 * database without transactions (FerretDB 1.24), and the checks of the values editors enter.
 *
 * Versions. Every mutable record has `version` (seeded documents have none: read as 0). A create
 * writes version 1; an update names `expectedVersion` and writes `expectedVersion + 1`.
 *
 * Why a version filter is not enough. FerretDB 1.24 does not apply a conditional update
 * atomically: of eight parallel `updateOne({_id, version: 0}, {$set: {version: 1, …}})` on one
 * document, all eight report a match (measured here, on every one of 20 documents) — the last
 * write silently wins. What it does enforce atomically is the unique `_id` of an insert (of eight
 * parallel inserts of one `_id`, exactly one succeeds, every time). So every change first CLAIMS
 * its new version by inserting its audit record with `_id` "<collection>/<document id>@<version>":
 * of several writers of the same version exactly one insert succeeds; the others get a duplicate
 * key and answer VERSION_CONFLICT (ALREADY_EXISTS for creates) without touching the document.
 *
 * Order and failure window (no transactions):
 *   1. read the document, check `expectedVersion`, validate and compute the new document;
 *   2. insert the audit record — the claim, a write-ahead entry with `before` and `after`;
 *   3. append the change's entry to the event log, `pending` (lib/events/log.ts);
 *   4. write the document (replace filtered on `_id` and the old version, or insert);
 *   5. mark the entry `applied`; the mutation then publishes the event on the bus.
 * The audit record IS the event: the log entry gives it a position and says whether its change
 * is applied. So a change that was made always has its audit record and its event, whenever the
 * process dies; the trail and the log may, for a moment, hold a change not yet made (a crash
 * between 2 and 4). The next writer of that version finds the claim and, once it is older than
 * {@link CLAIM_TIMEOUT_MS}, rolls it forward: it appends the entry if the writer died before 3,
 * applies `after`, and marks the entry applied; a reader of the log that waits on a stale pending
 * entry does the same ({@link settleStaleEvent}). So a record never stays locked, the logged
 * change ends up applied, and its event is delivered. A failure at step 4 itself (the driver
 * reports an error) marks the entry void and removes the claim before answering, unless the
 * document turns out to be written after all.
 */
import type { Db, Document, Filter } from 'mongodb';
import type { SubgraphName } from './config.ts';
import type { Caller, Role } from './access.ts';
import { alreadyExists, badInput, notFound, versionConflict } from './errors.ts';
import type { CollectionSpec } from './mongo.ts';
import { appendPending, findEntryOf, markEntry, positionOf, type LogEntry } from './events/log.ts';
import { isDuplicateKey } from './drivers.ts';

/** The audit collection of every subgraph database. */
export const AUDIT = 'audit';

/** The audit collection and its indexes: the trail by time, and one record's history. */
export const auditCollection: CollectionSpec = {
  name: AUDIT,
  indexes: [
    { key: { at: 1 }, name: 'at' },
    { key: { documentId: 1, at: 1 }, name: 'document_at' },
  ],
};

/** One change, as the audit collection keeps it. */
export interface AuditDoc<T = Document> {
  /** "<collection>/<document id>@<version>": unique, so it doubles as the claim of that version. */
  _id: string;
  at: Date;
  /** `caller.sub`: the key name or JWT subject of the editor. */
  actor: string;
  role: Role;
  /** The gateway's `x-request-id`, or null. */
  requestId: string | null;
  subgraph: SubgraphName;
  /** The mutation, e.g. "registerAdoption". */
  operation: string;
  collection: string;
  documentId: string;
  /** The version the change wrote. */
  version: number;
  /** The whole document before the change; null for a create. */
  before: T | null;
  /** The whole document after the change. */
  after: T;
}

/** Who writes, where, and through which mutation: everything an audit record needs. */
export interface Writer {
  readonly db: Db;
  readonly caller: Caller;
  readonly requestId: string | undefined;
  readonly subgraph: SubgraphName;
  readonly operation: string;
}

/** The {@link Writer} of one mutation, from the request's data scope (its resolver calls `requireWrite` first). */
export function writer(
  ctx: { readonly db: Db; readonly caller: Caller; readonly requestId: string | undefined },
  subgraph: SubgraphName,
  operation: string,
): Writer {
  return { db: ctx.db, caller: ctx.caller, requestId: ctx.requestId, subgraph, operation };
}

/** A change as every mutation function returns it (the hook for change events). */
export interface Change<T> {
  /** null for a create. */
  readonly before: T | null;
  readonly after: T;
  /** The change's event: its audit record and its position in the event log (lib/events/). */
  readonly event: { readonly position: number; readonly record: AuditDoc<T> };
}

/** A document that carries a version (missing on seeded documents, i.e. 0). */
export interface Versioned {
  _id: string;
  version?: number;
}

/** A claim older than this whose document still has the old version is rolled forward. */
export const CLAIM_TIMEOUT_MS = 10_000;

/** The version of a stored document: 0 when it has none (seeded before versions existed). */
export function versionOf(doc: { version?: unknown } | null | undefined): number {
  const v = doc?.version;
  if (v === undefined || v === null) return 0;
  return Number(v);
}

/** The filter matching a document at `version` (0 also matches a document without the field). */
function versionFilter(version: number): Filter<Document> {
  return version === 0 ? { $or: [{ version: 0 }, { version: { $exists: false } }] } : { version };
}

const claimId = (collection: string, id: string, version: number) => `${collection}/${id}@${version}`;

/** The audit record of a change: the claim of its version, and its event. */
function auditRecord<T extends Versioned>(w: Writer, collection: string, before: T | null, after: T): AuditDoc<T> {
  const version = versionOf(after);
  return {
    _id: claimId(collection, after._id, version),
    at: new Date(),
    actor: w.caller.sub,
    role: w.caller.role,
    requestId: w.requestId ?? null,
    subgraph: w.subgraph,
    operation: w.operation,
    collection,
    documentId: after._id,
    version,
    before,
    after,
  };
}

async function claim<T>(db: Db, record: AuditDoc<T>): Promise<boolean> {
  try {
    await db.collection<AuditDoc<T>>(AUDIT).insertOne(record as never);
    return true;
  } catch (err) {
    if (isDuplicateKey(err)) return false;
    throw err;
  }
}

/** Frees a version whose change was not made (best effort: a claim left behind is rolled forward later). */
async function release(db: Db, auditId: string): Promise<void> {
  await db.collection(AUDIT).deleteOne({ _id: auditId } as never).catch(() => {});
}

const entryFields = (r: AuditDoc<unknown>) => ({ audit: r._id, collection: r.collection, documentId: r.documentId, version: r.version });

/**
 * Steps 3 to 5 of a claimed change: its pending log entry, the document write (`write`), the
 * entry applied. A failed write leaves nothing behind (entry void, claim removed) unless the
 * document was written after all (`written`); returns the change's position in the log.
 */
async function commit(db: Db, record: AuditDoc<unknown>, write: () => Promise<void>, written: () => Promise<boolean>): Promise<number> {
  let position: number;
  try {
    position = await appendPending(db, entryFields(record));
  } catch (err) {
    await release(db, record._id);
    throw err;
  }
  try {
    await write();
  } catch (err) {
    if (!(await written().catch(() => false))) {
      // Void first: a pending entry whose claim is gone is voided by its readers too.
      await markEntry(db, position, 'void').catch(() => {});
      await release(db, record._id);
      throw err;
    }
  }
  // The change is made: if marking fails, readers settle the pending entry (it is not the client's to retry).
  await markEntry(db, position, 'applied').catch(() => {});
  return position;
}

/**
 * Applies a claim whose writer died before finishing (steps 3 to 5 again): its entry is reused,
 * or appended when the writer died before appending it (or its entry was voided); the document
 * is written unless it already was. Returns the change's position.
 */
async function rollForward(db: Db, held: AuditDoc<Versioned>, entry?: LogEntry | null): Promise<number> {
  const found = entry !== undefined ? entry : await findEntryOf(db, held._id);
  const position = found && found.state !== 'void' ? positionOf(found) : await appendPending(db, entryFields(held));
  const coll = db.collection<Versioned>(held.collection);
  try {
    if (held.before === null) await coll.insertOne(held.after as never);
    else await coll.replaceOne({ _id: held.documentId, ...versionFilter(held.version - 1) } as Filter<Versioned>, held.after);
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
  }
  await markEntry(db, position, 'applied');
  return position;
}

/**
 * Someone else holds the claim of `version`. If its change is still not applied after
 * {@link CLAIM_TIMEOUT_MS} (its writer died between steps 2 and 5), apply it now.
 */
async function rollForwardIfStale(w: Writer, collection: string, id: string, version: number): Promise<void> {
  const held = await w.db.collection<AuditDoc<Versioned>>(AUDIT).findOne({ _id: claimId(collection, id, version) });
  if (!held || Date.now() - held.at.getTime() < CLAIM_TIMEOUT_MS) return;
  await rollForward(w.db, held);
}

/**
 * Settles a log entry still pending after {@link CLAIM_TIMEOUT_MS} (its writer died): rolls its
 * change forward (applied), or voids it when its claim is gone or belongs to a later entry (the
 * change was never made). Called by readers of the log, which never pass a pending entry.
 */
export async function settleStaleEvent(db: Db, entry: LogEntry): Promise<'applied' | 'void'> {
  const held = await db.collection<AuditDoc<Versioned>>(AUDIT).findOne({ _id: entry.audit });
  const newest = held ? await findEntryOf(db, held._id) : null;
  if (!held || newest?._id !== entry._id) {
    await markEntry(db, positionOf(entry), 'void');
    return 'void';
  }
  await rollForward(db, held, entry);
  return 'applied';
}

export interface InsertSpec {
  readonly collection: string;
  /** What the record is, for messages: "adoption". */
  readonly what: string;
}

/**
 * Creates `doc` at version 1 with its audit record (before: null) and its event. ALREADY_EXISTS
 * when a document with its `_id` exists or another create of it won the claim.
 */
export async function insertAudited<T extends Versioned>(w: Writer, spec: InsertSpec, doc: Omit<T, 'version'>): Promise<Change<T>> {
  const coll = w.db.collection<Versioned>(spec.collection);
  if (await coll.findOne({ _id: doc._id }, { projection: { _id: 1 } })) throw alreadyExists(spec.what, doc._id);
  const after = { ...doc, version: 1 } as T;
  const record = auditRecord<T>(w, spec.collection, null, after);
  if (!(await claim(w.db, record))) {
    await rollForwardIfStale(w, spec.collection, doc._id, 1);
    throw alreadyExists(spec.what, doc._id);
  }
  let position: number;
  try {
    position = await commit(
      w.db,
      record,
      async () => void (await coll.insertOne(after as never)),
      async () => versionOf(await coll.findOne({ _id: doc._id }, { projection: { version: 1 } })) === 1,
    );
  } catch (err) {
    if (isDuplicateKey(err)) throw alreadyExists(spec.what, doc._id);
    throw err;
  }
  return { before: null, after, event: { position, record } };
}

export interface UpdateSpec extends InsertSpec {
  readonly id: string;
  /** The argument naming the record, for NOT_FOUND (default "id"). */
  readonly idArgument?: string;
  readonly expectedVersion: number;
}

/**
 * Changes one document if it is at `expectedVersion`: `change` receives the current document
 * and returns the fields to set (or throws a validation error: nothing is written). Writes
 * `expectedVersion + 1`, the audit record (whole document before and after) and the event.
 * NOT_FOUND for an unknown id; VERSION_CONFLICT (extensions.currentVersion) when the document
 * is at another version or a concurrent update of the same version won.
 */
export async function updateVersioned<T extends Versioned>(
  w: Writer,
  spec: UpdateSpec,
  change: (current: T) => Partial<T> | Promise<Partial<T>>,
): Promise<Change<T>> {
  const { collection, what, id, expectedVersion } = spec;
  checkExpectedVersion(expectedVersion);
  const coll = w.db.collection<T>(collection);
  const before = (await coll.findOne({ _id: id } as Filter<T>)) as T | null;
  if (!before) {
    throw notFound(what, id, spec.idArgument ?? 'id');
  }
  const current = versionOf(before);
  if (current !== expectedVersion) throw versionConflict(what, id, expectedVersion, current);
  const next = expectedVersion + 1;
  const after = { ...before, ...(await change(before)), _id: id, version: next } as T;
  const record = auditRecord<T>(w, collection, before, after);
  if (!(await claim(w.db, record))) {
    await rollForwardIfStale(w, collection, id, next);
    throw versionConflict(what, id, expectedVersion, next);
  }
  const versionNow = async () => versionOf(await coll.findOne({ _id: id } as Filter<T>, { projection: { version: 1 } }));
  const write = async () => {
    const res = await coll.replaceOne({ _id: id, ...versionFilter(expectedVersion) } as Filter<T>, after);
    if (res.matchedCount === 0) {
      // Only a roll-forward of this very claim can have moved it on; anything else was a write
      // that bypassed the claims.
      const now = await versionNow();
      if (now !== next) throw versionConflict(what, id, expectedVersion, now);
    }
  };
  const position = await commit(w.db, record, write, async () => (await versionNow()) === next);
  return { before, after, event: { position, record } };
}

// ---------------------------------------------------------------------------------------------
// Checks of entered values

function checkExpectedVersion(version: number, argument = 'expectedVersion'): number {
  if (!Number.isInteger(version) || version < 0) throw badInput(argument, `${argument} must be a version read from the record (an integer ≥ 0)`);
  return version;
}

/**
 * Dates editors may enter: from {@link EARLIEST_DATE} (the 2003 Finance Act, the earliest
 * funding of the programme the source names) to one year after today (UTC), which allows
 * scheduled starts and meetings but not typing errors such as 2105.
 */
const EARLIEST_DATE = '2003-01-01';

/** One year after `now`, YYYY-MM-DD (UTC). */
function latestDate(now: Date = new Date()): string {
  const d = new Date(Date.UTC(now.getUTCFullYear() + 1, now.getUTCMonth(), now.getUTCDate()));
  return d.toISOString().slice(0, 10);
}

/** A date (already YYYY-MM-DD by the Date scalar) within the bounds; BAD_USER_INPUT otherwise. */
export function checkDate(date: string, argument: string, now: Date = new Date()): string {
  const latest = latestDate(now);
  if (date < EARLIEST_DATE || date > latest) {
    throw badInput(argument, `${argument} ${date} is out of range: dates run from ${EARLIEST_DATE} (the programme's earliest funding) to ${latest} (a year from today)`);
  }
  return date;
}

/** Trimmed, non-empty text of at most `max` characters; BAD_USER_INPUT otherwise. */
export function checkText(text: string, argument: string, max: number): string {
  const t = text.trim();
  if (t.length === 0) throw badInput(argument, `${argument} must not be empty`);
  if (t.length > max) throw badInput(argument, `${argument} is longer than ${max} characters`);
  return t;
}

/** Provenances an editor may state for what they enter. */
export type EnteredProvenance = 'PUBLISHED' | 'ESTIMATED' | 'SAMPLE';

/** PUBLISHED, ESTIMATED or SAMPLE; DERIVED is what the system computes, never entered. */
export function checkEnteredProvenance(provenance: string, argument: string): EnteredProvenance {
  if (provenance === 'PUBLISHED' || provenance === 'ESTIMATED' || provenance === 'SAMPLE') return provenance;
  throw badInput(argument, `${argument} ${provenance} cannot be entered: DERIVED values are computed by the system (state PUBLISHED, ESTIMATED or SAMPLE)`);
}
