/**
 * What every subgraph shares: reading its SDL from schema/, building the Apollo subgraph server
 * (never listening), the per-request context with its data layer bound afresh, and starting it
 * on a port behind its HTTP front (lib/subgraphHttp.ts) and WebSocket transport
 * (lib/subgraphWebSocket.ts).
 */
import { readFileSync } from 'node:fs';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginCacheControl } from '@apollo/server/plugin/cacheControl';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import http from 'node:http';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse, type DocumentNode, type GraphQLSchema } from 'graphql';
import type { Db } from 'mongodb';
import { configDefault, loadConfig, subgraphDbName, subgraphPort, type Config, type SubgraphName } from './config.ts';
import { listen } from './http.ts';
import { holdOneByteNames, type HeldNames } from './oneByteNames.ts';
import { createLogger } from './log.ts';
import { startTracing } from './tracing.ts';
import { connect, detectCapabilities, ensureIndexes, type CollectionSpec, type SeedCount } from './mongo.ts';
import type { PageLimits } from './pagination.ts';
import {
  defaultTokenPolicy,
  GATEWAY_TOKEN_HEADER,
  GatewayTokenError,
  readGatewayToken,
  tokenRefused,
  type Caller,
  type GatewayToken,
  type GatewayTokenPolicy,
} from './access.ts';
import { createEventBus, createEventMetrics, SubgraphEventLog, watchChanges } from './events.ts';
import type { ChangeFeed, ChangeStreamMode, EventBus, EventSource, ResumeRequest, SubgraphEvents } from './events.ts';
import { headerValue, subgraphRequestListener } from './subgraphHttp.ts';
import { serveSubgraphWebSocket } from './subgraphWebSocket.ts';

export { WS_CLOSE_UNAUTHORIZED } from './subgraphWebSocket.ts';

/**
 * What a subgraph's data layer is bound to for one request: its database, page limits and caller
 * (mutations write the audit record with the caller and request id).
 */
export interface DataScope {
  readonly db: Db;
  readonly limits: PageLimits;
  readonly caller: Caller;
  /** The gateway's request id (`x-request-id`), for logs and the audit trail. */
  readonly requestId: string | undefined;
}

/**
 * The context every resolver of a subgraph receives. Resolvers reach data only through `data`,
 * the subgraph's data layer bound to this request (new loaders every request); they never see
 * the database.
 */
export interface SubgraphContext<D> {
  readonly data: D;
  /** The caller, from the gateway's verified `x-ali-gateway-token` header. */
  readonly caller: Caller;
  /** The gateway's request id (`x-request-id`), for logs and the audit trail. */
  readonly requestId: string | undefined;
  /** Where mutations publish their change events and subscriptions listen (lib/events.ts). */
  readonly events: SubgraphEvents;
}

/** A subgraph: its name, collections, resolvers, data layer and seed. */
export interface SubgraphModule<D> {
  readonly name: SubgraphName;
  readonly collections: readonly CollectionSpec[];
  // The generated resolver types are stricter than Apollo's map; the two meet here.
  readonly resolvers: object;
  /** Binds the data layer (data/) to one request; called by the context factory for every request. */
  createData(scope: DataScope): D;
  /** Loads the published facts (and marked sample data); idempotent. */
  seed(db: Db): Promise<SeedCount[]>;
  /** How its audited changes become events of the event log (data/events.ts). */
  readonly events?: readonly EventSource[];
  /** How writes made outside the API become events, where change streams exist (data/events.ts). */
  readonly changeFeeds?: readonly ChangeFeed[];
}

export interface SubgraphOptions {
  readonly db: Db;
  /**
   * GATEWAY_SIGNING_SECRET: requests without a header signed with it get 401. `null` leaves the
   * subgraph open to unsigned requests (read-only callers): only for the benchmark, which drives
   * gateways that cannot sign.
   */
  readonly gatewaySecret: string | null;
  /**
   * GATEWAY_SIGNING_SECRET_PREVIOUS: while the signing secret is rotated, tokens signed with this
   * one are accepted too (docs/deployment.md, rotating the signing secret).
   */
  readonly previousGatewaySecret?: string | undefined;
  /** What a gateway token must be besides signed (lifetime, clock skew); default from lib/config.ts. */
  readonly tokenPolicy?: GatewayTokenPolicy;
  /**
   * SUBGRAPH_BODY_LIMIT_BYTES: the largest request body read, once the token is verified (413
   * above it; default 8 MiB, docs/security.md says why).
   */
  readonly bodyLimitBytes?: number;
  readonly limits: PageLimits;
  readonly plugins?: ApolloServerPlugin[];
  readonly production?: boolean;
  /**
   * The bus of change events (`createEventBus({ redisUrl })` to share them between instances).
   * Default: an in-memory bus of this subgraph alone, closed by `stop`; a given bus is the
   * caller's to close.
   */
  readonly events?: EventBus;
  /**
   * CHANGE_STREAMS: `auto` also publishes events for writes made outside the API where the
   * database has change streams (never on FerretDB); default `off`.
   */
  readonly changeStreams?: ChangeStreamMode;
  /** How long the event log keeps an event, in ms (EVENT_RETENTION_DAYS, default 30 days). */
  readonly eventRetentionMs?: number;
  /** CACHE_MAX_AGE_SECONDS: the Cache-Control max-age of answers without a `@cacheControl` hint (default 300). */
  readonly cacheMaxAgeSeconds?: number;
}

const schemaDir = new URL('../schema/', import.meta.url);

/** The SDL file of a subgraph, as composition and the running service both see it. */
export function subgraphSdl(name: SubgraphName): string {
  return readFileSync(new URL(`${name}.graphql`, schemaDir), 'utf8');
}

function subgraphTypeDefs(name: SubgraphName): DocumentNode {
  return parse(subgraphSdl(name));
}

/** One-byte copies of each subgraph's names, held for the life of the process (./oneByteNames.ts). */
const heldNames = new Map<SubgraphName, HeldNames>();

/** The executable subgraph schema, as both HTTP and WebSocket serve it. */
export function subgraphSchema<D>(mod: SubgraphModule<D>): GraphQLSchema {
  const typeDefs = subgraphTypeDefs(mod.name);
  if (!heldNames.has(mod.name)) heldNames.set(mod.name, holdOneByteNames(typeDefs));
  return buildSubgraphSchema([{ typeDefs, resolvers: mod.resolvers as never }]);
}

function buildSubgraphServer<D>(mod: SubgraphModule<D>, opts: SubgraphOptions): ApolloServer<SubgraphContext<D>> {
  return new ApolloServer<SubgraphContext<D>>({
    schema: subgraphSchema(mod),
    // Inline traces (ftv1) serve Apollo's usage reporting, which this gateway does not use. Cache
    // hints (`@cacheControl`, else the default) become the Cache-Control the gateway's caches honour.
    plugins: [ApolloServerPluginInlineTraceDisabled(), ApolloServerPluginCacheControl({ defaultMaxAge: opts.cacheMaxAgeSeconds ?? configDefault('CACHE_MAX_AGE_SECONDS') }), ...(opts.plugins ?? [])],
    includeStacktraceInErrorResponses: !opts.production,
    // The process stops Apollo Server after its HTTP server (RunningSubgraph.stop): Apollo's own
    // SIGTERM handler would stop it at once, failing requests in flight.
    stopOnTerminationSignals: false,
  });
}

export interface RunningSubgraph {
  readonly name: SubgraphName;
  /** Base URL; GraphQL at `/` and `/graphql` (also over WebSocket, graphql-transport-ws), liveness at `/health`, readiness (database reachable) at `/ready`. */
  readonly url: string;
  /** The HTTP server (for protocol upgrades such as WebSocket subscriptions). */
  readonly httpServer: http.Server;
  stop(): Promise<void>;
}

/** The caller of a subgraph started without a secret (benchmark only): reads, never writes. */
const OPEN_CALLER: Caller = Object.freeze({ sub: 'unsigned', role: 'anonymous', read: '*', write: [] });

type Authenticate = (token: string | undefined) => Promise<GatewayToken>;

/** How a subgraph verifies the gateway's token, on HTTP and WebSocket alike. */
function authenticator(mod: { readonly name: string }, opts: Pick<SubgraphOptions, 'gatewaySecret' | 'previousGatewaySecret' | 'tokenPolicy'>): Authenticate {
  const secret = opts.gatewaySecret;
  if (secret === null) return async () => ({ caller: OPEN_CALLER, expiresAt: Infinity });
  const policy = opts.tokenPolicy ?? defaultTokenPolicy();
  const secrets = opts.previousGatewaySecret ? [secret, opts.previousGatewaySecret] : [secret];
  return (token) => readGatewayToken(secrets, token, mod.name, policy);
}

/** Creates indexes, optionally seeds an empty database, and listens. */
export async function startSubgraph<D>(
  mod: SubgraphModule<D>,
  opts: SubgraphOptions & { port: number; host: string; seedIfEmpty?: boolean; log?: (line: string) => void },
): Promise<RunningSubgraph> {
  await ensureIndexes(opts.db, mod.collections);
  if (opts.seedIfEmpty && (await isEmpty(opts.db, mod.collections))) {
    const counts = await mod.seed(opts.db);
    opts.log?.(`${mod.name}: seeded ${counts.map((c) => `${c.inserted} ${c.collection}`).join(', ')}`);
  }
  const events = opts.events ?? createEventBus();
  const metrics = createEventMetrics(mod.name);
  const retentionMs = opts.eventRetentionMs ?? configDefault('EVENT_RETENTION_DAYS') * 86_400_000;
  const eventLog = new SubgraphEventLog({ db: opts.db, subgraph: mod.name, sources: mod.events ?? [], bus: events, retentionMs, metrics, log: opts.log });
  await eventLog.start();
  const server = buildSubgraphServer(mod, opts);
  await server.start();
  const authenticate = authenticator(mod, opts);
  const httpServer = http.createServer(
    subgraphRequestListener({
      name: mod.name,
      db: opts.db,
      metrics,
      authenticate,
      bodyLimitBytes: opts.bodyLimitBytes ?? configDefault('SUBGRAPH_BODY_LIMIT_BYTES'),
      server,
      contextOf: (caller, requestId) => requestContext(mod, { ...opts, eventLog }, caller, requestId),
      log: opts.log,
    }),
  );
  httpServer.keepAliveTimeout = 5000;
  const subscriptions = serveSubgraphWebSocket(
    {
      schema: subgraphSchema(mod),
      authenticate,
      graceMs: (opts.tokenPolicy ?? defaultTokenPolicy()).clockSkewSeconds * 1000,
      contextOf: (caller, resume) => requestContext(mod, { ...opts, eventLog }, caller, undefined, resume),
    },
    httpServer,
  );
  const changeFeeds = await watchChanges(opts.db, mod.changeFeeds ?? [], events, { mode: opts.changeStreams ?? 'off', subgraph: mod.name, log: opts.log });
  const url = await listen(httpServer, opts.port, opts.host);
  const stop = async () => {
    await changeFeeds.stop();
    eventLog.stop();
    await subscriptions.stop();
    if (!opts.events) await events.close();
    await new Promise<void>((resolve) => {
      httpServer.close(() => resolve());
      httpServer.closeIdleConnections();
      setTimeout(() => httpServer.closeAllConnections(), 2000).unref();
    });
    await server.stop();
  };
  return { name: mod.name, url, httpServer, stop };
}

/**
 * Verifies the gateway's header (throws the 401 or 403 GraphQL error without a valid one) and
 * builds the request's context, as the HTTP front does (for tests that execute in-process).
 */
export async function subgraphContext<D>(
  mod: SubgraphModule<D>,
  opts: Pick<SubgraphOptions, 'db' | 'limits' | 'gatewaySecret' | 'previousGatewaySecret' | 'tokenPolicy'> & { readonly eventLog: SubgraphEventLog },
  headers: Readonly<Record<string, string | string[] | undefined>>,
): Promise<SubgraphContext<D>> {
  let caller: Caller;
  try {
    caller = (await authenticator(mod, opts)(headerValue(headers, GATEWAY_TOKEN_HEADER))).caller;
  } catch (err) {
    if (err instanceof GatewayTokenError) throw tokenRefused(mod.name, err);
    throw err;
  }
  return requestContext(mod, opts, caller, headerValue(headers, 'x-request-id'));
}

/** The context of one request (or one subscription event): the data layer bound afresh; subscriptions resume where `resume` says. */
function requestContext<D>(
  mod: SubgraphModule<D>,
  opts: Pick<SubgraphOptions, 'db' | 'limits'> & { readonly eventLog: SubgraphEventLog },
  caller: Caller,
  requestId: string | undefined,
  resume?: ResumeRequest,
): SubgraphContext<D> {
  const data = mod.createData({ db: opts.db, limits: opts.limits, caller, requestId });
  return { data, caller, requestId, events: opts.eventLog.forRequest(resume) };
}

/** The options of a subgraph that come from configuration (lib/config.ts). */
export function subgraphOptionsFromConfig(cfg: Config): Pick<SubgraphOptions, 'limits' | 'tokenPolicy' | 'bodyLimitBytes' | 'eventRetentionMs' | 'cacheMaxAgeSeconds'> {
  return {
    cacheMaxAgeSeconds: cfg.CACHE_MAX_AGE_SECONDS,
    eventRetentionMs: cfg.EVENT_RETENTION_DAYS * 86_400_000,
    limits: { defaultSize: cfg.PAGE_SIZE_DEFAULT, maxSize: cfg.PAGE_SIZE_MAX },
    tokenPolicy: { maxLifetimeSeconds: cfg.GATEWAY_TOKEN_MAX_LIFETIME_SECONDS, clockSkewSeconds: cfg.GATEWAY_TOKEN_CLOCK_SKEW_SECONDS },
    bodyLimitBytes: cfg.SUBGRAPH_BODY_LIMIT_BYTES,
  };
}

async function isEmpty(db: Db, collections: readonly CollectionSpec[]): Promise<boolean> {
  for (const c of collections) if ((await db.collection(c.name).estimatedDocumentCount()) > 0) return false;
  return true;
}

/**
 * Entry point of a subgraph run as its own service (`subgraphs/<name>/index.ts`): reads the
 * configuration, connects to MONGODB_URI, listens on <NAME>_PORT, stops cleanly on SIGTERM/SIGINT.
 */
export async function runSubgraph<D>(mod: SubgraphModule<D>): Promise<void> {
  const cfg = loadConfig();
  const log = createLogger(mod.name, cfg.LOG_LEVEL);
  const tracing = await startTracing({ serviceName: `ali-${mod.name}`, otlpEndpoint: cfg.OTEL_EXPORTER_OTLP_ENDPOINT });
  if (!cfg.MONGODB_URI) {
    log.fatal('MONGODB_URI is required to run a subgraph on its own (npm start provides one)');
    process.exit(1);
  }
  if (!cfg.GATEWAY_SIGNING_SECRET) {
    log.fatal('GATEWAY_SIGNING_SECRET is required to run a subgraph on its own (the gateway signs its requests with it)');
    process.exit(1);
  }
  const client = await connect(cfg.MONGODB_URI);
  const db = client.db(subgraphDbName(cfg, mod.name));
  const caps = await detectCapabilities(db);
  log.info({ capabilities: caps }, 'database connected');
  const events = createEventBus({ redisUrl: cfg.REDIS_URL, log });
  const running = await startSubgraph(mod, {
    db,
    gatewaySecret: cfg.GATEWAY_SIGNING_SECRET,
    previousGatewaySecret: cfg.GATEWAY_SIGNING_SECRET_PREVIOUS,
    ...subgraphOptionsFromConfig(cfg),
    port: subgraphPort(cfg, mod.name),
    host: cfg.HOST,
    seedIfEmpty: cfg.SEED_ON_START,
    production: cfg.NODE_ENV === 'production',
    events,
    changeStreams: cfg.CHANGE_STREAMS,
    log: (line) => log.info(line),
  });
  log.info({ url: running.url, events: events.kind }, `${mod.name} subgraph ready`);
  const stop = async () => {
    await running.stop();
    await events.close();
    await client.close();
    await tracing.stop();
    process.exit(0);
  };
  let stopping: Promise<void> | undefined;
  process.on('SIGTERM', () => void (stopping ??= stop()));
  process.on('SIGINT', () => void (stopping ??= stop()));
}
