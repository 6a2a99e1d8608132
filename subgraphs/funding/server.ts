/** The funding subgraph as a module: built by lib/subgraph.ts, never listening here. */
import type { SubgraphModule } from '../../lib/subgraph.ts';
import { collections } from './data/collections.ts';
import { createData, type Data } from './data/context.ts';
import { seed } from './data/seed.ts';
import { changeFeeds, fundedProjectEvents } from './data/events.ts';
import { resolvers } from './resolvers/index.ts';

export const funding: SubgraphModule<Data> = {
  name: 'funding',
  collections,
  resolvers,
  createData,
  seed,
  events: [fundedProjectEvents],
  changeFeeds,
};
