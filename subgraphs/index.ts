/** Every subgraph module by name: what `npm start`, the seed and the tests iterate over. */
import { alliances } from './alliances/server.ts';
import { funding } from './funding/server.ts';
import { governance } from './governance/server.ts';
import { reuse } from './reuse/server.ts';
import type { SubgraphName } from '../lib/config.ts';
import type { SubgraphModule } from '../lib/subgraph.ts';

export const subgraphModules: Readonly<Record<SubgraphName, SubgraphModule<unknown>>> = {
  alliances,
  governance,
  funding,
  reuse,
};
