/**
 * Starts the real system for one test file: the four subgraphs and the gateway on port 0 over
 * fresh databases (seeded) on the run's database server, with every subgraph request and every
 * MongoDB command recorded.
 */
import { randomBytes } from 'node:crypto';
import type http from 'node:http';
import type { Db, MongoClient } from 'mongodb';
import { inject } from 'vitest';
import { SUBGRAPH_NAMES, type SubgraphName } from '../../lib/config.ts';
import { connect } from '../../lib/mongo.ts';
import { startSubgraph, type RunningSubgraph } from '../../lib/subgraph.ts';
import { startGateway, type GatewayOptions, type RunningGateway } from '../../gateway/runtime.ts';
import { subgraphModules } from '../../subgraphs/index.ts';
import { GATEWAY_TOKEN_HEADER, signGatewayToken, type Caller } from '../../lib/access.ts';
import { KeyStore, type CreateKeyInput } from '../../gateway/access/keys.ts';
import type { EventBus } from '../../lib/events.ts';
import { recordCommands, TEST_LIMITS, type RecordedCommand } from './db.ts';

export { commandSummary, TEST_LIMITS, type RecordedCommand } from './db.ts';

/** The `Accept` of Apollo Client 4: refusals then come with their 4xx status (GraphQL over HTTP; docs/frontend.md). */
export const GRAPHQL_ACCEPT = 'application/graphql-response+json, application/json;q=0.9';

export interface GraphQLResponseError {
  message: string;
  path?: (string | number)[];
  extensions?: { code?: string; serviceName?: string; [key: string]: unknown };
}

export interface QueryResult<T> {
  status: number;
  body: { data?: T; errors?: GraphQLResponseError[] };
}

export interface Stack {
  readonly gatewayUrl: string;
  readonly subgraphUrls: Readonly<Record<SubgraphName, string>>;
  /** The subgraphs' HTTP servers: to watch what reaches them, whichever gateway sent it. */
  readonly subgraphServers: Readonly<Record<SubgraphName, http.Server>>;
  readonly dbs: Readonly<Record<SubgraphName, Db>>;
  /** Every request the gateway sent to a subgraph since the last reset. */
  readonly subgraphCalls: { subgraph: string; query: string }[];
  /** Every MongoDB command the subgraphs sent since the last reset. */
  readonly commands: RecordedCommand[];
  query<T = any>(query: string, variables?: Record<string, unknown>, headers?: Record<string, string>): Promise<QueryResult<T>>;
  /** The gateway's own database (API keys, trusted documents). */
  readonly accessDb: Db;
  /** Creates an API key in the gateway's database; returns the key. */
  createKey(input: CreateKeyInput): Promise<string>;
  /** The secret the gateway signs subgraph requests with (GATEWAY_SIGNING_SECRET). */
  readonly gatewaySecret: string;
  /** Calls a subgraph directly, as the gateway would for `caller` (a signed header), or with no header when `caller` is null. */
  subgraphQuery<T = any>(subgraph: SubgraphName, query: string, variables?: Record<string, unknown>, caller?: Caller | null): Promise<QueryResult<T>>;
  resetCounters(): void;
  /** Another gateway over the same subgraphs, with other options (stopped by `stop`); in production its /metrics is at `metricsUrl`. */
  startGateway(options?: Partial<GatewayOptions>): Promise<RunningGateway>;
  stop(): Promise<void>;
}

export interface StackOptions {
  /** The event bus of the four subgraphs (default: each its own in-memory bus). */
  readonly events?: EventBus;
  /** Options of the stack's gateway (e.g. `webhooks: { deliver: false }`). */
  readonly gateway?: Partial<GatewayOptions>;
}

/** One GraphQL POST; the status and the JSON body. */
async function post<T>(url: string, headers: Record<string, string>, query: string, variables?: Record<string, unknown>): Promise<QueryResult<T>> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query, variables }) });
  return { status: res.status, body: (await res.json()) as QueryResult<T>['body'] };
}

/** The four subgraphs over their seeded databases, on port 0 (pushed to `running` as they start). */
async function startSubgraphs(dbs: Record<SubgraphName, Db>, gatewaySecret: string, events: EventBus | undefined, running: RunningSubgraph[]): Promise<void> {
  for (const name of SUBGRAPH_NAMES) {
    running.push(await startSubgraph(subgraphModules[name], { db: dbs[name], gatewaySecret, limits: TEST_LIMITS, port: 0, host: '127.0.0.1', seedIfEmpty: true, events }));
  }
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const prefix = `t_${randomBytes(5).toString('hex')}`;
  const gatewaySecret = randomBytes(32).toString('base64url');
  const client: MongoClient = await connect(inject('mongoUri'), { monitorCommands: true });
  const dbs = Object.fromEntries(SUBGRAPH_NAMES.map((n) => [n, client.db(`${prefix}_${n}`)])) as Record<SubgraphName, Db>;
  const accessDb = client.db(`${prefix}_gateway`);
  const keyStore = new KeyStore(accessDb, { cacheMs: 0 });
  const byDb = new Map(SUBGRAPH_NAMES.map((n) => [`${prefix}_${n}`, n]));
  const subgraphCalls: { subgraph: string; query: string }[] = [];
  let recording = false;
  const commands = recordCommands(client, byDb, () => recording);

  const running: RunningSubgraph[] = [];
  const extraGateways: RunningGateway[] = [];
  const supergraphPath = new URL('../../schema/supergraph.graphql', import.meta.url).pathname;
  let gateway: RunningGateway | undefined;
  try {
    await startSubgraphs(dbs, gatewaySecret, options.events, running);
    const subgraphUrls = Object.fromEntries(running.map((s) => [s.name, s.url])) as Record<SubgraphName, string>;
    /** What every gateway of the stack shares: the subgraphs, the signing secret, the key store. */
    const base = { supergraph: { path: supergraphPath, watch: false }, urlOverrides: subgraphUrls, gatewaySecret, accessDb, port: 0, host: '127.0.0.1' };
    gateway = await startGateway({
      ...base,
      ...options.gateway,
      onSubgraphRequest: (subgraph, query) => {
        if (recording) subgraphCalls.push({ subgraph, query });
      },
    });
    const gatewayUrl = gateway.url;
    recording = true;
    const stack: Stack = {
      gatewayUrl,
      subgraphUrls,
      subgraphServers: Object.fromEntries(running.map((s) => [s.name, s.httpServer])) as Record<SubgraphName, http.Server>,
      dbs,
      accessDb,
      gatewaySecret,
      async createKey(input) {
        return (await keyStore.create(input)).key;
      },
      subgraphCalls,
      commands,
      query: <T>(query: string, variables?: Record<string, unknown>, headers: Record<string, string> = {}) => post<T>(`${gatewayUrl}graphql`, { accept: GRAPHQL_ACCEPT, ...headers }, query, variables),
      async subgraphQuery<T>(subgraph: SubgraphName, query: string, variables?: Record<string, unknown>, caller: Caller | null = { sub: 'test', role: 'anonymous', read: '*', write: [] }) {
        const headers: Record<string, string> = caller ? { [GATEWAY_TOKEN_HEADER]: await signGatewayToken(gatewaySecret, caller, subgraph) } : {};
        return post<T>(subgraphUrls[subgraph], headers, query, variables);
      },
      async startGateway(options = {}) {
        // A production gateway serves /metrics on a port of its own (9464 by default): port 0
        // here, as every port of the tests, so that gateways started at once do not collide.
        const extra = await startGateway({ ...base, ...(options.production ? { metricsPort: 0 } : {}), ...options });
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
        for (const db of [...Object.values(dbs), accessDb]) await db.dropDatabase().catch(() => {});
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
