/**
 * Funding analytics: exact totals of the funded projects broken down by ALI, province, funding
 * source, agreement or call, computed with MongoDB aggregation over the Int64 cents and rolled up
 * into rows with bigint arithmetic.
 *
 * FerretDB 1.24 computes only the first accumulator of a `$group` (later ones silently come back
 * 0), and evaluates no expressions inside array literals, so the usual "unwind the measures" trick
 * returns zeros too. Each breakdown therefore runs ONE PIPELINE PER MEASURE, each with a single
 * accumulator over the same group key: the project count, the sum of `totalValue` and the sum of
 * `cofinancing` (three `aggregate` commands, in parallel). The count pipeline groups on a compound
 * key that adds the provenance and the estimate split of the projects (`estimateGroup`), so the
 * provenance rule of `totalsOf` (queries.ts) can be applied to counted parts instead of to every
 * project. Labels come from the reference collections (one `find` each, only for the dimensions
 * that need them) or from the shared province registry. The same pipelines run on MongoDB 6+.
 */
import type { Db, Document } from 'mongodb';
import { badInput } from '../../../lib/errors.ts';
import { fromStored, percent, type Cents } from '../../../lib/money.ts';
import { PROVINCES } from '../../../lib/domain/registry.ts';
import type { FundingDimension, Provenance } from '../__generated__/types.ts';
import {
  FUNDED_PROJECTS,
  type AgreementDoc,
  type CallDoc,
  type FundingBreakdownParent,
  type FundingBreakdownRowParent,
  type FundingSourceDoc,
} from './collections.ts';
import { listAgreements, listCalls, listFundingSources } from './queries.ts';

// ---------------------------------------------------------------------------------------------
// Pipelines

/** The group key of each dimension: the project fields a row is told apart by. */
const GROUP_KEYS: Readonly<Record<FundingDimension, Readonly<Record<string, string>>>> = {
  // An ALI project has an allianceId, a reuse project a reuseSolutionId: one row each.
  ALLIANCE: { a: '$allianceId', r: '$reuseSolutionId' },
  // Rolled up to the ALI's province in the program (one ALI per province, fact ali-established).
  PROVINCE: { a: '$allianceId' },
  // Rolled up to the call's funding source in the program (no $lookup on FerretDB).
  FUNDING_SOURCE: { c: '$callId' },
  AGREEMENT: { g: '$agreementId' },
  CALL: { c: '$callId' },
};

/** The three pipelines of a breakdown, one accumulator each (see the module comment). */
export function breakdownPipelines(by: FundingDimension): { counts: Document[]; totalValue: Document[]; cofinancing: Document[] } {
  const key = GROUP_KEYS[by];
  const parts = {
    ...key,
    // Reuse rows of the ALLIANCE breakdown are labelled with their project's title (the funding
    // subgraph does not own the solutions' names); one title per project, so no count is split wrongly.
    ...(by === 'ALLIANCE' ? { t: '$title' } : {}),
    p: '$provenance',
    e: '$estimateGroup.id',
    s: '$estimateGroup.size',
  };
  return {
    counts: [{ $group: { _id: parts, n: { $sum: 1 } } }],
    totalValue: [{ $group: { _id: key, n: { $sum: '$totalValue' } } }],
    cofinancing: [{ $group: { _id: key, n: { $sum: '$cofinancing' } } }],
  };
}

/** One result document of a breakdown pipeline: the group key and its single accumulator. */
export interface Cell {
  readonly _id: Readonly<Record<string, unknown>> | null;
  readonly n: unknown;
}

/** What the rows are labelled and ordered with (only what the dimension needs). */
export interface References {
  readonly calls?: readonly (Pick<CallDoc, '_id'> & Partial<Pick<CallDoc, 'title' | 'fundingSourceId'>>)[];
  readonly sources?: readonly Pick<FundingSourceDoc, '_id' | 'name' | 'amount'>[];
  readonly agreements?: readonly Pick<AgreementDoc, '_id' | 'title'>[];
}

async function referencesFor(db: Db, by: FundingDimension): Promise<References> {
  switch (by) {
    case 'ALLIANCE':
    case 'PROVINCE':
      return {};
    case 'FUNDING_SOURCE': {
      const [calls, sources] = await Promise.all([
        listCalls(db, ['fundingSourceId']),
        listFundingSources(db, ['name', 'amount']),
      ]);
      return { calls, sources };
    }
    case 'AGREEMENT':
      return { agreements: await listAgreements(db, ['title']) };
    case 'CALL':
      return { calls: await listCalls(db, ['title']) };
  }
}

/**
 * The breakdown of all funded projects by `by`. MongoDB commands: 3 `aggregate` on
 * funded_projects, plus `find` on calls (CALL, FUNDING_SOURCE), funding_sources (FUNDING_SOURCE)
 * or agreements (AGREEMENT); all sent at once.
 */
export async function fundingBreakdown(db: Db, by: FundingDimension): Promise<FundingBreakdownParent> {
  const projects = db.collection(FUNDED_PROJECTS);
  const pipelines = breakdownPipelines(by);
  const [counts, totalValue, cofinancing, refs] = await Promise.all([
    projects.aggregate<Cell>(pipelines.counts).toArray(),
    projects.aggregate<Cell>(pipelines.totalValue).toArray(),
    projects.aggregate<Cell>(pipelines.cofinancing).toArray(),
    referencesFor(db, by),
  ]);
  return buildBreakdown(by, { counts, totalValue, cofinancing }, refs);
}

// ---------------------------------------------------------------------------------------------
// Pure arithmetic: rows from cells, provenance of counted parts, rates

/** A counted set of projects sharing a provenance and an estimate split. */
export interface ProvenancePart {
  readonly provenance: Provenance;
  readonly estimateGroupId: string | null;
  readonly estimateGroupSize: number | null;
  readonly count: number;
}

/**
 * The provenance of an aggregate of counted parts, by the rule of `totalsOf` (queries.ts):
 * SAMPLE if it includes sample data; ESTIMATED if it includes an estimated part without all the
 * other parts of its split (a complete split sums to its published total, so the estimate cancels
 * out); DERIVED otherwise (a sum is computed, never PUBLISHED). With the note that says why.
 */
export function provenanceOf(parts: readonly ProvenancePart[]): { provenance: Provenance; note: string | null } {
  const count = parts.reduce((n, p) => n + p.count, 0);
  if (count === 0) return { provenance: 'DERIVED', note: 'No projects in this group.' };
  if (parts.some((p) => p.provenance === 'SAMPLE' && p.count > 0)) {
    return { provenance: 'SAMPLE', note: 'Includes sample projects (not real data).' };
  }
  const splits = new Map<string, { size: number; seen: number }>();
  let lone = false;
  for (const p of parts) {
    if (p.provenance !== 'ESTIMATED' || p.count === 0) continue;
    if (p.estimateGroupId == null) {
      lone = true;
      continue;
    }
    const g = splits.get(p.estimateGroupId) ?? { size: p.estimateGroupSize ?? 0, seen: 0 };
    g.seen += p.count;
    splits.set(p.estimateGroupId, g);
  }
  const partial = [...splits].filter(([, g]) => g.seen !== g.size);
  if (lone || partial.length > 0) {
    const what = partial.map(([id, g]) => `${g.seen} of the ${g.size} estimated parts of the split "${id}"`);
    if (lone) what.push('estimated amounts');
    return {
      provenance: 'ESTIMATED',
      note:
        `ESTIMATED: includes ${what.join(' and ')} of a published total (see each project's provenanceNote: ` +
        "the split is proportional to the ALI's member count), so this figure is an estimate.",
    };
  }
  if (splits.size > 0) {
    const what = [...splits].map(([id, g]) => `all ${g.size} parts of the estimated split "${id}"`);
    return {
      provenance: 'DERIVED',
      note: `DERIVED: sum of the project amounts; it includes ${what.join(' and ')}, which sum exactly to their published total, so the estimate cancels out.`,
    };
  }
  return { provenance: 'DERIVED', note: 'DERIVED: sum of published project amounts.' };
}

/**
 * `cofinancing / totalValue` as a percentage with `decimals` places (rounded half up, exact
 * integer arithmetic); null when totalValue is 0 (no rate of nothing).
 */
export function cofinancingRate(cofinancing: Cents, totalValue: Cents, decimals: number): string | null {
  if (!Number.isInteger(decimals) || decimals < 0 || decimals > 6) throw badInput('decimals', 'decimals must be between 0 and 6');
  return totalValue === 0n ? null : percent(cofinancing, totalValue, decimals);
}

/** Keys of the rows outside the dimension's reference list. */
const REGION_KEY = 'region';
const UNATTRIBUTED_KEY = 'unattributed';
const TOTAL_KEY = 'total';
const NONE_KEY = 'none';

const ALLIANCE_PROVINCE = new Map(PROVINCES.map((p) => [p.allianceId, p]));

function field(cell: Cell, name: string): string | null {
  const v = cell._id?.[name];
  return typeof v === 'string' ? v : null;
}

/** The row a cell belongs to. */
function rowKeyOf(by: FundingDimension, cell: Cell, sourceOfCall: ReadonlyMap<string, string | null>): string {
  switch (by) {
    case 'ALLIANCE':
      return field(cell, 'a') ?? field(cell, 'r') ?? NONE_KEY;
    case 'PROVINCE': {
      const a = field(cell, 'a');
      return a == null ? REGION_KEY : (ALLIANCE_PROVINCE.get(a)?.code ?? a);
    }
    case 'FUNDING_SOURCE': {
      const c = field(cell, 'c');
      return (c != null ? sourceOfCall.get(c) : null) ?? UNATTRIBUTED_KEY;
    }
    case 'AGREEMENT':
      return field(cell, 'g') ?? NONE_KEY;
    case 'CALL':
      return field(cell, 'c') ?? NONE_KEY;
  }
}

interface Acc {
  projectCount: number;
  totalValue: Cents;
  cofinancing: Cents;
  parts: ProvenancePart[];
  titles: Set<string>;
}

const emptyAcc = (): Acc => ({ projectCount: 0, totalValue: 0n, cofinancing: 0n, parts: [], titles: new Set() });

function cents(value: unknown): Cents {
  const c = fromStored(value);
  if (c === null) throw new Error('an aggregated amount is missing');
  return c;
}

function partOf(cell: Cell): ProvenancePart {
  const size = cell._id?.['s'];
  return {
    provenance: (field(cell, 'p') ?? 'DERIVED') as Provenance,
    estimateGroupId: field(cell, 'e'),
    estimateGroupSize: typeof size === 'number' ? size : size == null ? null : Number(size),
    count: Number(fromStored(cell.n) ?? 0n),
  };
}

function rowOf(key: string, label: string, acc: Acc, sourceAmount: Cents | null, extraNote?: string): FundingBreakdownRowParent {
  const { provenance, note } = provenanceOf(acc.parts);
  return {
    key,
    label,
    projectCount: acc.projectCount,
    totalValue: acc.totalValue,
    cofinancing: acc.cofinancing,
    otherFunding: acc.totalValue - acc.cofinancing,
    sourceAmount,
    provenance,
    provenanceNote: extraNote ? `${note} ${extraNote}` : note,
  };
}

/** The labelled reference rows of a dimension, in their order (each present even with no project). */
function referenceRows(by: FundingDimension, refs: References): { key: string; label: string }[] {
  switch (by) {
    case 'ALLIANCE':
      return PROVINCES.map((p) => ({ key: p.allianceId, label: `ALI ${p.name}` }));
    case 'PROVINCE':
      return PROVINCES.map((p) => ({ key: p.code, label: p.name }));
    case 'FUNDING_SOURCE':
      return (refs.sources ?? []).map((s) => ({ key: s._id, label: s.name }));
    case 'AGREEMENT':
      return (refs.agreements ?? []).map((a) => ({ key: a._id, label: a.title }));
    case 'CALL':
      return (refs.calls ?? []).map((c) => ({ key: c._id, label: c.title ?? c._id }));
  }
}

function otherLabel(by: FundingDimension, key: string, acc: Acc): string {
  if (key === REGION_KEY && by === 'PROVINCE') return 'Region-wide (reuse projects)';
  if (key === UNATTRIBUTED_KEY && by === 'FUNDING_SOURCE') return 'Unattributed (the call has no known funding source)';
  if (by === 'ALLIANCE' && acc.titles.size > 0) return [...acc.titles].sort().join('; ');
  return key;
}

const SOURCE_NOTE = "Projects are attributed to a funding source through the call they answered (the call's fundingSource).";

/**
 * The rows and total of a breakdown from the pipelines' cells: reference rows first in their
 * order (with zeros where no project falls in them), then the other groups (a reuse project, the
 * region-wide or unattributed row) by key. The total is the roll-up of every cell, so the rows
 * always sum to it.
 */
export function buildBreakdown(
  by: FundingDimension,
  cells: { readonly counts: readonly Cell[]; readonly totalValue: readonly Cell[]; readonly cofinancing: readonly Cell[] },
  refs: References,
): FundingBreakdownParent {
  const sourceOfCall = new Map((refs.calls ?? []).map((c) => [c._id, c.fundingSourceId ?? null]));
  const accs = new Map<string, Acc>();
  const total = emptyAcc();
  const accOf = (cell: Cell) => {
    const key = rowKeyOf(by, cell, sourceOfCall);
    let acc = accs.get(key);
    if (!acc) accs.set(key, (acc = emptyAcc()));
    return acc;
  };
  for (const cell of cells.counts) {
    const part = partOf(cell);
    const title = field(cell, 't');
    for (const acc of [accOf(cell), total]) {
      acc.projectCount += part.count;
      acc.parts.push(part);
      if (title != null && field(cell, 'a') == null) acc.titles.add(title);
    }
  }
  for (const cell of cells.totalValue) for (const acc of [accOf(cell), total]) acc.totalValue += cents(cell.n);
  for (const cell of cells.cofinancing) for (const acc of [accOf(cell), total]) acc.cofinancing += cents(cell.n);

  const amounts = new Map((refs.sources ?? []).map((s) => [s._id, s.amount == null ? null : cents(s.amount)]));
  const note = by === 'FUNDING_SOURCE' ? SOURCE_NOTE : undefined;
  const listed = referenceRows(by, refs);
  const listedKeys = new Set(listed.map((r) => r.key));
  const others = [...accs.keys()].filter((k) => !listedKeys.has(k)).sort();
  const rows = [
    ...listed.map((r) => rowOf(r.key, r.label, accs.get(r.key) ?? emptyAcc(), amounts.get(r.key) ?? null, note)),
    ...others.map((k) => rowOf(k, otherLabel(by, k, accs.get(k)!), accs.get(k)!, null, note)),
  ];
  return { dimension: by, rows, total: rowOf(TOTAL_KEY, 'All projects', total, null) };
}
