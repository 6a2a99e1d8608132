/**
 * Named data functions of the governance subgraph: every MongoDB query it runs lives here.
 */
import type { Collection, Db, Document, Filter } from 'mongodb';
import { badInput } from '../../../lib/errors.ts';
import { projectionOf, type EntityKey } from '../../../lib/loaders.ts';
import {
  ONE_BATCH,
  findPage,
  findPagesByParent,
  ordering,
  type Connection,
  type Ordering,
  type PageArgs,
  type PageLimits,
} from '../../../lib/pagination.ts';
import { PROVINCES } from '../../../lib/domain/registry.ts';
import {
  COMMITTEES,
  FACILITATORS,
  INSTITUTIONS,
  MEETINGS,
  type CommitteeDoc,
  type FacilitatorDoc,
  type InstitutionDoc,
  type MeetingDoc,
} from './collections.ts';

/** Newest meeting first; `_id` makes the keyset total. */
export const MEETING_ORDER: Ordering = ordering('DATE_DESC', ['date', -1], ['_id', 1]);
export const FACILITATOR_ORDER: Ordering = ordering('NAME_ASC', ['name', 1], ['_id', 1]);

const SLUG_RE = /^[a-z][a-z0-9-]{0,63}$/;
const ALLIANCE_IDS = new Set(PROVINCES.map((p) => p.allianceId));

/** Institution and committee ids are lower-case slugs ("cnipa", "steering-committee"). */
export function checkSlug(id: string, argument = 'id'): string {
  if (!SLUG_RE.test(id)) throw badInput(argument, `"${id}" is not a valid id (lower-case letters, digits and dashes)`);
  return id;
}

export function checkAllianceId(id: string, argument = 'allianceId'): string {
  if (!ALLIANCE_IDS.has(id)) throw badInput(argument, `"${id}" is not an ALI id (${[...ALLIANCE_IDS].join(', ')})`);
  return id;
}

/** All institutions, in the order the source names them. */
export function listInstitutions(db: Db, fields: readonly string[]): Promise<InstitutionDoc[]> {
  return db.collection<InstitutionDoc>(INSTITUTIONS).find({}, { projection: projectionOf(fields), sort: { position: 1 } }).toArray();
}

/** Both committees, Steering Committee first. */
export function listCommittees(db: Db, fields: readonly string[]): Promise<CommitteeDoc[]> {
  return db.collection<CommitteeDoc>(COMMITTEES).find({}, { projection: projectionOf(fields), sort: { position: 1 } }).toArray();
}

export interface FacilitatorListArgs extends PageArgs {
  readonly allianceId?: string | null;
}

/** A page of facilitators by name, optionally only those serving one ALI. */
export function findFacilitators(
  db: Db,
  limits: PageLimits,
  args: FacilitatorListArgs,
  fields: readonly string[],
): Promise<Connection<FacilitatorDoc>> {
  const filter: Filter<Document> = args.allianceId != null ? { allianceIds: checkAllianceId(args.allianceId) } : {};
  return findPage(db.collection<FacilitatorDoc>(FACILITATORS), {
    filter,
    order: FACILITATOR_ORDER,
    args,
    limits,
    projection: projectionOf(fields),
  });
}

/**
 * Documents of many parents in one `find({field: {$in: ids}})`, grouped by parent in key order.
 * Like `groupLoader` (lib/loaders.ts), plus what that one cannot do: a fixed base `filter`, and a
 * `field` holding an array (multikey), where a document belongs to every parent it lists.
 * The projection is the union of the fields the batch asked for.
 */
export async function findGrouped<T extends Document>(
  collection: Collection<T>,
  field: string,
  keys: readonly EntityKey<string>[],
  options: { filter?: Filter<Document>; sort: Document },
): Promise<T[][]> {
  const ids = [...new Set(keys.map((k) => k.id))];
  const whole = keys.some((k) => k.fields === null);
  const projection = whole ? undefined : projectionOf([field, ...Object.keys(options.sort), ...keys.flatMap((k) => k.fields ?? [])]);
  const docs = (await collection
    .find({ ...options.filter, [field]: { $in: ids } } as Filter<T>, { sort: options.sort, batchSize: ONE_BATCH, ...(projection ? { projection } : {}) })
    .toArray()) as T[];
  const byId = new Map<string, T[]>(ids.map((id) => [id, []]));
  for (const doc of docs) {
    const value = (doc as Document)[field] as unknown;
    for (const id of Array.isArray(value) ? value : [value]) byId.get(id as string)?.push(doc);
  }
  return keys.map((k) => byId.get(k.id) ?? []);
}

/** Key of one committee's meetings page in a batch: the committee and everything that shapes the page. */
export interface MeetingPageKey {
  readonly committeeId: string;
  readonly args: PageArgs;
  readonly fields: readonly string[];
}

/** Meeting pages of many committees: one `find` per distinct (arguments, fields). */
export async function meetingPagesByCommittee(
  db: Db,
  limits: PageLimits,
  keys: readonly MeetingPageKey[],
): Promise<(Connection<MeetingDoc> | Error)[]> {
  const groups = new Map<string, number[]>();
  keys.forEach((k, i) => {
    const g = JSON.stringify([k.args.first ?? null, k.args.after ?? null, k.fields]);
    groups.set(g, [...(groups.get(g) ?? []), i]);
  });
  const out: (Connection<MeetingDoc> | Error)[] = new Array(keys.length);
  await Promise.all(
    [...groups.values()].map(async (indexes) => {
      const first = keys[indexes[0]!]!;
      try {
        const pages = await findPagesByParent(
          db.collection<MeetingDoc>(MEETINGS),
          'committeeId',
          indexes.map((i) => keys[i]!.committeeId),
          { filter: {}, order: MEETING_ORDER, args: first.args, limits, projection: projectionOf(first.fields) },
        );
        indexes.forEach((i, j) => (out[i] = pages[j]!));
      } catch (err) {
        for (const i of indexes) out[i] = err as Error;
      }
    }),
  );
  return out;
}

/**
 * Meeting counts of many committees in one aggregation (a single `$sum` accumulator, which
 * FerretDB 1.24 computes correctly).
 */
export async function countMeetings(db: Db, committeeIds: readonly string[]): Promise<number[]> {
  const rows = await db
    .collection(MEETINGS)
    .aggregate<{ _id: string; n: number | bigint }>([
      { $match: { committeeId: { $in: [...committeeIds] } } },
      { $group: { _id: '$committeeId', n: { $sum: 1 } } },
    ])
    .toArray();
  const byId = new Map(rows.map((r) => [r._id, Number(r.n)]));
  return committeeIds.map((id) => byId.get(id) ?? 0);
}
