/**
 * Adoption statistics: the number of adoptions by any combination of solution, province and
 * status, computed with one MongoDB aggregation.
 *
 * One measure (a count), so ONE PIPELINE with a single accumulator (FerretDB 1.24 computes only
 * the first accumulator of a `$group`), grouped on a COMPOUND KEY of the chosen dimensions plus the
 * records' provenance, which the program folds into the row's provenance. 1 `aggregate` command;
 * the same pipeline runs on MongoDB 6+.
 */
import type { Db, Document } from 'mongodb';
import type { AdoptionDimension, AdoptionStatus, Provenance } from '../__generated__/types.ts';
import { ADOPTIONS, type AdoptionCountRowParent } from './collections.ts';

const FIELDS: Readonly<Record<AdoptionDimension, { readonly key: string; readonly path: string }>> = {
  SOLUTION: { key: 's', path: '$solutionId' },
  PROVINCE: { key: 'p', path: '$provinceCode' },
  STATUS: { key: 'st', path: '$status' },
};

/** The pipeline counting adoptions by `groupBy` (duplicates ignored; none: one row of all). */
export function adoptionStatsPipeline(groupBy: readonly AdoptionDimension[]): Document[] {
  const key: Record<string, string> = {};
  for (const d of groupBy) key[FIELDS[d].key] = FIELDS[d].path;
  return [{ $group: { _id: { ...key, v: '$provenance' }, n: { $sum: 1 } } }];
}

/** One result document of the pipeline. */
export interface AdoptionCell {
  readonly _id: { readonly s?: string | null; readonly p?: string | null; readonly st?: string | null; readonly v?: string | null } | null;
  readonly n: unknown;
}

/** MongoDB commands: 1 `aggregate` on adoptions. */
export async function adoptionStats(db: Db, groupBy: readonly AdoptionDimension[]): Promise<AdoptionCountRowParent[]> {
  const cells = await db.collection(ADOPTIONS).aggregate<AdoptionCell>(adoptionStatsPipeline(groupBy)).toArray();
  return buildAdoptionRows(groupBy, cells);
}

// ---------------------------------------------------------------------------------------------
// Pure arithmetic

const STATUS_ORDER: readonly AdoptionStatus[] = ['PLANNED', 'IN_PROGRESS', 'ACTIVE', 'DISCONTINUED'];

/**
 * Provenance of a count: SAMPLE if it counts any sample record, ESTIMATED if any estimated one,
 * DERIVED otherwise (a count is computed, never published).
 */
export function countProvenance(provenances: Iterable<Provenance>): Provenance {
  const all = new Set(provenances);
  if (all.has('SAMPLE')) return 'SAMPLE';
  if (all.has('ESTIMATED')) return 'ESTIMATED';
  return 'DERIVED';
}

function count(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  throw new TypeError(`aggregated count ${String(value)} is not a number`);
}

/**
 * Rows from the cells, one per combination of the grouped dimensions (the others null), with
 * the provenances of the records they count folded together; ordered by solution id, province
 * code and status (lifecycle order).
 */
export function buildAdoptionRows(groupBy: readonly AdoptionDimension[], cells: readonly AdoptionCell[]): AdoptionCountRowParent[] {
  const dims = new Set(groupBy);
  const rows = new Map<string, { s: string | null; p: string | null; st: AdoptionStatus | null; n: number; v: Set<Provenance> }>();
  for (const cell of cells) {
    const s = dims.has('SOLUTION') ? (cell._id?.s ?? null) : null;
    const p = dims.has('PROVINCE') ? (cell._id?.p ?? null) : null;
    const st = dims.has('STATUS') ? ((cell._id?.st ?? null) as AdoptionStatus | null) : null;
    const key = JSON.stringify([s, p, st]);
    let row = rows.get(key);
    if (!row) rows.set(key, (row = { s, p, st, n: 0, v: new Set() }));
    row.n += count(cell.n);
    row.v.add((cell._id?.v ?? 'DERIVED') as Provenance);
  }
  const cmp = (a: string | null, b: string | null) => (a === b ? 0 : a === null ? 1 : b === null ? -1 : a < b ? -1 : 1);
  const rank = (st: AdoptionStatus | null) => (st === null ? STATUS_ORDER.length : STATUS_ORDER.indexOf(st));
  return [...rows.values()]
    .sort((a, b) => cmp(a.s, b.s) || cmp(a.p, b.p) || rank(a.st) - rank(b.st))
    .map((r) => ({
      solution: r.s === null ? null : { _id: r.s },
      provinceCode: r.p,
      province: r.p === null ? null : { code: r.p },
      status: r.st,
      count: r.n,
      provenance: countProvenance(r.v),
    }));
}
