/**
 * Resolvers of the alliances subgraph: read arguments, call a loader or a named data function,
 * shape the result. No MongoDB access here.
 */
import { fieldsFor, nodeFieldsFor, type FieldMap } from '../../../lib/loaders.ts';
import { notFound, present } from '../../../lib/errors.ts';
import type { AllianceResolvers, MunicipalityResolvers, ProvinceResolvers, Resolvers } from '../__generated__/types.ts';
import type { Context } from '../data/context.ts';
import { checkAllianceId, checkIstatCode, checkProvinceCode } from '../data/queries.ts';
import { PROVINCES as PROVINCE_REFS } from '../../../lib/domain/registry.ts';
import { DecimalScalar } from '../../../lib/scalars.ts';
import { shareOf } from '../data/analytics.ts';
import { requireWrite } from '../../../lib/access.ts';
import { versionOf } from '../../../lib/writes.ts';
import { MEMBERSHIP_CHANGED, membershipEventFilter, type MembershipEventPayload } from '../data/events.ts';

/** GraphQL field → document fields, for projections (`[]`: the key, or computed by a loader). */
const PROVINCE: FieldMap<ProvinceResolvers> = { id: [], code: [], name: ['name'], abbreviation: ['abbreviation'], alliance: ['allianceId'], municipalities: [] };
const ALLIANCE: FieldMap<AllianceResolvers> = {
  id: [],
  name: ['name'],
  province: ['provinceCode'],
  tasks: ['tasks'],
  provenance: ['provenance'],
  members: [],
  memberCount: [],
  smallMemberCount: [],
};
const MUNICIPALITY: FieldMap<MunicipalityResolvers> = {
  id: [],
  istatCode: [],
  name: ['name'],
  province: ['provinceCode'],
  population: ['population'],
  isSmall: ['small'],
  cadastralCode: ['cadastralCode'],
  postcodes: ['postcodes'],
  membership: ['allianceId', 'membershipProvenance', 'membershipNote'],
  provenance: ['provenance'],
  version: ['version'],
};

export const resolvers: Resolvers<Context> = {
  Decimal: DecimalScalar,

  Query: {
    provinces: (_p, _a, ctx, info) => ctx.data.listProvinces(fieldsFor(info, 'Province', PROVINCE)),
    province: async (_p, { code }, ctx, info) => {
      checkProvinceCode(code, 'code');
      return (await ctx.data.loaders.province.load({ id: code, fields: fieldsFor(info, 'Province', PROVINCE) })) ?? Promise.reject(notFound('province', code, 'code'));
    },
    alliances: (_p, _a, ctx, info) => ctx.data.listAlliances(fieldsFor(info, 'Alliance', ALLIANCE)),
    alliance: async (_p, { id }, ctx, info) =>
      (await ctx.data.loaders.alliance.load({ id, fields: fieldsFor(info, 'Alliance', ALLIANCE) })) ?? Promise.reject(notFound('alliance', id)),
    municipality: async (_p, { istatCode }, ctx, info) => {
      checkIstatCode(istatCode);
      const doc = await ctx.data.loaders.municipality.load({ id: istatCode, fields: fieldsFor(info, 'Municipality', MUNICIPALITY) });
      return doc ?? Promise.reject(notFound('municipality', istatCode, 'istatCode'));
    },
    municipalities: (_p, args, ctx, info) =>
      ctx.data.findMunicipalities(args, nodeFieldsFor(info, 'MunicipalityConnection', 'Municipality', MUNICIPALITY)),
    networkSummary: async (_p, _a, ctx) => ({
      allianceCount: PROVINCE_REFS.length,
      ...(await ctx.data.networkTotals()),
      provenance: 'DERIVED',
    }),
    membershipCoverage: (_p, _a, ctx) => ctx.data.membershipCoverage(),
  },

  // Each mutation checks the caller's write scope first (the gateway refuses earlier too).
  Mutation: {
    changeMembership: async (_p, args, ctx) => {
      requireWrite(ctx.caller, 'alliances');
      const change = await ctx.data.changeMembership(args);
      await ctx.events.publish(change);
      const { before, after } = change;
      return {
        municipality: after,
        previousAlliance: before?.allianceId ? await ctx.data.loaders.alliance.load({ id: before.allianceId, fields: null }) : null,
      };
    },
  },

  // Each event runs with a fresh context (loaders) of the connection's caller (lib/subgraph.ts).
  Subscription: {
    membershipChanged: {
      subscribe: (_p, args, ctx) => ctx.events.subscribe(MEMBERSHIP_CHANGED, { filter: membershipEventFilter(args) }),
      resolve: (e: MembershipEventPayload) => ({
        kind: e.kind,
        municipality: e.municipality,
        alliance: e.allianceId ? { _id: e.allianceId } : null,
        previousAlliance: e.previousAllianceId ? { _id: e.previousAllianceId } : null,
        at: e.at,
      }),
    },
  },

  MembershipEvent: {
    // The event names the ALI; its fields load as in queries.
    alliance: (e, _a, ctx, info) => (e.alliance ? ctx.data.loaders.alliance.load({ id: e.alliance._id, fields: fieldsFor(info, 'Alliance', ALLIANCE) }) : null),
    previousAlliance: (e, _a, ctx, info) =>
      e.previousAlliance ? ctx.data.loaders.alliance.load({ id: e.previousAlliance._id, fields: fieldsFor(info, 'Alliance', ALLIANCE) }) : null,
  },

  CoverageRow: {
    memberShare: (r, { decimals }) => shareOf(r.memberCount, r.municipalityCount, decimals ?? 1),
    smallMemberShare: (r, { decimals }) => shareOf(r.smallMemberCount, r.smallMunicipalityCount, decimals ?? 1),
    populationShare: (r, { decimals }) => shareOf(r.memberPopulation, r.population, decimals ?? 1),
  },

  Province: {
    __resolveReference: (ref, ctx, info) => ctx.data.loaders.province.load({ id: ref.code!, fields: fieldsFor(info, 'Province', PROVINCE) }),
    // The cache identity clients get is the key itself (one value, two names).
    id: (p) => p._id,
    code: (p) => p._id,
    alliance: async (p, _a, ctx, info) =>
      present(await ctx.data.loaders.alliance.load({ id: p.allianceId!, fields: fieldsFor(info, 'Alliance', ALLIANCE) }), 'alliance', p.allianceId!),
    municipalities: (p, args, ctx, info) =>
      ctx.data.loaders.provinceMunicipalityPages.load({
        parentId: p._id,
        args: { first: args.first, after: args.after, filter: args.filter, orderBy: args.orderBy },
        fields: nodeFieldsFor(info, 'MunicipalityConnection', 'Municipality', MUNICIPALITY),
      }),
  },

  Alliance: {
    __resolveReference: (ref, ctx, info) => ctx.data.loaders.alliance.load({ id: ref.id!, fields: fieldsFor(info, 'Alliance', ALLIANCE) }),
    id: (a) => a._id,
    province: async (a, _args, ctx, info) =>
      present(await ctx.data.loaders.province.load({ id: a.provinceCode!, fields: fieldsFor(info, 'Province', PROVINCE) }), 'province', a.provinceCode!),
    members: (a, args, ctx, info) => {
      if (args.filter && 'allianceId' in args.filter) checkAllianceId(a._id);
      return ctx.data.loaders.membersPages.load({
        parentId: a._id,
        args: { first: args.first, after: args.after, filter: args.filter, orderBy: args.orderBy },
        fields: nodeFieldsFor(info, 'MunicipalityConnection', 'Municipality', MUNICIPALITY),
      });
    },
    memberCount: async (a, _args, ctx) => (await ctx.data.loaders.memberCounts.load(a._id)).total,
    smallMemberCount: async (a, _args, ctx) => (await ctx.data.loaders.memberCounts.load(a._id)).small,
  },

  Municipality: {
    __resolveReference: (ref, ctx, info) =>
      ctx.data.loaders.municipality.load({ id: ref.istatCode!, fields: fieldsFor(info, 'Municipality', MUNICIPALITY) }),
    id: (m) => m._id,
    istatCode: (m) => m._id,
    isSmall: (m) => m.small!,
    version: (m) => versionOf(m),
    province: async (m, _a, ctx, info) =>
      present(await ctx.data.loaders.province.load({ id: m.provinceCode!, fields: fieldsFor(info, 'Province', PROVINCE) }), 'province', m.provinceCode!),
    membership: (m) =>
      m.allianceId ? { istatCode: m._id, allianceId: m.allianceId, provenance: m.membershipProvenance ?? 'DERIVED', note: m.membershipNote ?? null } : null,
  },

  Membership: {
    id: (ms) => `${ms.allianceId}:${ms.istatCode}`,
    alliance: async (ms, _a, ctx, info) =>
      present(await ctx.data.loaders.alliance.load({ id: ms.allianceId, fields: fieldsFor(info, 'Alliance', ALLIANCE) }), 'alliance', ms.allianceId),
    provenanceNote: (ms) => ms.note,
  },
};
