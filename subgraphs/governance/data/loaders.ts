/**
 * The governance subgraph's per-request DataLoaders and resolver context. `createLoaders` is
 * called by the context factory for every request, never at module scope.
 */
import DataLoader from 'dataloader';
import type { Db } from 'mongodb';
import { entityLoader, groupLoader, type EntityKey } from '../../../lib/loaders.ts';
import type { Connection, PageLimits } from '../../../lib/pagination.ts';
import type { SubgraphContext } from '../../../lib/subgraph.ts';
import {
  COMMITTEE_MEMBERS,
  COMMITTEES,
  FACILITATORS,
  INSTITUTIONS,
  type CommitteeDoc,
  type CommitteeMemberDoc,
  type FacilitatorDoc,
  type InstitutionDoc,
  type MeetingDoc,
} from './collections.ts';
import { countMeetings, findGrouped, meetingPagesByCommittee, type MeetingPageKey } from './queries.ts';

const entityKey = (k: EntityKey<string>) => `${k.id}|${k.fields === null ? '*' : [...k.fields].sort().join(',')}`;

export function createLoaders(db: Db, limits: PageLimits) {
  const members = db.collection<CommitteeMemberDoc>(COMMITTEE_MEMBERS);
  /** Meeting totals of many committees in one aggregation. */
  const meetingCounts = new DataLoader<string, number>((ids) => countMeetings(db, ids));
  return {
    institution: entityLoader<InstitutionDoc>(db.collection(INSTITUTIONS)),
    committee: entityLoader<CommitteeDoc>(db.collection(COMMITTEES)),
    facilitator: entityLoader<FacilitatorDoc>(db.collection(FACILITATORS)),
    /** Seats of many committees in one find, by id (seats are small: load with `fields: null`). */
    membersByCommittee: groupLoader<CommitteeMemberDoc>(members, 'committeeId'),
    /** Seats held by many Comuni (by ISTAT code) in one find; institutions' seats never match. */
    seatsByMunicipality: new DataLoader<string, CommitteeMemberDoc[]>((codes) =>
      findGrouped(members, 'memberId', codes.map((id) => ({ id, fields: null })), {
        filter: { memberType: 'Municipality' },
        sort: { _id: 1 },
      }),
    ),
    /** Facilitators of many ALI in one find on the multikey `allianceIds`, by name. */
    facilitatorsByAlliance: new DataLoader<EntityKey<string>, FacilitatorDoc[], string>(
      (keys) => findGrouped(db.collection<FacilitatorDoc>(FACILITATORS), 'allianceIds', keys, { sort: { name: 1, _id: 1 } }),
      { cacheKeyFn: entityKey },
    ),
    meetingCounts,
    /**
     * Meeting pages of many committees in one find per argument set; `totalCount`, when
     * selected, comes from one aggregation for all of them instead of a count per committee.
     */
    meetingPages: new DataLoader<MeetingPageKey, Connection<MeetingDoc>, string>(
      async (keys) =>
        (await meetingPagesByCommittee(db, limits, keys)).map((page, i) =>
          page instanceof Error ? page : { ...page, totalCount: () => meetingCounts.load(keys[i]!.committeeId) },
        ),
      { cacheKeyFn: (k) => JSON.stringify(k) },
    ),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
export type Context = SubgraphContext<Loaders>;
