/**
 * Resolvers of the funding subgraph. Amounts leave as bigint cents and are written as exact
 * decimal strings by the Money scalar; rates are computed from the amounts with integer
 * arithmetic, never from a rounded label.
 */
import { badInput, notFound, present } from '../../../lib/errors.ts';
import { fieldsFor, nodeFieldsFor, type FieldMap } from '../../../lib/loaders.ts';
import { fromStored, percent } from '../../../lib/money.ts';
import { DateScalar, DecimalScalar, MoneyScalar } from '../../../lib/scalars.ts';
import type { AgreementResolvers, CallResolvers, FundedProjectResolvers, FundingSourceResolvers, Resolvers } from '../__generated__/types.ts';
import type { Context } from '../data/context.ts';
import { checkId, totalsOf, TOTALS_FIELDS } from '../data/queries.ts';
import { cofinancingRate } from '../data/analytics.ts';
import { requireWrite } from '../../../lib/access.ts';
import { versionOf } from '../../../lib/writes.ts';
import { FUNDED_PROJECT_CHANGED, fundedProjectEventFilter, fundedProjectEventFromBus } from '../data/events.ts';

/** GraphQL field → document fields, for projections (`[]`: the key, or computed by a loader). */
const SOURCE: FieldMap<FundingSourceResolvers> = {
  id: [],
  name: ['name'],
  italianName: ['italianName'],
  legalBasis: ['legalBasis'],
  amount: ['amount'],
  providedBy: ['providedBy'],
  purpose: ['purpose'],
  channel: ['channelAgreementId'],
  calls: [],
  provenance: ['provenance'],
};
const AGREEMENT: FieldMap<AgreementResolvers> = {
  id: [],
  kind: ['kind'],
  title: ['title'],
  italianTitle: ['italianTitle'],
  ordinal: ['ordinal'],
  signedOn: ['signedOn'],
  signatories: ['signatoryIds'],
  approvedBy: ['approvedBy'],
  framework: ['frameworkId'],
  supplementaryActs: [],
  statedTotalLabel: ['statedTotalLabel'],
  statedTotalLowerBound: ['statedTotalLowerBound'],
  respondsTo: ['respondsToCallIds'],
  projects: [],
  projectTotals: [],
  provenance: ['provenance'],
};
const CALL: FieldMap<CallResolvers> = {
  id: [],
  kind: ['kind'],
  title: ['title'],
  italianTitle: ['italianTitle'],
  issuedBy: ['issuedBy'],
  year: ['year'],
  fundingSource: ['fundingSourceId'],
  submissions: ['submissions'],
  publishedTotals: ['publishedTotals'],
  projects: [],
  provenance: ['provenance'],
  provenanceNote: ['provenanceNote'],
};
const PROJECT: FieldMap<FundedProjectResolvers> = {
  id: [],
  title: ['title'],
  agreement: ['agreementId'],
  call: ['callId'],
  beneficiary: ['beneficiaryType', 'allianceId', 'reuseSolutionId'],
  totalValue: ['totalValue'],
  cofinancing: ['cofinancing'],
  cofinancedBy: ['cofinancedBy'],
  otherFunding: ['totalValue', 'cofinancing'],
  cofinancingPercent: ['totalValue', 'cofinancing'],
  statedRateLabel: ['statedRateLabel'],
  provenance: ['provenance'],
  provenanceNote: ['provenanceNote'],
  version: ['version'],
};

function cents(value: unknown): bigint {
  const c = fromStored(value);
  if (c === null) throw new Error('missing amount');
  return c;
}

function percentOf(part: bigint, whole: bigint, decimals: number): string {
  if (!Number.isInteger(decimals) || decimals < 0 || decimals > 6) throw badInput('decimals', 'decimals must be between 0 and 6');
  return percent(part, whole, decimals);
}

const ref = (id: string) => ({ id });
const pf = (info: Parameters<typeof fieldsFor>[0]) => fieldsFor(info, 'FundedProject', PROJECT);

export const resolvers: Resolvers<Context> = {
  Money: MoneyScalar,
  Decimal: DecimalScalar,
  Date: DateScalar,

  Query: {
    fundingSources: (_p, _a, ctx, info) => ctx.data.listFundingSources(fieldsFor(info, 'FundingSource', SOURCE)),
    fundingSource: async (_p, { id }, ctx, info) =>
      (await ctx.data.loaders.fundingSource.load({ id: checkId(id, 'id'), fields: fieldsFor(info, 'FundingSource', SOURCE) })) ??
      Promise.reject(notFound('funding source', id)),
    agreements: (_p, _a, ctx, info) => ctx.data.listAgreements(fieldsFor(info, 'Agreement', AGREEMENT)),
    agreement: async (_p, { id }, ctx, info) =>
      (await ctx.data.loaders.agreement.load({ id: checkId(id, 'id'), fields: fieldsFor(info, 'Agreement', AGREEMENT) })) ??
      Promise.reject(notFound('agreement', id)),
    calls: (_p, _a, ctx, info) => ctx.data.listCalls(fieldsFor(info, 'Call', CALL)),
    call: async (_p, { id }, ctx, info) =>
      (await ctx.data.loaders.call.load({ id: checkId(id, 'id'), fields: fieldsFor(info, 'Call', CALL) })) ??
      Promise.reject(notFound('call', id)),
    fundedProjects: (_p, args, ctx, info) =>
      ctx.data.findProjects(args, nodeFieldsFor(info, 'FundedProjectConnection', 'FundedProject', PROJECT)),
    fundedProject: async (_p, { id }, ctx, info) =>
      (await ctx.data.loaders.project.load({ id: checkId(id, 'id'), fields: pf(info) })) ?? Promise.reject(notFound('funded project', id)),
    fundingBreakdown: (_p, { by }, ctx) => ctx.data.fundingBreakdown(by),
  },

  // Each mutation checks the caller's write scope first (the gateway refuses earlier too).
  Mutation: {
    addFundedProject: async (_p, { input }, ctx) => {
      requireWrite(ctx.caller, 'funding');
      const change = await ctx.data.addFundedProject(input);
      await ctx.events.publish(change);
      return { project: change.after };
    },
    amendFundedProject: async (_p, { id, expectedVersion, changes }, ctx) => {
      requireWrite(ctx.caller, 'funding');
      const change = await ctx.data.amendFundedProject(id, expectedVersion, changes);
      await ctx.events.publish(change);
      return { project: change.after };
    },
  },

  // Each event runs with a fresh context (loaders) of the connection's caller (lib/subgraph.ts).
  Subscription: {
    fundedProjectChanged: {
      subscribe: (_p, args, ctx) => ctx.events.subscribe(FUNDED_PROJECT_CHANGED, { filter: fundedProjectEventFilter(args) }),
      resolve: (payload: unknown) => fundedProjectEventFromBus(payload),
    },
  },

  FundingBreakdownRow: {
    cofinancingPercent: (r, { decimals }) => cofinancingRate(r.cofinancing, r.totalValue, decimals ?? 3),
  },

  FundingSource: {
    __resolveReference: (r, ctx, info) => ctx.data.loaders.fundingSource.load({ id: r.id!, fields: fieldsFor(info, 'FundingSource', SOURCE) }),
    id: (s) => s._id,
    amount: (s) => fromStored(s.amount),
    providedBy: (s) => ref(s.providedBy!),
    channel: (s, _a, ctx, info) =>
      s.channelAgreementId ? ctx.data.loaders.agreement.load({ id: s.channelAgreementId, fields: fieldsFor(info, 'Agreement', AGREEMENT) }) : null,
    calls: (s, _a, ctx, info) => ctx.data.loaders.callsByFundingSource.load({ id: s._id, fields: fieldsFor(info, 'Call', CALL) }),
  },

  Agreement: {
    __resolveReference: (r, ctx, info) => ctx.data.loaders.agreement.load({ id: r.id!, fields: fieldsFor(info, 'Agreement', AGREEMENT) }),
    id: (a) => a._id,
    signatories: (a) => (a.signatoryIds ?? []).map(ref),
    approvedBy: (a) => a.approvedBy ?? null,
    framework: (a, _args, ctx, info) =>
      a.frameworkId ? ctx.data.loaders.agreement.load({ id: a.frameworkId, fields: fieldsFor(info, 'Agreement', AGREEMENT) }) : null,
    supplementaryActs: (a, _args, ctx, info) => ctx.data.loaders.actsByFramework.load({ id: a._id, fields: fieldsFor(info, 'Agreement', AGREEMENT) }),
    statedTotalLowerBound: (a) => fromStored(a.statedTotalLowerBound),
    respondsTo: (a, _args, ctx, info) => {
      const fields = fieldsFor(info, 'Call', CALL);
      return Promise.all((a.respondsToCallIds ?? []).map(async (id) => present(await ctx.data.loaders.call.load({ id, fields }), 'call', id)));
    },
    projects: (a, _args, ctx, info) => ctx.data.loaders.projectsByAgreement.load({ id: a._id, fields: pf(info) }),
    projectTotals: async (a, _args, ctx) =>
      totalsOf(await ctx.data.loaders.projectsByAgreement.load({ id: a._id, fields: [...TOTALS_FIELDS] })),
  },

  Resolution: {
    issuedBy: (r) => ref(r.issuedBy),
  },

  Call: {
    __resolveReference: (r, ctx, info) => ctx.data.loaders.call.load({ id: r.id!, fields: fieldsFor(info, 'Call', CALL) }),
    id: (c) => c._id,
    issuedBy: (c) => ref(c.issuedBy!),
    fundingSource: (c, _a, ctx, info) =>
      c.fundingSourceId ? ctx.data.loaders.fundingSource.load({ id: c.fundingSourceId, fields: fieldsFor(info, 'FundingSource', SOURCE) }) : null,
    submissions: (c) => c.submissions ?? [],
    projects: (c, _a, ctx, info) => ctx.data.loaders.projectsByCall.load({ id: c._id, fields: pf(info) }),
    publishedTotals: (c) => c.publishedTotals ?? null,
  },

  CallSubmission: {
    submittedBy: (s) => ref(s.submittedBy),
    totalValueLowerBound: (s) => cents(s.totalValueLowerBound),
  },

  FundingTotals: {
    totalValue: (t) => cents(t.totalValue),
    cofinancing: (t) => cents(t.cofinancing),
    cofinancingPercent: (t, { decimals }) => cofinancingRate(cents(t.cofinancing), cents(t.totalValue), decimals ?? 3),
  },

  FundedProject: {
    __resolveReference: (r, ctx, info) => ctx.data.loaders.project.load({ id: r.id!, fields: pf(info) }),
    id: (p) => p._id,
    agreement: async (p, _a, ctx, info) =>
      present(await ctx.data.loaders.agreement.load({ id: p.agreementId!, fields: fieldsFor(info, 'Agreement', AGREEMENT) }), 'agreement', p.agreementId!),
    call: async (p, _a, ctx, info) =>
      present(await ctx.data.loaders.call.load({ id: p.callId!, fields: fieldsFor(info, 'Call', CALL) }), 'call', p.callId!),
    beneficiary: (p) =>
      p.beneficiaryType === 'Alliance'
        ? { __typename: 'Alliance' as const, id: p.allianceId! }
        : { __typename: 'ReuseSolution' as const, id: p.reuseSolutionId! },
    totalValue: (p) => cents(p.totalValue),
    cofinancing: (p) => cents(p.cofinancing),
    cofinancedBy: (p) => ref(p.cofinancedBy!),
    otherFunding: (p) => cents(p.totalValue) - cents(p.cofinancing),
    cofinancingPercent: (p, { decimals }) => percentOf(cents(p.cofinancing), cents(p.totalValue), decimals ?? 3),
    version: (p) => versionOf(p),
  },

  Beneficiary: {
    __resolveType: (b) => b.__typename ?? 'Alliance',
  },

  Alliance: {
    fundedProjects: (a, _args, ctx, info) => ctx.data.loaders.projectsByAlliance.load({ id: a.id, fields: pf(info) }),
    // One batched read for every ALI of the request, summed exactly (bigint cents) with its provenance.
    fundingTotals: async (a, _args, ctx) => totalsOf(await ctx.data.loaders.projectsByAlliance.load({ id: a.id, fields: [...TOTALS_FIELDS] })),
  },

  ReuseSolution: {
    fundedProjects: (s, _args, ctx, info) => ctx.data.loaders.projectsByReuseSolution.load({ id: s.id, fields: pf(info) }),
  },
};

