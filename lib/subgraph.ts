/**
 * What every subgraph shares: reading its SDL from schema/, building the Apollo subgraph server
 * (never listening), the per-request context with its data layer bound afresh, and starting it
 * on a port.
 */
import { readFileSync } from 'node:fs';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse, type DocumentNode, type GraphQLSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { Db } from 'mongodb';
import { configDefault, loadConfig, subgraphDbName, subgraphPort, type SubgraphName } from './config.ts';
import { readGraphQLBody, sendHTTPGraphQLResponse, toHeaderMap } from './http.ts';
import { createLogger } from './log.ts';
import { startTracing } from './tracing.ts';
import { connect, detectCapabilities, ensureIndexes, type CollectionSpec, type SeedCount } from './mongo.ts';
import type { PageLimits } from './pagination.ts';
import { GATEWAY_TOKEN_HEADER, GatewayTokenError, unauthenticated, verifyGatewayToken, type Caller } from './access.ts';
import { createEventBus, createEventMetrics, resumeRequestOf, subscribeWithFreshContext, SubgraphEventLog, watchChanges } from './events.ts';
import type { ChangeFeed, ChangeStreamMode, EventBus, EventSource, ResumeRequest, SubgraphEvents } from './events.ts';

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
}

const schemaDir = new URL('../schema/', import.meta.url);

/** The SDL file of a subgraph, as composition and the running service both see it. */
export function subgraphSdl(name: SubgraphName): string {
  return readFileSync(new URL(`${name}.graphql`, schemaDir), 'utf8');
}

export function subgraphTypeDefs(name: SubgraphName): DocumentNode {
  return parse(subgraphSdl(name));
}

/** The executable subgraph schema, as both HTTP and WebSocket serve it. */
export function subgraphSchema<D>(mod: SubgraphModule<D>): GraphQLSchema {
  return buildSubgraphSchema([{ typeDefs: subgraphTypeDefs(mod.name), resolvers: mod.resolvers as never }]);
}

export function buildSubgraphServer<D>(mod: SubgraphModule<D>, opts: SubgraphOptions): ApolloServer<SubgraphContext<D>> {
  return new ApolloServer<SubgraphContext<D>>({
    schema: subgraphSchema(mod),
    // Inline traces (ftv1) serve Apollo's usage reporting, which this gateway does not use.
    plugins: [ApolloServerPluginInlineTraceDisabled(), ...(opts.plugins ?? [])],
    includeStacktraceInErrorResponses: !opts.production,
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
  const httpServer = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] }));
      opts.log?.(`${mod.name}: unhandled request error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    });
  });
  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://subgraph');
    // Liveness for orchestrators, without credentials and without touching data.
    if (url.pathname === '/health') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify({ status: 'ok', subgraph: mod.name }));
    }
    // Readiness: the database answers a ping within 2 s (the driver would wait 30 s for a server).
    if (url.pathname === '/ready') {
      const timeout = new Promise<false>((resolve) => setTimeout(resolve, 2000, false).unref());
      const ok = await Promise.race([opts.db.command({ ping: 1 }).then(() => true, () => false), timeout]);
      res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify({ status: ok ? 'ready' : 'database unreachable', subgraph: mod.name }));
    }
    if (url.pathname === '/metrics') {
      const { contentType, body } = await metrics.scrape();
      res.writeHead(200, { 'content-type': contentType });
      return void res.end(body);
    }
    if (url.pathname !== '/' && url.pathname !== '/graphql') {
      res.writeHead(404, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify({ errors: [{ message: `No route ${url.pathname}; GraphQL is at /graphql`, extensions: { code: 'NOT_FOUND' } }] }));
    }
    const fail = (status: number, code: string, message: string) => {
      res.writeHead(status, { 'content-type': 'application/json', connection: 'close' });
      res.end(JSON.stringify({ errors: [{ message, extensions: { code } }] }));
    };
    // Refuse a request without the gateway's header before reading its body (the full check,
    // signature and audience, is in subgraphContext).
    if (opts.gatewaySecret !== null && typeof req.headers[GATEWAY_TOKEN_HEADER] !== 'string') {
      return fail(401, 'UNAUTHENTICATED', `${mod.name}: missing ${GATEWAY_TOKEN_HEADER} header: subgraphs accept requests from the gateway only`);
    }
    const read = await readGraphQLBody(req, SUBGRAPH_BODY_LIMIT);
    if (!read.ok && read.status === 413) return fail(read.status, read.code, read.message);
    if (!read.ok) {
      res.writeHead(read.status, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify({ errors: [{ message: read.message, extensions: { code: read.code } }] }));
    }
    const result = await server.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: req.method ?? 'GET', headers: toHeaderMap(req.headers), search: url.search, body: read.body },
      context: () => subgraphContext(mod, { ...opts, eventLog }, req.headers),
    });
    await sendHTTPGraphQLResponse(res, result);
  }
  httpServer.keepAliveTimeout = 5000;
  const subscriptions = serveSubscriptions(mod, { ...opts, eventLog }, httpServer);
  const changeFeeds = await watchChanges(opts.db, mod.changeFeeds ?? [], events, {
    mode: opts.changeStreams ?? 'off',
    subgraph: mod.name,
    log: opts.log,
  });
  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(opts.port, opts.host, () => resolve());
  });
  const { port } = httpServer.address() as AddressInfo;
  const shownHost = opts.host === '0.0.0.0' || opts.host === '::' ? 'localhost' : opts.host;
  const url = `http://${shownHost}:${port}/`;
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

/** Largest request body a subgraph reads: the gateway's largest `_entities` batches fit many times over. */
const SUBGRAPH_BODY_LIMIT = 64 * 1024 * 1024;

/** The caller of a subgraph started without a secret (benchmark only): reads, never writes. */
const OPEN_CALLER: Caller = Object.freeze({ sub: 'unsigned', role: 'anonymous', read: '*', write: [] });

/** Verifies the gateway's header (401 without a valid one) and builds the request's context. */
export async function subgraphContext<D>(
  mod: SubgraphModule<D>,
  opts: Pick<SubgraphOptions, 'db' | 'limits' | 'gatewaySecret'> & { readonly eventLog: SubgraphEventLog },
  headers: Readonly<Record<string, string | string[] | undefined>>,
): Promise<SubgraphContext<D>> {
  const token = headers[GATEWAY_TOKEN_HEADER];
  let caller: Caller;
  try {
    caller =
      opts.gatewaySecret === null
        ? OPEN_CALLER
        : await verifyGatewayToken(opts.gatewaySecret, typeof token === 'string' ? token : undefined, mod.name);
  } catch (err) {
    if (err instanceof GatewayTokenError) throw unauthenticated(`${mod.name}: ${err.message}`);
    throw err;
  }
  const requestId = headers['x-request-id'];
  return requestContext(mod, opts, caller, typeof requestId === 'string' ? requestId : undefined);
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

// ---------------------------------------------------------------------------------------------
// Subscriptions over WebSocket

/** Close code of a connection whose `connection_init` has no valid `x-ali-gateway-token`. */
export const WS_CLOSE_UNAUTHORIZED = 4401;
/** Interval of the server's WebSocket pings (a peer that misses a pong for as long is dropped). */
export const WS_KEEPALIVE_MS = 12_000;

/**
 * GraphQL over WebSocket (graphql-ws, subprotocol `graphql-transport-ws`) on the subgraph's HTTP
 * server, at `/` and `/graphql`, with the subgraph schema. The gateway authenticates a connection
 * once: `connection_init` carries `{ "x-ali-gateway-token": <signGatewayToken(secret, caller,
 * subgraph)> }`; anything else is closed with 4401 Unauthorized. Every operation of the
 * connection runs as that caller, and every subscription event executes with a fresh context
 * (new DataLoaders), as an HTTP request would. Stopping closes the connections with 1001.
 */
function serveSubscriptions<D>(
  mod: SubgraphModule<D>,
  opts: SubgraphOptions & { readonly eventLog: SubgraphEventLog },
  httpServer: http.Server,
): { stop(): Promise<void> } {
  const wss = new WebSocketServer({ noServer: true });
  httpServer.on('upgrade', (req, socket, head) => {
    const { pathname } = new URL(req.url ?? '/', 'http://subgraph');
    if (pathname !== '/' && pathname !== '/graphql') {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (client) => wss.emit('connection', client, req));
  });
  const contextOf = (caller: Caller, resume?: ResumeRequest): SubgraphContext<D> => requestContext(mod, opts, caller, undefined, resume);
  const server = useServer<Record<string, unknown>, { caller: Caller }>(
    {
      schema: subgraphSchema(mod),
      onConnect: async (ctx) => {
        const token = ctx.connectionParams?.[GATEWAY_TOKEN_HEADER];
        try {
          ctx.extra.caller =
            opts.gatewaySecret === null
              ? OPEN_CALLER
              : await verifyGatewayToken(opts.gatewaySecret, typeof token === 'string' ? token : undefined, mod.name);
          return true;
        } catch (err) {
          if (!(err instanceof GatewayTokenError)) throw err;
          // graphql-ws would close with 4403 on `false`; the contract is 4401, sent first.
          ctx.extra.socket.close(WS_CLOSE_UNAUTHORIZED, 'Unauthorized');
          return false;
        }
      },
      // The gateway's `extensions.eventLog` resumes the operation's subscription (lib/events/ids.ts).
      context: (ctx, _id, payload) => contextOf(ctx.extra.caller!, resumeRequestOf(payload.extensions)),
      subscribe: (args) => subscribeWithFreshContext(args, (ctx) => contextOf((ctx as SubgraphContext<D>).caller)),
    },
    wss,
    WS_KEEPALIVE_MS,
  );
  return {
    async stop() {
      const disposed = server.dispose();
      // A peer that does not answer the close handshake is cut off.
      const cutoff = setTimeout(() => {
        for (const client of wss.clients) client.terminate();
      }, 1000);
      cutoff.unref();
      await disposed;
      clearTimeout(cutoff);
    },
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
    limits: { defaultSize: cfg.PAGE_SIZE_DEFAULT, maxSize: cfg.PAGE_SIZE_MAX },
    port: subgraphPort(cfg, mod.name),
    host: cfg.HOST,
    seedIfEmpty: cfg.SEED_ON_START,
    production: cfg.NODE_ENV === 'production',
    events,
    changeStreams: cfg.CHANGE_STREAMS,
    eventRetentionMs: cfg.EVENT_RETENTION_DAYS * 86_400_000,
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
