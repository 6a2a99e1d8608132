/**
 * Resolvers of the governance subgraph: read arguments, call a loader or a named data function,
 * shape the result. No MongoDB access here.
 */
import { notFound, present } from '../../../lib/errors.ts';
import { fieldsFor, nodeFieldsFor, type FieldMap } from '../../../lib/loaders.ts';
import { DateScalar } from '../../../lib/scalars.ts';
import type { CommitteeResolvers, FacilitatorResolvers, InstitutionResolvers, MeetingResolvers, Resolvers } from '../__generated__/types.ts';
import type { Context } from '../data/context.ts';
import { checkSlug } from '../data/queries.ts';
import { requireWrite } from '../../../lib/access.ts';
import { versionOf } from '../../../lib/writes.ts';
import { MEETING_RECORDED, meetingEventFilter, type MeetingEventPayload } from '../data/events.ts';

/** GraphQL field → document fields, for projections (`[]`: the key, or computed by a loader). */
const INSTITUTION: FieldMap<InstitutionResolvers> = {
  id: [],
  name: ['name'],
  italianName: ['italianName'],
  acronym: ['acronym'],
  kind: ['kind'],
  role: ['role'],
  provenance: ['provenance'],
};
const COMMITTEE: FieldMap<CommitteeResolvers> = {
  id: [],
  kind: ['kind'],
  name: ['name'],
  italianName: ['italianName'],
  mandate: ['mandate'],
  provenance: ['provenance'],
  members: [],
  meetings: [],
};
const MEETING: FieldMap<MeetingResolvers> = {
  id: [],
  committee: ['committeeId'],
  date: ['date'],
  title: ['title'],
  decisions: ['decisions'],
  provenance: ['provenance'],
  version: ['version'],
};
const FACILITATOR: FieldMap<FacilitatorResolvers> = { id: [], name: ['name'], alliances: ['allianceIds'], provenance: ['provenance'] };

export const resolvers: Resolvers<Context> = {
  Date: DateScalar,

  Query: {
    institutions: (_p, _a, ctx, info) => ctx.data.listInstitutions(fieldsFor(info, 'Institution', INSTITUTION)),
    institution: async (_p, { id }, ctx, info) => {
      checkSlug(id);
      const doc = await ctx.data.loaders.institution.load({ id, fields: fieldsFor(info, 'Institution', INSTITUTION) });
      return doc ?? Promise.reject(notFound('institution', id));
    },
    committees: (_p, _a, ctx, info) => ctx.data.listCommittees(fieldsFor(info, 'Committee', COMMITTEE)),
    committee: async (_p, { id }, ctx, info) => {
      checkSlug(id);
      const doc = await ctx.data.loaders.committee.load({ id, fields: fieldsFor(info, 'Committee', COMMITTEE) });
      return doc ?? Promise.reject(notFound('committee', id));
    },
    facilitators: (_p, args, ctx, info) =>
      ctx.data.findFacilitators(args, nodeFieldsFor(info, 'FacilitatorConnection', 'Facilitator', FACILITATOR)),
  },

  // Each mutation checks the caller's write scope first (the gateway refuses earlier too).
  Mutation: {
    recordMeeting: async (_p, { input }, ctx) => {
      requireWrite(ctx.caller, 'governance');
      const change = await ctx.data.recordMeeting(input);
      await ctx.events.publish(change);
      return { meeting: change.after };
    },
    amendMeeting: async (_p, { id, expectedVersion, changes }, ctx) => {
      requireWrite(ctx.caller, 'governance');
      const change = await ctx.data.amendMeeting(id, expectedVersion, changes);
      await ctx.events.publish(change);
      return { meeting: change.after };
    },
  },

  // Each event runs with a fresh context (loaders) of the connection's caller (lib/subgraph.ts).
  Subscription: {
    meetingRecorded: {
      subscribe: (_p, args, ctx) => ctx.events.subscribe(MEETING_RECORDED, { filter: meetingEventFilter(args) }),
      resolve: (payload: MeetingEventPayload) => payload,
    },
  },

  Institution: {
    __resolveReference: (ref, ctx, info) =>
      ctx.data.loaders.institution.load({ id: ref.id, fields: fieldsFor(info, 'Institution', INSTITUTION) }),
    id: (i) => i._id,
  },

  Committee: {
    __resolveReference: (ref, ctx, info) => ctx.data.loaders.committee.load({ id: ref.id, fields: fieldsFor(info, 'Committee', COMMITTEE) }),
    id: (c) => c._id,
    members: (c, _a, ctx) => ctx.data.loaders.membersByCommittee.load({ id: c._id, fields: null }),
    meetings: (c, args, ctx, info) =>
      ctx.data.loaders.meetingPages.load({
        parentId: c._id,
        args: { first: args.first ?? null, after: args.after ?? null },
        fields: nodeFieldsFor(info, 'MeetingConnection', 'Meeting', MEETING),
      }),
  },

  CommitteeMember: {
    id: (m) => m._id,
    committee: async (m, _a, ctx, info) =>
      present(await ctx.data.loaders.committee.load({ id: m.committeeId, fields: fieldsFor(info, 'Committee', COMMITTEE) }), 'committee', m.committeeId),
    member: async (m, _a, ctx, info) => {
      // A Comune is only a key here: the gateway completes it from the alliances subgraph.
      if (m.memberType === 'Municipality') return { istatCode: m.memberId };
      const doc = await ctx.data.loaders.institution.load({ id: m.memberId, fields: fieldsFor(info, 'Institution', INSTITUTION) });
      return present(doc, 'institution', m.memberId);
    },
  },

  CommitteeMemberEntity: {
    __resolveType: (entity) => ('istatCode' in entity ? 'Municipality' : 'Institution'),
  },

  Meeting: {
    id: (m) => m._id,
    version: (m) => versionOf(m),
    committee: async (m, _a, ctx, info) =>
      present(await ctx.data.loaders.committee.load({ id: m.committeeId!, fields: fieldsFor(info, 'Committee', COMMITTEE) }), 'committee', m.committeeId!),
  },

  Facilitator: {
    __resolveReference: (ref, ctx, info) =>
      ctx.data.loaders.facilitator.load({ id: ref.id, fields: fieldsFor(info, 'Facilitator', FACILITATOR) }),
    id: (f) => f._id,
    alliances: (f) => (f.allianceIds ?? []).map((id) => ({ id })),
  },

  // Entities owned by the alliances subgraph: the key is all this subgraph needs.
  Alliance: {
    __resolveReference: (ref) => ({ id: ref.id }),
    facilitators: (a, _args, ctx, info) =>
      ctx.data.loaders.facilitatorsByAlliance.load({ id: a.id, fields: fieldsFor(info, 'Facilitator', FACILITATOR) }),
  },

  Municipality: {
    __resolveReference: (ref) => ({ istatCode: ref.istatCode }),
    committeeSeats: (m, _a, ctx) => ctx.data.loaders.seatsByMunicipality.load({ id: m.istatCode, fields: null }),
  },
};
