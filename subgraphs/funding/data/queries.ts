/**
 * Named data functions of the funding subgraph (every MongoDB query it runs), and the exact
 * totals of a set of projects.
 */
import type { Db, Document, Filter } from 'mongodb';
import { badInput } from '../../../lib/errors.ts';
import { projectionOf } from '../../../lib/loaders.ts';
import { findPage, ordering, type Connection, type Ordering, type PageArgs, type PageLimits } from '../../../lib/pagination.ts';
import type { FundedProjectFilter, FundedProjectOrder, Provenance } from '../__generated__/types.ts';
import {
  AGREEMENTS,
  CALLS,
  FUNDED_PROJECTS,
  FUNDING_SOURCES,
  type AgreementDoc,
  type CallDoc,
  type FundedProjectDoc,
  type FundingSourceDoc,
  type TotalsDoc,
} from './collections.ts';

const ORDERINGS: Readonly<Record<FundedProjectOrder, Ordering>> = {
  TITLE_ASC: ordering('TITLE_ASC', ['titleKey', 1], ['_id', 1]),
  TOTAL_VALUE_DESC: ordering('TOTAL_VALUE_DESC', ['totalValue', -1], ['_id', -1]),
  TOTAL_VALUE_ASC: ordering('TOTAL_VALUE_ASC', ['totalValue', 1], ['_id', 1]),
};

const ID_RE = /^[a-z0-9][a-z0-9-]{0,79}$/;

/** Rejects ids that cannot name anything (the check that needs no database). */
export function checkId(id: string, argument: string): string {
  if (!ID_RE.test(id)) throw badInput(argument, `"${id}" is not a valid id (lower-case letters, digits and dashes)`);
  return id;
}

export function listFundingSources(db: Db, fields: readonly string[]): Promise<FundingSourceDoc[]> {
  return db.collection<FundingSourceDoc>(FUNDING_SOURCES).find({}, { projection: projectionOf(fields), sort: { _id: 1 } }).toArray();
}

export function listAgreements(db: Db, fields: readonly string[]): Promise<AgreementDoc[]> {
  // Framework agreement first (ordinal null sorts first), then the acts in order.
  return db
    .collection<AgreementDoc>(AGREEMENTS)
    .find({}, { projection: projectionOf(fields), sort: { ordinal: 1, _id: 1 } })
    .toArray();
}

export function listCalls(db: Db, fields: readonly string[]): Promise<CallDoc[]> {
  return db.collection<CallDoc>(CALLS).find({}, { projection: projectionOf(fields), sort: { _id: 1 } }).toArray();
}

const PROVENANCES = new Set<Provenance>(['PUBLISHED', 'DERIVED', 'ESTIMATED', 'SAMPLE']);

function projectFilter(filter: FundedProjectFilter | null | undefined): Filter<Document> {
  if (!filter) return {};
  const parts: Filter<Document>[] = [];
  if (filter.agreementId != null) parts.push({ agreementId: checkId(filter.agreementId, 'filter.agreementId') });
  if (filter.callId != null) parts.push({ callId: checkId(filter.callId, 'filter.callId') });
  if (filter.allianceId != null) parts.push({ allianceId: checkId(filter.allianceId, 'filter.allianceId') });
  if (filter.reuseSolutionId != null) parts.push({ reuseSolutionId: checkId(filter.reuseSolutionId, 'filter.reuseSolutionId') });
  if (filter.provenance != null && PROVENANCES.has(filter.provenance)) parts.push({ provenance: filter.provenance });
  return parts.length === 0 ? {} : parts.length === 1 ? parts[0]! : { $and: parts };
}

export interface ProjectListArgs extends PageArgs {
  readonly filter?: FundedProjectFilter | null;
  readonly orderBy?: FundedProjectOrder | null;
}

export function findProjects(
  db: Db,
  limits: PageLimits,
  args: ProjectListArgs,
  fields: readonly string[],
): Promise<Connection<FundedProjectDoc>> {
  return findPage(db.collection<FundedProjectDoc>(FUNDED_PROJECTS), {
    filter: projectFilter(args.filter),
    order: ORDERINGS[args.orderBy ?? 'TITLE_ASC'],
    args,
    limits,
    projection: projectionOf(fields),
  });
}

/** The fields {@link totalsOf} needs from each project. */
export const TOTALS_FIELDS = ['totalValue', 'cofinancing', 'provenance', 'estimateGroup'] as const;

type TotalsInput = Pick<FundedProjectDoc, (typeof TOTALS_FIELDS)[number]>;

/**
 * Exact totals of a set of projects, in bigint cents. Provenance: ESTIMATED if it includes an
 * estimated part without all the other parts of the same split (a complete split sums to its
 * published total, so the estimate cancels out), SAMPLE if it includes sample data, else DERIVED.
 */
export function totalsOf(projects: readonly TotalsInput[]): TotalsDoc {
  let totalValue = 0n;
  let cofinancing = 0n;
  const groups = new Map<string, { size: number; seen: number }>();
  let sample = false;
  let loneEstimate = false;
  for (const p of projects) {
    totalValue += p.totalValue;
    cofinancing += p.cofinancing;
    if (p.provenance === 'SAMPLE') sample = true;
    if (p.provenance === 'ESTIMATED') {
      if (!p.estimateGroup) loneEstimate = true;
      else {
        const g = groups.get(p.estimateGroup.id) ?? { size: p.estimateGroup.size, seen: 0 };
        g.seen += 1;
        groups.set(p.estimateGroup.id, g);
      }
    }
  }
  const partial = loneEstimate || [...groups.values()].some((g) => g.seen !== g.size);
  return {
    projectCount: projects.length,
    totalValue,
    cofinancing,
    provenance: sample ? 'SAMPLE' : partial ? 'ESTIMATED' : 'DERIVED',
  };
}
