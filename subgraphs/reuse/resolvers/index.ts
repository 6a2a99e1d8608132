/**
 * Resolvers of the reuse subgraph: read arguments, call a loader or a named data function, shape
 * the result. No MongoDB access here.
 */
import { fieldsFor, nodeFieldsFor, type FieldMap } from '../../../lib/loaders.ts';
import { notFound, present } from '../../../lib/errors.ts';
import { DateScalar } from '../../../lib/scalars.ts';
import type { AdoptionResolvers, Resolvers, ReuseSolutionResolvers } from '../__generated__/types.ts';
import type { Context } from '../data/context.ts';
import { checkSolutionIdFormat } from '../data/queries.ts';
import { requireWrite } from '../../../lib/access.ts';
import { versionOf } from '../../../lib/writes.ts';
import { ADOPTION_CHANGED, adoptionEventFilter, type AdoptionEventPayload } from '../data/events.ts';

/** GraphQL field → document fields, for projections (`[]`: the key, or computed by a loader). */
const SOLUTION: FieldMap<ReuseSolutionResolvers> = {
  id: [],
  name: ['name'],
  description: ['description'],
  builtBy: ['builtById'],
  legalBasis: ['legalBasis'],
  provenance: ['provenance'],
  adoptions: [],
};
const ADOPTION: FieldMap<AdoptionResolvers> = {
  id: [],
  solution: ['solutionId'],
  municipality: ['istatCode'],
  status: ['status'],
  startedOn: ['startedOn'],
  provenance: ['provenance'],
  version: ['version'],
};

export const resolvers: Resolvers<Context> = {
  Date: DateScalar,

  Query: {
    reuseSolutions: (_p, _a, ctx, info) => ctx.data.listSolutions(fieldsFor(info, 'ReuseSolution', SOLUTION)),
    reuseSolution: async (_p, { id }, ctx, info) => {
      checkSolutionIdFormat(id);
      const doc = await ctx.data.loaders.solution.load({ id, fields: fieldsFor(info, 'ReuseSolution', SOLUTION) });
      return doc ?? Promise.reject(notFound('reuse solution', id));
    },
    adoptions: (_p, args, ctx, info) =>
      ctx.data.findAdoptions(args, nodeFieldsFor(info, 'AdoptionConnection', 'Adoption', ADOPTION)),
    adoptionStats: (_p, { groupBy }, ctx) => ctx.data.adoptionStats(groupBy),
  },

  // Each mutation checks the caller's write scope first (the gateway refuses earlier too).
  Mutation: {
    registerAdoption: async (_p, { input }, ctx) => {
      requireWrite(ctx.caller, 'reuse');
      const change = await ctx.data.registerAdoption(input);
      await ctx.events.publish(change);
      return { adoption: change.after };
    },
    changeAdoptionStatus: async (_p, args, ctx) => {
      requireWrite(ctx.caller, 'reuse');
      const change = await ctx.data.changeAdoptionStatus(args);
      await ctx.events.publish(change);
      return { adoption: change.after };
    },
  },

  // Each event runs with a fresh context (loaders) of the connection's caller (lib/subgraph.ts).
  Subscription: {
    adoptionChanged: {
      subscribe: (_p, args, ctx) => ctx.events.subscribe(ADOPTION_CHANGED, { filter: adoptionEventFilter(args) }),
      resolve: (payload: AdoptionEventPayload) => payload,
    },
  },

  AdoptionCountRow: {
    solution: async (row, _args, ctx, info) =>
      row.solution
        ? present(
            await ctx.data.loaders.solution.load({ id: row.solution._id, fields: fieldsFor(info, 'ReuseSolution', SOLUTION) }),
            'reuse solution',
            row.solution._id,
          )
        : null,
  },

  ReuseSolution: {
    __resolveReference: (ref, ctx, info) =>
      ctx.data.loaders.solution.load({ id: ref.id!, fields: fieldsFor(info, 'ReuseSolution', SOLUTION) }),
    id: (s) => s._id,
    builtBy: (s) => (s.builtById ? { id: s.builtById } : null),
    adoptions: (s, args, ctx, info) =>
      ctx.data.loaders.adoptionPages.load({
        parentId: s._id,
        args: { first: args.first, after: args.after, filter: args.filter },
        fields: nodeFieldsFor(info, 'AdoptionConnection', 'Adoption', ADOPTION),
      }),
  },

  Adoption: {
    __resolveReference: (ref, ctx, info) =>
      ctx.data.loaders.adoption.load({ id: ref.id!, fields: fieldsFor(info, 'Adoption', ADOPTION) }),
    id: (a) => a._id,
    solution: async (a, _args, ctx, info) =>
      present(
        await ctx.data.loaders.solution.load({ id: a.solutionId!, fields: fieldsFor(info, 'ReuseSolution', SOLUTION) }),
        'reuse solution',
        a.solutionId!,
      ),
    municipality: (a) => ({ istatCode: a.istatCode! }),
    version: (a) => versionOf(a),
  },

  Municipality: {
    // The key is all this subgraph knows of a Comune; `adoptions` is resolved from it.
    __resolveReference: (ref) => ({ istatCode: ref.istatCode! }),
    adoptions: (m, _args, ctx, info) =>
      ctx.data.loaders.adoptionsByMunicipality.load({ id: m.istatCode, fields: fieldsFor(info, 'Adoption', ADOPTION) }),
  },
};
