/**
 * The reuse database: the catalogue of reuse solutions (fact reuse-solutions) and the Comuni's adoptions of them,
 * their document shapes, and the indexes each needs (created at start-up).
 */
import type { CollectionSpec } from '../../../lib/mongo.ts';
import { auditCollection } from '../../../lib/writes.ts';
import { eventLogCollection } from '../../../lib/events/log.ts';
import type { Connection } from '../../../lib/pagination.ts';
import type { AdoptionStatus, Provenance } from '../__generated__/types.ts';

export interface ReuseSolutionDoc {
  /** Slug, e.g. "sigma-ter-piemonte". */
  _id: string;
  name: string;
  description: string;
  /** Id of the governance Institution that built it, or null where the source does not say. */
  builtById: string | null;
  legalBasis: string;
  provenance: Provenance;
}

export interface AdoptionDoc {
  /** "<solution id>:<ISTAT code>": one adoption per solution and Comune. */
  _id: string;
  solutionId: string;
  /** ISTAT code of the adopting Comune (the Municipality entity of the alliances subgraph). */
  istatCode: string;
  /** ISTAT province code: the first three digits of `istatCode`, stored for filtering. */
  provinceCode: string;
  status: AdoptionStatus;
  /** YYYY-MM-DD; null while PLANNED. */
  startedOn: string | null;
  provenance: Provenance;
  /** Missing (0) on seeded documents; see lib/writes.ts. */
  version?: number;
}

// Resolver parents (codegen mappers): documents as loaded, possibly with a projection.
export type ReuseSolutionParent = Partial<ReuseSolutionDoc> & { _id: string };
export type AdoptionParent = Partial<AdoptionDoc> & { _id: string };
export type AdoptionConnectionParent = Connection<AdoptionParent>;
export type AdoptionEdgeParent = { cursor: string; node: AdoptionParent };
/** The alliances' Municipality as this subgraph knows it: its key only. */
export type MunicipalityParent = { istatCode: string };
/** One row of the adoption statistics (data/analytics.ts); the dimensions not grouped by are null. */
export interface AdoptionCountRowParent {
  /** The solution's key, resolved by the solution loader when selected. */
  solution: ReuseSolutionParent | null;
  provinceCode: string | null;
  /** The alliances subgraph's Province, by its key. */
  province: { code: string } | null;
  status: AdoptionStatus | null;
  count: number;
  provenance: Provenance;
}

export const REUSE_SOLUTIONS = 'reuse_solutions';
export const ADOPTIONS = 'adoptions';

export const collections: readonly CollectionSpec[] = [
  { name: REUSE_SOLUTIONS, indexes: [] },
  {
    name: ADOPTIONS,
    indexes: [
      // The one ordering (Comune, then _id, i.e. solution). Also serves `municipalityIstatCode`
      // (equality prefix, at most one adoption per solution behind it) and Municipality.adoptions ($in).
      { key: { istatCode: 1, _id: 1 }, name: 'istat' },
      // Every combination of the equality filters, followed by the ordering.
      { key: { solutionId: 1, istatCode: 1, _id: 1 }, name: 'solution_istat' },
      { key: { status: 1, istatCode: 1, _id: 1 }, name: 'status_istat' },
      { key: { provinceCode: 1, istatCode: 1, _id: 1 }, name: 'province_istat' },
      { key: { solutionId: 1, status: 1, istatCode: 1, _id: 1 }, name: 'solution_status_istat' },
      { key: { solutionId: 1, provinceCode: 1, istatCode: 1, _id: 1 }, name: 'solution_province_istat' },
      { key: { status: 1, provinceCode: 1, istatCode: 1, _id: 1 }, name: 'status_province_istat' },
      { key: { solutionId: 1, status: 1, provinceCode: 1, istatCode: 1, _id: 1 }, name: 'solution_status_province_istat' },
    ],
  },
  // Every change made through a mutation (lib/writes.ts).
  auditCollection,
  eventLogCollection,
];
