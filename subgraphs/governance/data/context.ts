/**
 * The governance data layer as its resolvers reach it (`ctx.data`): loaders and named data
 * functions bound to one request's database, page limits and caller. `createData` is called by
 * the context factory (lib/subgraph.ts) for every request; resolvers never see the database.
 */
import type { DataScope, SubgraphContext } from '../../../lib/subgraph.ts';
import { writer } from '../../../lib/writes.ts';
import type { MeetingChanges, RecordMeetingInput } from '../__generated__/types.ts';
import { createLoaders } from './loaders.ts';
import { amendMeeting, recordMeeting } from './mutations.ts';
import { findFacilitators, listCommittees, listInstitutions, type FacilitatorListArgs } from './queries.ts';

export function createData(scope: DataScope) {
  const { db, limits } = scope;
  return {
    loaders: createLoaders(db, limits),
    listInstitutions: (fields: readonly string[]) => listInstitutions(db, fields),
    listCommittees: (fields: readonly string[]) => listCommittees(db, fields),
    findFacilitators: (args: FacilitatorListArgs, fields: readonly string[]) => findFacilitators(db, limits, args, fields),
    recordMeeting: (input: RecordMeetingInput) => recordMeeting(writer(scope, 'governance', 'recordMeeting'), input),
    amendMeeting: (id: string, expectedVersion: number, changes: MeetingChanges) =>
      amendMeeting(writer(scope, 'governance', 'amendMeeting'), id, expectedVersion, changes),
  };
}

export type Data = ReturnType<typeof createData>;
export type Context = SubgraphContext<Data>;
