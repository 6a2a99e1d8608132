/**
 * The reuse data layer as its resolvers reach it (`ctx.data`): loaders and named data functions
 * bound to one request's database, page limits and caller. `createData` is called by the context
 * factory (lib/subgraph.ts) for every request; resolvers never see the database.
 */
import type { DataScope, SubgraphContext } from '../../../lib/subgraph.ts';
import { writer } from '../../../lib/writes.ts';
import type { AdoptionDimension, MutationChangeAdoptionStatusArgs, RegisterAdoptionInput } from '../__generated__/types.ts';
import { adoptionStats } from './analytics.ts';
import { createLoaders } from './loaders.ts';
import { changeAdoptionStatus, registerAdoption } from './mutations.ts';
import { findAdoptions, listSolutions, type AdoptionListArgs } from './queries.ts';

export function createData(scope: DataScope) {
  const { db, limits } = scope;
  return {
    loaders: createLoaders(db, limits),
    listSolutions: (fields: readonly string[]) => listSolutions(db, fields),
    findAdoptions: (args: AdoptionListArgs, fields: readonly string[]) => findAdoptions(db, limits, args, fields),
    adoptionStats: (groupBy: readonly AdoptionDimension[]) => adoptionStats(db, groupBy),
    registerAdoption: (input: RegisterAdoptionInput) => registerAdoption(writer(scope, 'reuse', 'registerAdoption'), input),
    changeAdoptionStatus: (args: MutationChangeAdoptionStatusArgs) =>
      changeAdoptionStatus(writer(scope, 'reuse', 'changeAdoptionStatus'), args),
  };
}

export type Data = ReturnType<typeof createData>;
export type Context = SubgraphContext<Data>;
