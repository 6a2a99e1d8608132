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
 *   3. write the document (replace filtered on `_id` and the old version, or insert).
 * A crash between 2 and 3 leaves an audit record of a change not applied, and the document at
 * its old version. The audit trail therefore never lacks a change that was made; it may, for
 * that window, hold one that was not yet made. The next writer of that version finds the claim
 * and, once it is older than {@link CLAIM_TIMEOUT_MS}, rolls it forward (applies its `after`),
 * so a record never stays locked and the logged change ends up applied. A failure at step 3
 * itself (the driver reports an error) removes the claim before answering.
 */
import { MongoServerError, type Db, type Document, type Filter } from 'mongodb';
import type { SubgraphName } from './config.ts';
import type { Caller, Role } from './access.ts';
import { alreadyExists, badInput, notFound, versionConflict } from './errors.ts';
import type { CollectionSpec } from './mongo.ts';

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
export function versionFilter(version: number): Filter<Document> {
  return version === 0 ? { $or: [{ version: 0 }, { version: { $exists: false } }] } : { version };
}

const claimId = (collection: string, id: string, version: number) => `${collection}/${id}@${version}`;

function isDuplicateKey(err: unknown): boolean {
  return err instanceof MongoServerError && err.code === 11000;
}

async function claim<T>(w: Writer, collection: string, before: T | null, after: T & Versioned): Promise<boolean> {
  const version = versionOf(after);
  const record: AuditDoc<T> = {
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
  try {
    await w.db.collection<AuditDoc<T>>(AUDIT).insertOne(record as never);
    return true;
  } catch (err) {
    if (isDuplicateKey(err)) return false;
    throw err;
  }
}

/**
 * Someone else holds the claim of `version`. If its change is still not applied after
 * {@link CLAIM_TIMEOUT_MS} (its writer died between steps 2 and 3), apply it now.
 */
async function rollForwardIfStale(w: Writer, collection: string, id: string, version: number): Promise<void> {
  const held = await w.db.collection<AuditDoc<Versioned>>(AUDIT).findOne({ _id: claimId(collection, id, version) });
  if (!held || Date.now() - held.at.getTime() < CLAIM_TIMEOUT_MS) return;
  const coll = w.db.collection<Versioned>(collection);
  try {
    if (held.before === null) await coll.insertOne(held.after as never);
    else await coll.replaceOne({ _id: id, ...versionFilter(version - 1) } as Filter<Versioned>, held.after);
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
  }
}

export interface InsertSpec {
  readonly collection: string;
  /** What the record is, for messages: "adoption". */
  readonly what: string;
}

/**
 * Creates `doc` at version 1 with its audit record (before: null). ALREADY_EXISTS when a
 * document with its `_id` exists or another create of it won the claim.
 */
export async function insertAudited<T extends Versioned>(w: Writer, spec: InsertSpec, doc: Omit<T, 'version'>): Promise<Change<T>> {
  const coll = w.db.collection<Versioned>(spec.collection);
  if (await coll.findOne({ _id: doc._id }, { projection: { _id: 1 } })) throw alreadyExists(spec.what, doc._id);
  const after = { ...doc, version: 1 } as T;
  if (!(await claim<T>(w, spec.collection, null, after))) {
    await rollForwardIfStale(w, spec.collection, doc._id, 1);
    throw alreadyExists(spec.what, doc._id);
  }
  try {
    await coll.insertOne(after as never);
  } catch (err) {
    await w.db.collection(AUDIT).deleteOne({ _id: claimId(spec.collection, doc._id, 1) } as never);
    if (isDuplicateKey(err)) throw alreadyExists(spec.what, doc._id);
    throw err;
  }
  return { before: null, after };
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
 * `expectedVersion + 1` and the audit record (whole document before and after).
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
  if (!(await claim<T>(w, collection, before, after))) {
    await rollForwardIfStale(w, collection, id, next);
    throw versionConflict(what, id, expectedVersion, next);
  }
  try {
    const res = await coll.replaceOne({ _id: id, ...versionFilter(expectedVersion) } as Filter<T>, after);
    if (res.matchedCount === 0) {
      // Only a roll-forward of this very claim can have moved it on; anything else was a write
      // that bypassed the claims.
      const now = versionOf(await coll.findOne({ _id: id } as Filter<T>, { projection: { version: 1 } }));
      if (now !== next) throw versionConflict(what, id, expectedVersion, now);
    }
  } catch (err) {
    await w.db.collection(AUDIT).deleteOne({ _id: claimId(collection, id, next) } as never);
    throw err;
  }
  return { before, after };
}

// ---------------------------------------------------------------------------------------------
// Checks of entered values

export function checkExpectedVersion(version: number, argument = 'expectedVersion'): number {
  if (!Number.isInteger(version) || version < 0) throw badInput(argument, `${argument} must be a version read from the record (an integer ≥ 0)`);
  return version;
}

/**
 * Dates editors may enter: from {@link EARLIEST_DATE} (the 2003 Finance Act, the earliest
 * funding of the programme the source names) to one year after today (UTC), which allows
 * scheduled starts and meetings but not typing errors such as 2105.
 */
export const EARLIEST_DATE = '2003-01-01';

/** One year after `now`, YYYY-MM-DD (UTC). */
export function latestDate(now: Date = new Date()): string {
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
