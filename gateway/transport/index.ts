/** The gateway's subgraph transport (./dataSource.ts), as the rest of the gateway uses it. */
export { SubgraphDataSource, type DataSourceHooks, type SubgraphDataSourceOptions } from './dataSource.ts';
export { SubgraphPools } from './pools.ts';
export { SubgraphErrorCode, type FetchOutcome } from './failures.ts';
export type { CircuitState } from './circuitBreaker.ts';
