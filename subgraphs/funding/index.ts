/** Runs the funding subgraph as its own service. */
import { runSubgraph } from '../../lib/subgraph.ts';
import { funding } from './server.ts';

await runSubgraph(funding);
