/**
 * Named data functions of the alliances subgraph: every MongoDB query it runs lives here.
 */
import type { Db, Document, Filter } from 'mongodb';
import { badInput } from '../../../lib/errors.ts';
import { projectionOf } from '../../../lib/loaders.ts';
import {
  findPage,
  ordering,
  type Connection,
  type Ordering,
  type PageArgs,
  type PageLimits,
} from '../../../lib/pagination.ts';
import type { MemberFilter, MunicipalityFilter, MunicipalityOrder } from '../__generated__/types.ts';
import { ALLIANCES, MUNICIPALITIES, PROVINCES, type AllianceDoc, type MunicipalityDoc, type ProvinceDoc } from './collections.ts';
import { checkIstatCode, checkProvinceCode, checkAllianceId } from '../../../lib/domain/registry.ts';

export { checkIstatCode, checkProvinceCode, checkAllianceId };

const ORDERINGS: Readonly<Record<MunicipalityOrder, Ordering>> = {
  NAME_ASC: ordering('NAME_ASC', ['nameKey', 1], ['_id', 1]),
  NAME_DESC: ordering('NAME_DESC', ['nameKey', -1], ['_id', -1]),
  POPULATION_ASC: ordering('POPULATION_ASC', ['population', 1], ['_id', 1]),
  POPULATION_DESC: ordering('POPULATION_DESC', ['population', -1], ['_id', -1]),
  ISTAT_CODE_ASC: ordering('ISTAT_CODE_ASC', ['_id', 1]),
};


/** Sort and search key of a name: lower case, accents removed ("Mondovì" → "mondovi"). */
export function nameKey(name: string): string {
  return name.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}

function namePrefix(prefix: string): Filter<Document> {
  if (prefix.length > 100) throw badInput('filter.nameStartsWith', 'nameStartsWith is longer than 100 characters');
  const escaped = nameKey(prefix).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  // Anchored, case-sensitive regex on the normalised key: uses the nameKey index.
  return { nameKey: { $regex: `^${escaped}` } };
}

/** The MongoDB filter of a municipality list filter, validating every value. */
function municipalityFilter(filter: MunicipalityFilter | MemberFilter | null | undefined): Filter<Document> {
  const parts: Filter<Document>[] = [];
  if (!filter) return {};
  if ('provinceCode' in filter && filter.provinceCode != null) {
    parts.push({ provinceCode: checkProvinceCode(filter.provinceCode, 'filter.provinceCode') });
  }
  if ('allianceId' in filter && filter.allianceId != null) {
    parts.push({ allianceId: checkAllianceId(filter.allianceId, 'filter.allianceId') });
  }
  if ('member' in filter && filter.member != null) parts.push({ allianceId: filter.member ? { $ne: null } : null });
  if (filter.small != null) parts.push({ small: filter.small });
  if (filter.nameStartsWith != null) parts.push(namePrefix(filter.nameStartsWith));
  return parts.length === 0 ? {} : parts.length === 1 ? parts[0]! : { $and: parts };
}

export interface ListArgs extends PageArgs {
  readonly filter?: MunicipalityFilter | MemberFilter | null;
  readonly orderBy?: MunicipalityOrder | null;
}

/** Filter and ordering of a municipality list from its arguments (validated). */
export function municipalityList(args: ListArgs): { filter: Filter<Document>; order: Ordering } {
  return { filter: municipalityFilter(args.filter), order: ORDERINGS[args.orderBy ?? 'NAME_ASC'] };
}

/** A page of municipalities, projected to `fields`. */
export function findMunicipalities(
  db: Db,
  limits: PageLimits,
  args: ListArgs,
  fields: readonly string[],
): Promise<Connection<MunicipalityDoc>> {
  return findPage(db.collection<MunicipalityDoc>(MUNICIPALITIES), {
    ...municipalityList(args),
    args,
    limits,
    projection: projectionOf(fields),
  });
}

export interface MemberCounts {
  readonly total: number;
  readonly small: number;
}

/**
 * Member totals of many alliances in one aggregation. One accumulator on a compound key, because
 * FerretDB 1.24 computes only the first accumulator of a `$group` (later ones come back 0).
 */
export async function countMembers(db: Db, allianceIds: readonly string[]): Promise<MemberCounts[]> {
  const rows = await db
    .collection(MUNICIPALITIES)
    .aggregate<{ _id: { a: string; s: boolean }; n: number | bigint }>([
      { $match: { allianceId: { $in: [...allianceIds] } } },
      { $group: { _id: { a: '$allianceId', s: '$small' }, n: { $sum: 1 } } },
    ])
    .toArray();
  return allianceIds.map((id) => {
    let total = 0;
    let small = 0;
    for (const r of rows) {
      if (r._id.a !== id) continue;
      total += Number(r.n);
      if (r._id.s) small += Number(r.n);
    }
    return { total, small };
  });
}

export interface NetworkTotals {
  readonly municipalityCount: number;
  readonly smallMunicipalityCount: number;
  readonly memberCount: number;
  readonly smallMemberCount: number;
}

/** Registry and membership totals in one aggregation (grouped by membership and size). */
export async function networkTotals(db: Db): Promise<NetworkTotals> {
  const rows = await db
    .collection(MUNICIPALITIES)
    .aggregate<{ _id: { a: string | null; s: boolean }; n: number | bigint }>([
      { $group: { _id: { a: '$allianceId', s: '$small' }, n: { $sum: 1 } } },
    ])
    .toArray();
  const t = { municipalityCount: 0, smallMunicipalityCount: 0, memberCount: 0, smallMemberCount: 0 };
  for (const r of rows) {
    const n = Number(r.n);
    t.municipalityCount += n;
    if (r._id.s) t.smallMunicipalityCount += n;
    if (r._id.a != null) {
      t.memberCount += n;
      if (r._id.s) t.smallMemberCount += n;
    }
  }
  return t;
}

/** All provinces in ISTAT order. */
export function listProvinces(db: Db, fields: readonly string[]): Promise<ProvinceDoc[]> {
  return db.collection<ProvinceDoc>(PROVINCES).find({}, { projection: projectionOf(fields), sort: { _id: 1 } }).toArray();
}

/** All alliances in the ISTAT order of their province. */
export function listAlliances(db: Db, fields: readonly string[]): Promise<AllianceDoc[]> {
  return db
    .collection<AllianceDoc>(ALLIANCES)
    .find({}, { projection: projectionOf(fields), sort: { provinceCode: 1 } })
    .toArray();
}
