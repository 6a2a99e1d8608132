/**
 * The funding data layer as its resolvers reach it (`ctx.data`): loaders and named data
 * functions bound to one request's database, page limits and caller. `createData` is called by
 * the context factory (lib/subgraph.ts) for every request; resolvers never see the database.
 */
import type { DataScope, SubgraphContext } from '../../../lib/subgraph.ts';
import { writer } from '../../../lib/writes.ts';
import type { AddFundedProjectInput, FundedProjectChanges, FundingDimension } from '../__generated__/types.ts';
import { fundingBreakdown } from './analytics.ts';
import { createLoaders } from './loaders.ts';
import { addFundedProject, amendFundedProject } from './mutations.ts';
import { findProjects, listAgreements, listCalls, listFundingSources, type ProjectListArgs } from './queries.ts';

export function createData(scope: DataScope) {
  const { db, limits } = scope;
  return {
    loaders: createLoaders(db, limits),
    listFundingSources: (fields: readonly string[]) => listFundingSources(db, fields),
    listAgreements: (fields: readonly string[]) => listAgreements(db, fields),
    listCalls: (fields: readonly string[]) => listCalls(db, fields),
    findProjects: (args: ProjectListArgs, fields: readonly string[]) => findProjects(db, limits, args, fields),
    fundingBreakdown: (by: FundingDimension) => fundingBreakdown(db, by),
    addFundedProject: (input: AddFundedProjectInput) => addFundedProject(writer(scope, 'funding', 'addFundedProject'), input),
    amendFundedProject: (id: string, expectedVersion: number, changes: FundedProjectChanges) =>
      amendFundedProject(writer(scope, 'funding', 'amendFundedProject'), id, expectedVersion, changes),
  };
}

export type Data = ReturnType<typeof createData>;
export type Context = SubgraphContext<Data>;
