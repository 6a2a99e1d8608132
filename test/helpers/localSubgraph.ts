/**
 * A subgraph's real schema run in-process, the way gateway-js's LocalGraphQLDataSource runs
 * subgraphs in its tests: no HTTP, but the real context factory (the gateway's signed header
 * verified, the data layer bound to the request) over a test database.
 */
import { randomBytes } from 'node:crypto';
import { graphql, type ExecutionResult } from 'graphql';
import { ANONYMOUS, GATEWAY_TOKEN_HEADER, signGatewayToken, type Caller } from '../../lib/access.ts';
import { createEventBus, SubgraphEventLog } from '../../lib/events.ts';
import { subgraphContext, subgraphSchema, type SubgraphModule } from '../../lib/subgraph.ts';
import type { SubgraphDb } from './db.ts';

export interface LocalSubgraph {
  /** Executes `query` as the gateway would send it for `caller` (default: anonymous). */
  execute(query: string, variables?: Record<string, unknown>, caller?: Caller): Promise<ExecutionResult>;
  close(): Promise<void>;
}

export function localSubgraph(mod: SubgraphModule<unknown>, t: SubgraphDb): LocalSubgraph {
  const schema = subgraphSchema(mod);
  const secret = randomBytes(32).toString('base64url');
  const events = createEventBus();
  const { db, limits } = t.scope();
  const eventLog = new SubgraphEventLog({ db, subgraph: mod.name, sources: mod.events ?? [], bus: events, retentionMs: 86_400_000 });
  return {
    async execute(query, variables, caller = ANONYMOUS) {
      const headers = { [GATEWAY_TOKEN_HEADER]: await signGatewayToken(secret, caller, mod.name) };
      const contextValue = await subgraphContext(mod, { db, limits, gatewaySecret: secret, eventLog }, headers);
      return graphql({ schema, source: query, variableValues: variables, contextValue });
    },
    close: () => events.close(),
  };
}
