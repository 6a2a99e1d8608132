/**
 * Membership coverage analytics: by province, how many Comuni (and small Comuni) there are, how
 * many are ALI members, and the population they hold, computed with MongoDB aggregation.
 *
 * FerretDB 1.24 computes only the first accumulator of a `$group`, so the two measures take two
 * pipelines (ONE PIPELINE PER MEASURE: a count and a sum of population), and the count pipeline
 * groups on a COMPOUND KEY (province, size, alliance) so that the four counts of a row come from
 * one accumulator. Province labels come from the provinces collection. 3 commands in all, sent
 * at once; the same pipelines run on MongoDB 6+.
 */
import type { Db } from 'mongodb';
import { badInput } from '../../../lib/errors.ts';
import { percent } from '../../../lib/money.ts';
import { MUNICIPALITIES, type CoverageParent, type CoverageRowParent } from './collections.ts';
import { listProvinces } from './queries.ts';

/** Counts by (province, small, alliance): a Comune is a member when its allianceId is set. */
export const COUNT_PIPELINE = [{ $group: { _id: { p: '$provinceCode', s: '$small', a: '$allianceId' }, n: { $sum: 1 } } }];
/** Population by (province, alliance). */
export const POPULATION_PIPELINE = [{ $group: { _id: { p: '$provinceCode', a: '$allianceId' }, n: { $sum: '$population' } } }];

/** One result document of a coverage pipeline. */
export interface CoverageCell {
  readonly _id: { readonly p?: string | null; readonly s?: boolean | null; readonly a?: string | null };
  readonly n: unknown;
}

const REGION_CODE = 'all';
const REGION_LABEL = 'Piemonte';
/** Membership per Comune is derived (the source gives only the totals, facts member-comuni and small-member-comuni). */
const PROVENANCE = 'DERIVED' as const;

/** MongoDB commands: 2 `aggregate` on municipalities and 1 `find` on provinces. */
export async function membershipCoverage(db: Db): Promise<CoverageParent> {
  const municipalities = db.collection(MUNICIPALITIES);
  const [counts, population, provinces] = await Promise.all([
    municipalities.aggregate<CoverageCell>(COUNT_PIPELINE).toArray(),
    municipalities.aggregate<CoverageCell>(POPULATION_PIPELINE).toArray(),
    listProvinces(db, ['name']),
  ]);
  return buildCoverage(
    counts,
    population,
    provinces.map((p) => ({ code: p._id, name: p.name ?? p._id })),
  );
}

// ---------------------------------------------------------------------------------------------
// Pure arithmetic

function integer(value: unknown): number {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  if (typeof value === 'bigint') return Number(value);
  if (value != null && typeof (value as { toNumber?: unknown }).toNumber === 'function') return (value as { toNumber(): number }).toNumber();
  throw new TypeError(`aggregated value ${String(value)} is not an integer`);
}

function emptyRow(provinceCode: string, label: string): CoverageRowParent {
  return {
    provinceCode,
    label,
    municipalityCount: 0,
    memberCount: 0,
    smallMunicipalityCount: 0,
    smallMemberCount: 0,
    population: 0,
    memberPopulation: 0,
    provenance: PROVENANCE,
  };
}

/**
 * Rows in the order of `provinces` (each present even with no Comune), then any other province
 * code found, and the region total: the roll-up of every cell, so the rows always sum to it.
 */
export function buildCoverage(
  counts: readonly CoverageCell[],
  population: readonly CoverageCell[],
  provinces: readonly { code: string; name: string }[],
): CoverageParent {
  const rows = new Map(provinces.map((p) => [p.code, emptyRow(p.code, p.name)]));
  const total = emptyRow(REGION_CODE, REGION_LABEL);
  const rowOf = (cell: CoverageCell) => {
    const code = cell._id.p ?? 'unknown';
    let row = rows.get(code);
    if (!row) rows.set(code, (row = emptyRow(code, code)));
    return row;
  };
  for (const cell of counts) {
    const n = integer(cell.n);
    const member = cell._id.a != null;
    const small = cell._id.s === true;
    for (const row of [rowOf(cell), total]) {
      row.municipalityCount += n;
      if (member) row.memberCount += n;
      if (small) row.smallMunicipalityCount += n;
      if (member && small) row.smallMemberCount += n;
    }
  }
  for (const cell of population) {
    const n = integer(cell.n);
    for (const row of [rowOf(cell), total]) {
      row.population += n;
      if (cell._id.a != null) row.memberPopulation += n;
    }
  }
  const listed = new Set(provinces.map((p) => p.code));
  const others = [...rows.keys()].filter((k) => !listed.has(k)).sort();
  return { rows: [...provinces.map((p) => rows.get(p.code)!), ...others.map((k) => rows.get(k)!)], total };
}

/** `part / whole` as a percentage with `decimals` places (exact, rounded half up); null when whole is 0. */
export function shareOf(part: number, whole: number, decimals: number): string | null {
  if (!Number.isInteger(decimals) || decimals < 0 || decimals > 6) throw badInput('decimals', 'decimals must be between 0 and 6');
  return whole === 0 ? null : percent(BigInt(part), BigInt(whole), decimals);
}
