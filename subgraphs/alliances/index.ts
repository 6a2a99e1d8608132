/** Runs the alliances subgraph as its own service. */
import { runSubgraph } from '../../lib/subgraph.ts';
import { alliances } from './server.ts';

await runSubgraph(alliances);
