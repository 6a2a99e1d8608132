/** Runs the reuse subgraph as its own service. */
import { runSubgraph } from '../../lib/subgraph.ts';
import { reuse } from './server.ts';

await runSubgraph(reuse);
