/**
 * The governance database: the institutions named in the source, the two governance committees
 * (fact governance-committees) with their members and meetings, and the RUPAR facilitators (fact
 * rupar-facilitators); their document shapes and the indexes each needs (created at start-up).
 */
import type { CollectionSpec } from '../../../lib/mongo.ts';
import { auditCollection } from '../../../lib/writes.ts';
import { eventLogCollection } from '../../../lib/events/log.ts';
import type { Connection } from '../../../lib/pagination.ts';
import type { CommitteeKind, InstitutionKind, Provenance } from '../__generated__/types.ts';

export interface InstitutionDoc {
  /** Slug, e.g. "cnipa". */
  _id: string;
  /** English name where there is one. */
  name: string;
  italianName: string;
  acronym: string | null;
  kind: InstitutionKind;
  role: string;
  /** Listing order: the order the source names them in. */
  position: number;
  provenance: Provenance;
}

export interface CommitteeDoc {
  _id: string;
  kind: CommitteeKind;
  name: string;
  italianName: string;
  mandate: string;
  position: number;
  provenance: Provenance;
}

/** What a committee seat is held by: a Comune (owned by the alliances subgraph) or an institution. */
export type MemberType = 'Municipality' | 'Institution';

export interface CommitteeMemberDoc {
  /** `<committee id>:<member id>`, so a committee's seats sort by member. */
  _id: string;
  committeeId: string;
  memberType: MemberType;
  /** ISTAT code of a Comune, or an institution id. */
  memberId: string;
  role: string;
  provenance: Provenance;
}

export interface MeetingDoc {
  _id: string;
  committeeId: string;
  /** YYYY-MM-DD: sorts as a string. */
  date: string;
  title: string;
  decisions: { number: number; summary: string }[];
  provenance: Provenance;
  /** Missing (0) on seeded documents; see lib/writes.ts. */
  version?: number;
}

export interface FacilitatorDoc {
  _id: string;
  name: string;
  /** The ALI served (many-to-many: a facilitator may serve several). */
  allianceIds: string[];
  provenance: Provenance;
}

// Resolver parents (codegen mappers): documents as loaded, possibly with a projection.
export type InstitutionParent = Partial<InstitutionDoc> & { _id: string };
export type CommitteeParent = Partial<CommitteeDoc> & { _id: string };
export type CommitteeMemberParent = CommitteeMemberDoc;
export type MeetingParent = Partial<MeetingDoc> & { _id: string };
export type MeetingConnectionParent = Connection<MeetingParent>;
export type MeetingEdgeParent = { cursor: string; node: MeetingParent };
export type FacilitatorParent = Partial<FacilitatorDoc> & { _id: string };
export type FacilitatorConnectionParent = Connection<FacilitatorParent>;
export type FacilitatorEdgeParent = { cursor: string; node: FacilitatorParent };
/** Entities owned by the alliances subgraph: only their key lives here. */
export type AllianceParent = { id: string };
export type MunicipalityParent = { istatCode: string };

export const INSTITUTIONS = 'institutions';
export const COMMITTEES = 'committees';
export const COMMITTEE_MEMBERS = 'committeeMembers';
export const MEETINGS = 'meetings';
export const FACILITATORS = 'facilitators';

export const collections: readonly CollectionSpec[] = [
  { name: INSTITUTIONS, indexes: [{ key: { position: 1 }, name: 'position' }] },
  {
    name: COMMITTEES,
    indexes: [
      { key: { position: 1 }, name: 'position' },
      { key: { kind: 1 }, name: 'kind', unique: true },
    ],
  },
  {
    name: COMMITTEE_MEMBERS,
    indexes: [
      // Committee.members (sorted by _id) and Municipality.committeeSeats.
      { key: { committeeId: 1, _id: 1 }, name: 'committee' },
      { key: { memberType: 1, memberId: 1, _id: 1 }, name: 'member' },
    ],
  },
  {
    name: MEETINGS,
    // Committee.meetings: newest first, _id as the tie-breaker of the keyset.
    indexes: [{ key: { committeeId: 1, date: -1, _id: 1 }, name: 'committee_date' }],
  },
  {
    name: FACILITATORS,
    indexes: [
      { key: { name: 1, _id: 1 }, name: 'name' },
      // Multikey: facilitators of one ALI by name, and Alliance.facilitators.
      { key: { allianceIds: 1, name: 1, _id: 1 }, name: 'alliance_name' },
    ],
  },
  // Every change made through a mutation (lib/writes.ts).
  auditCollection,
  eventLogCollection,
];
