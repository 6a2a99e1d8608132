/**
 * The governance subgraph's per-request DataLoaders. `createLoaders` is called for every request by
 * `createData` (context.ts), never at module scope.
 */
import type { Db } from 'mongodb';
import { entityLoader, groupLoader, parentPageLoader } from '../../../lib/loaders.ts';
import type { PageArgs, PageLimits } from '../../../lib/pagination.ts';
import {
  COMMITTEE_MEMBERS,
  COMMITTEES,
  FACILITATORS,
  INSTITUTIONS,
  MEETINGS,
  type CommitteeDoc,
  type CommitteeMemberDoc,
  type FacilitatorDoc,
  type InstitutionDoc,
  type MeetingDoc,
} from './collections.ts';
import { MEETING_ORDER } from './queries.ts';

export function createLoaders(db: Db, limits: PageLimits) {
  const members = db.collection<CommitteeMemberDoc>(COMMITTEE_MEMBERS);
  return {
    institution: entityLoader<InstitutionDoc>(db.collection(INSTITUTIONS)),
    committee: entityLoader<CommitteeDoc>(db.collection(COMMITTEES)),
    facilitator: entityLoader<FacilitatorDoc>(db.collection(FACILITATORS)),
    /** Seats of many committees in one find, by id (seats are small: load with `fields: null`). */
    membersByCommittee: groupLoader<CommitteeMemberDoc>(members, 'committeeId'),
    /** Seats held by many Comuni (by ISTAT code) in one find; institutions' seats never match. */
    seatsByMunicipality: groupLoader<CommitteeMemberDoc>(members, 'memberId', { filter: { memberType: 'Municipality' } }),
    /** Facilitators of many ALI in one find on the multikey `allianceIds`, by name. */
    facilitatorsByAlliance: groupLoader<FacilitatorDoc>(db.collection(FACILITATORS), 'allianceIds', { sort: { name: 1, _id: 1 } }),
    /** Meeting pages of many committees in one find per argument set (totals: one aggregation). */
    meetingPages: parentPageLoader<MeetingDoc, PageArgs>(db.collection(MEETINGS), 'committeeId', limits, () => ({
      filter: {},
      order: MEETING_ORDER,
    })),
  };
}
