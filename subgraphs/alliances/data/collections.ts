/**
 * The alliances database: provinces, alliances and municipalities, their document shapes, and
 * the indexes each needs (created at start-up).
 */
import type { CollectionSpec } from '../../../lib/mongo.ts';
import { auditCollection } from '../../../lib/writes.ts';
import { eventLogCollection } from '../../../lib/events/log.ts';
import type { Connection } from '../../../lib/pagination.ts';
import type { Provenance } from '../__generated__/types.ts';

export interface ProvinceDoc {
  _id: string;
  name: string;
  abbreviation: string;
  allianceId: string;
}

export interface AllianceDoc {
  _id: string;
  name: string;
  provinceCode: string;
  tasks: { number: number; description: string }[];
  provenance: Provenance;
}

export interface MunicipalityDoc {
  _id: string;
  name: string;
  /** Lower-case name without accents: the sort and prefix-search key. */
  nameKey: string;
  provinceCode: string;
  population: number;
  small: boolean;
  cadastralCode: string;
  postcodes: string[];
  /** Member of this ALI, or null. */
  allianceId: string | null;
  provenance: Provenance;
  membershipProvenance: Provenance | null;
  membershipNote: string | null;
  /** Missing (0) on seeded documents; see lib/writes.ts. */
  version?: number;
}

// Resolver parents (codegen mappers): documents as loaded, possibly with a projection.
export type ProvinceParent = Partial<ProvinceDoc> & { _id: string };
export type AllianceParent = Partial<AllianceDoc> & { _id: string };
export type MunicipalityParent = Partial<MunicipalityDoc> & { _id: string };
export type MembershipParent = { istatCode: string; allianceId: string; provenance: Provenance; note: string | null };
export type MunicipalityConnectionParent = Connection<MunicipalityParent>;
export type MunicipalityEdgeParent = { cursor: string; node: MunicipalityParent };
/** Membership coverage of a province or of the region (data/analytics.ts); shares are computed by resolvers. */
export interface CoverageRowParent {
  provinceCode: string;
  label: string;
  municipalityCount: number;
  memberCount: number;
  smallMunicipalityCount: number;
  smallMemberCount: number;
  population: number;
  memberPopulation: number;
  provenance: Provenance;
}
export interface CoverageParent {
  rows: CoverageRowParent[];
  total: CoverageRowParent;
}

export const PROVINCES = 'provinces';
export const ALLIANCES = 'alliances';
export const MUNICIPALITIES = 'municipalities';

export const collections: readonly CollectionSpec[] = [
  { name: PROVINCES, indexes: [] },
  { name: ALLIANCES, indexes: [{ key: { provinceCode: 1 }, name: 'provinceCode', unique: true }] },
  {
    name: MUNICIPALITIES,
    indexes: [
      // Orderings (each ends with _id so the keyset is total).
      { key: { nameKey: 1, _id: 1 }, name: 'name' },
      { key: { population: 1, _id: 1 }, name: 'population' },
      // Filters combined with the name ordering.
      { key: { provinceCode: 1, nameKey: 1, _id: 1 }, name: 'province_name' },
      { key: { allianceId: 1, nameKey: 1, _id: 1 }, name: 'alliance_name' },
      { key: { small: 1, nameKey: 1, _id: 1 }, name: 'small_name' },
      { key: { allianceId: 1, small: 1 }, name: 'alliance_small' },
      { key: { cadastralCode: 1 }, name: 'cadastralCode', unique: true },
    ],
  },
  // Every change made through a mutation (lib/writes.ts).
  auditCollection,
  eventLogCollection,
];
