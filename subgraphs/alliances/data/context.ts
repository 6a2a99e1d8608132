/**
 * The alliances data layer as its resolvers reach it (`ctx.data`): loaders and named data
 * functions bound to one request's database, page limits and caller. `createData` is called by
 * the context factory (lib/subgraph.ts) for every request; resolvers never see the database.
 */
import type { DataScope, SubgraphContext } from '../../../lib/subgraph.ts';
import { writer } from '../../../lib/writes.ts';
import type { MutationChangeMembershipArgs } from '../__generated__/types.ts';
import { membershipCoverage } from './analytics.ts';
import { createLoaders } from './loaders.ts';
import { changeMembership } from './mutations.ts';
import { findMunicipalities, listAlliances, listProvinces, networkTotals, type ListArgs } from './queries.ts';

export function createData(scope: DataScope) {
  const { db, limits } = scope;
  return {
    loaders: createLoaders(db, limits),
    listProvinces: (fields: readonly string[]) => listProvinces(db, fields),
    listAlliances: (fields: readonly string[]) => listAlliances(db, fields),
    findMunicipalities: (args: ListArgs, fields: readonly string[]) => findMunicipalities(db, limits, args, fields),
    networkTotals: () => networkTotals(db),
    membershipCoverage: () => membershipCoverage(db),
    changeMembership: (args: MutationChangeMembershipArgs) => changeMembership(writer(scope, 'alliances', 'changeMembership'), args),
  };
}

export type Data = ReturnType<typeof createData>;
export type Context = SubgraphContext<Data>;
