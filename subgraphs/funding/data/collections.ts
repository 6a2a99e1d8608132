/**
 * The funding database: funding sources, agreements (the APQ and its supplementary acts), CNIPA
 * calls and funded projects. Amounts are Int64 euro cents (read back as bigint).
 */
import type { CollectionSpec } from '../../../lib/mongo.ts';
import { auditCollection } from '../../../lib/writes.ts';
import { eventLogCollection } from '../../../lib/events/log.ts';
import type { Connection } from '../../../lib/pagination.ts';
import type { FundingDimension, Provenance } from '../__generated__/types.ts';

/** Int64 cents in the database; bigint in the program (driver option useBigInt64). */
export type StoredCents = bigint;

export interface FundingSourceDoc {
  _id: string;
  name: string;
  italianName: string;
  legalBasis: string;
  /** null: the source does not define the amount (fact finanziaria-2003-funds). */
  amount: StoredCents | null;
  providedBy: string;
  purpose: string;
  channelAgreementId: string | null;
  callIds: string[];
  provenance: Provenance;
}

export interface ResolutionDoc {
  reference: string;
  date: string;
  issuedBy: string;
}

export interface AgreementDoc {
  _id: string;
  kind: 'FRAMEWORK_AGREEMENT' | 'SUPPLEMENTARY_ACT';
  title: string;
  italianTitle: string;
  ordinal: number | null;
  signedOn: string | null;
  signatoryIds: string[];
  approvedBy: ResolutionDoc | null;
  frameworkId: string | null;
  statedTotalLabel: string | null;
  statedTotalLowerBound: StoredCents | null;
  respondsToCallIds: string[];
  provenance: Provenance;
}

export interface CallSubmissionDoc {
  submittedBy: string;
  month: string;
  projectCount: number;
  statedTotalLabel: string;
  totalValueLowerBound: StoredCents;
  provenance: Provenance;
}

export interface TotalsDoc {
  projectCount: number;
  totalValue: StoredCents;
  cofinancing: StoredCents;
  provenance: Provenance;
}

export interface CallDoc {
  _id: string;
  kind: 'PREQUALIFICATION' | 'ALI_PROJECT_COFINANCING' | 'REUSE_PROJECTS';
  title: string;
  italianTitle: string;
  issuedBy: string;
  year: number | null;
  fundingSourceId: string | null;
  submissions: CallSubmissionDoc[];
  publishedTotals: TotalsDoc | null;
  provenance: Provenance;
  provenanceNote: string | null;
}

/** A split of a published total into estimated parts: the parts are estimates, their sum is not. */
export interface EstimateGroupDoc {
  id: string;
  size: number;
}

export interface FundedProjectDoc {
  _id: string;
  title: string;
  titleKey: string;
  agreementId: string;
  callId: string;
  beneficiaryType: 'Alliance' | 'ReuseSolution';
  allianceId: string | null;
  reuseSolutionId: string | null;
  totalValue: StoredCents;
  cofinancing: StoredCents;
  cofinancedBy: string;
  statedRateLabel: string | null;
  provenance: Provenance;
  provenanceNote: string | null;
  estimateGroup: EstimateGroupDoc | null;
  /** Missing (0) on seeded documents; see lib/writes.ts. */
  version?: number;
}

// Resolver parents (codegen mappers).
type Loaded<T extends { _id: string }> = Partial<T> & { _id: string };
export type FundingSourceParent = Loaded<FundingSourceDoc>;
export type AgreementParent = Loaded<AgreementDoc>;
export type CallParent = Loaded<CallDoc>;
export type CallSubmissionParent = CallSubmissionDoc;
export type ResolutionParent = ResolutionDoc;
export type FundedProjectParent = Loaded<FundedProjectDoc>;
export type FundedProjectConnectionParent = Connection<FundedProjectParent>;
export type FundedProjectEdgeParent = { cursor: string; node: FundedProjectParent };
export type FundingTotalsParent = TotalsDoc;
export type AllianceParent = { id: string; __typename?: 'Alliance' };
export type ReuseSolutionParent = { id: string; __typename?: 'ReuseSolution' };
/** One row of a funding breakdown (data/analytics.ts), amounts in bigint cents. */
export interface FundingBreakdownRowParent {
  key: string;
  label: string;
  projectCount: number;
  totalValue: StoredCents;
  cofinancing: StoredCents;
  otherFunding: StoredCents;
  /** FUNDING_SOURCE rows: the source's published amount; null where unpublished (fact finanziaria-2003-funds) and in other dimensions. */
  sourceAmount: StoredCents | null;
  provenance: Provenance;
  provenanceNote: string | null;
}
export interface FundingBreakdownParent {
  dimension: FundingDimension;
  rows: FundingBreakdownRowParent[];
  total: FundingBreakdownRowParent;
}

export const FUNDING_SOURCES = 'funding_sources';
export const AGREEMENTS = 'agreements';
export const CALLS = 'calls';
export const FUNDED_PROJECTS = 'funded_projects';

export const collections: readonly CollectionSpec[] = [
  { name: FUNDING_SOURCES, indexes: [] },
  { name: AGREEMENTS, indexes: [{ key: { frameworkId: 1, ordinal: 1 }, name: 'framework_ordinal' }] },
  { name: CALLS, indexes: [{ key: { fundingSourceId: 1 }, name: 'fundingSource' }] },
  {
    name: FUNDED_PROJECTS,
    indexes: [
      { key: { titleKey: 1, _id: 1 }, name: 'title' },
      { key: { totalValue: 1, _id: 1 }, name: 'totalValue' },
      { key: { agreementId: 1, titleKey: 1, _id: 1 }, name: 'agreement_title' },
      { key: { callId: 1, titleKey: 1, _id: 1 }, name: 'call_title' },
      { key: { allianceId: 1, titleKey: 1, _id: 1 }, name: 'alliance_title' },
      { key: { reuseSolutionId: 1, titleKey: 1, _id: 1 }, name: 'reuseSolution_title' },
      { key: { provenance: 1, titleKey: 1, _id: 1 }, name: 'provenance_title' },
    ],
  },
  // Every change made through a mutation (lib/writes.ts).
  auditCollection,
  eventLogCollection,
];
