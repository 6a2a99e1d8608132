/**
 * Starts the real system for one test file: the four subgraphs and the gateway on port 0 over
 * fresh databases (seeded) on the run's database server, with every subgraph request and every
 * MongoDB command recorded.
 */
import { randomBytes } from 'node:crypto';
import type { CommandStartedEvent, Db, MongoClient } from 'mongodb';
import { inject } from 'vitest';
import { SUBGRAPH_NAMES, type SubgraphName } from '../../lib/config.ts';
import { connect } from '../../lib/mongo.ts';
import { startSubgraph, type RunningSubgraph } from '../../lib/subgraph.ts';
import { startGateway, type GatewayOptions, type RunningGateway } from '../../gateway/server.ts';
import { subgraphModules } from '../../subgraphs/index.ts';

export interface GraphQLResponseError {
  message: string;
  path?: (string | number)[];
  extensions?: { code?: string; serviceName?: string; [key: string]: unknown };
}

export interface QueryResult<T> {
  status: number;
  body: { data?: T; errors?: GraphQLResponseError[] };
}

export interface RecordedCommand {
  subgraph: SubgraphName;
  commandName: string;
  collection?: string;
}

export interface Stack {
  readonly gatewayUrl: string;
  readonly subgraphUrls: Readonly<Record<SubgraphName, string>>;
  readonly dbs: Readonly<Record<SubgraphName, Db>>;
  /** Every request the gateway sent to a subgraph since the last reset. */
  readonly subgraphCalls: { subgraph: string; query: string }[];
  /** Every MongoDB command the subgraphs sent since the last reset. */
  readonly commands: RecordedCommand[];
  query<T = any>(query: string, variables?: Record<string, unknown>, headers?: Record<string, string>): Promise<QueryResult<T>>;
  resetCounters(): void;
  /** Another gateway over the same subgraphs, with other options (stopped by `stop`). */
  startGateway(options?: Partial<GatewayOptions>): Promise<RunningGateway>;
  stop(): Promise<void>;
}

export const TEST_LIMITS = { defaultSize: 20, maxSize: 500 } as const;

// Commands the driver sends on its own (handshakes, heartbeats, sessions), not for a query.
const HOUSEKEEPING = new Set(['hello', 'isMaster', 'ismaster', 'ping', 'endSessions', 'buildInfo', 'saslStart', 'saslContinue']);

export async function startStack(): Promise<Stack> {
  const prefix = `t_${randomBytes(5).toString('hex')}`;
  const client: MongoClient = await connect(inject('mongoUri'), { monitorCommands: true });
  const dbs = Object.fromEntries(SUBGRAPH_NAMES.map((n) => [n, client.db(`${prefix}_${n}`)])) as Record<SubgraphName, Db>;
  const byDb = new Map(SUBGRAPH_NAMES.map((n) => [`${prefix}_${n}`, n]));
  const commands: RecordedCommand[] = [];
  const subgraphCalls: { subgraph: string; query: string }[] = [];
  let recording = false;
  client.on('commandStarted', (e: CommandStartedEvent) => {
    const subgraph = byDb.get(e.databaseName);
    if (!recording || !subgraph || HOUSEKEEPING.has(e.commandName)) return;
    const target = e.command[e.commandName];
    commands.push({ subgraph, commandName: e.commandName, ...(typeof target === 'string' ? { collection: target } : {}) });
  });

  const running: RunningSubgraph[] = [];
  const extraGateways: RunningGateway[] = [];
  const supergraphPath = new URL('../../schema/supergraph.graphql', import.meta.url).pathname;
  let gateway: RunningGateway | undefined;
  try {
    for (const name of SUBGRAPH_NAMES) {
      running.push(
        await startSubgraph(subgraphModules[name], {
          db: dbs[name],
          limits: TEST_LIMITS,
          port: 0,
          host: '127.0.0.1',
          seedIfEmpty: true,
        }),
      );
    }
    const subgraphUrls = Object.fromEntries(running.map((s) => [s.name, s.url])) as Record<SubgraphName, string>;
    gateway = await startGateway({
      supergraph: { path: supergraphPath, watch: false },
      urlOverrides: subgraphUrls,
      port: 0,
      host: '127.0.0.1',
      onSubgraphRequest: (subgraph, query) => {
        if (recording) subgraphCalls.push({ subgraph, query });
      },
    });
    const gatewayUrl = gateway.url;
    recording = true;
    const stack: Stack = {
      gatewayUrl,
      subgraphUrls,
      dbs,
      subgraphCalls,
      commands,
      async query<T>(query: string, variables?: Record<string, unknown>, headers: Record<string, string> = {}) {
        const res = await fetch(`${gatewayUrl}graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: JSON.stringify({ query, variables }),
        });
        return { status: res.status, body: (await res.json()) as QueryResult<T>['body'] };
      },
      async startGateway(options = {}) {
        const extra = await startGateway({
          supergraph: { path: supergraphPath, watch: false },
          urlOverrides: subgraphUrls,
          port: 0,
          host: '127.0.0.1',
          ...options,
        });
        extraGateways.push(extra);
        return extra;
      },
      resetCounters() {
        commands.length = 0;
        subgraphCalls.length = 0;
      },
      async stop() {
        recording = false;
        for (const g of extraGateways) await g.stop(0);
        await gateway?.stop();
        for (const s of running) await s.stop();
        for (const db of Object.values(dbs)) await db.dropDatabase().catch(() => {});
        await client.close();
      },
    };
    return stack;
  } catch (err) {
    await gateway?.stop();
    for (const s of running) await s.stop();
    await client.close();
    throw err;
  }
}
