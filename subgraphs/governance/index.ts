/** Runs the governance subgraph as its own service. */
import { runSubgraph } from '../../lib/subgraph.ts';
import { governance } from './server.ts';

await runSubgraph(governance);
