/**
 * What every subgraph shares: reading its SDL from schema/, building the Apollo subgraph server
 * (never listening), the per-request context with fresh DataLoaders, and starting it on a port.
 */
import { readFileSync } from 'node:fs';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { HeaderMap } from '@apollo/server';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse, type DocumentNode } from 'graphql';
import type { Db } from 'mongodb';
import { loadConfig, subgraphDbName, subgraphPort, type SubgraphName } from './config.ts';
import { createLogger } from './log.ts';
import { startTracing } from './tracing.ts';
import { connect, detectCapabilities, ensureIndexes, type CollectionSpec, type SeedCount } from './mongo.ts';
import type { PageLimits } from './pagination.ts';
import { GATEWAY_TOKEN_HEADER, GatewayTokenError, unauthenticated, verifyGatewayToken, type Caller } from './access.ts';

/** The context every resolver of a subgraph receives; loaders are new for every request. */
export interface SubgraphContext<L> {
  readonly db: Db;
  readonly loaders: L;
  readonly limits: PageLimits;
  /** The caller, from the gateway's verified `x-ali-gateway-token` header. */
  readonly caller: Caller;
  /** The gateway's request id (`x-request-id`), for logs and the audit trail. */
  readonly requestId: string | undefined;
}

/** A subgraph: its name, collections, resolvers, loader factory and seed. */
export interface SubgraphModule<L> {
  readonly name: SubgraphName;
  readonly collections: readonly CollectionSpec[];
  // The generated resolver types are stricter than Apollo's map; the two meet here.
  readonly resolvers: object;
  createLoaders(db: Db, limits: PageLimits): L;
  /** Loads the published facts (and marked sample data); idempotent. */
  seed(db: Db): Promise<SeedCount[]>;
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
}

const schemaDir = new URL('../schema/', import.meta.url);

/** The SDL file of a subgraph, as composition and the running service both see it. */
export function subgraphSdl(name: SubgraphName): string {
  return readFileSync(new URL(`${name}.graphql`, schemaDir), 'utf8');
}

export function subgraphTypeDefs(name: SubgraphName): DocumentNode {
  return parse(subgraphSdl(name));
}

export function buildSubgraphServer<L>(mod: SubgraphModule<L>, opts: SubgraphOptions): ApolloServer<SubgraphContext<L>> {
  return new ApolloServer<SubgraphContext<L>>({
    schema: buildSubgraphSchema([
      { typeDefs: subgraphTypeDefs(mod.name), resolvers: mod.resolvers as never },
    ]),
    // Inline traces (ftv1) serve Apollo's usage reporting, which this gateway does not use.
    plugins: [ApolloServerPluginInlineTraceDisabled(), ...(opts.plugins ?? [])],
    includeStacktraceInErrorResponses: !opts.production,
  });
}

export interface RunningSubgraph {
  readonly name: SubgraphName;
  /** Base URL; GraphQL at `/` and `/graphql`, liveness at `/health`. */
  readonly url: string;
  /** The HTTP server (for protocol upgrades such as WebSocket subscriptions). */
  readonly httpServer: http.Server;
  stop(): Promise<void>;
}

/** Creates indexes, optionally seeds an empty database, and listens. */
export async function startSubgraph<L>(
  mod: SubgraphModule<L>,
  opts: SubgraphOptions & { port: number; host: string; seedIfEmpty?: boolean; log?: (line: string) => void },
): Promise<RunningSubgraph> {
  await ensureIndexes(opts.db, mod.collections);
  if (opts.seedIfEmpty && (await isEmpty(opts.db, mod.collections))) {
    const counts = await mod.seed(opts.db);
    opts.log?.(`${mod.name}: seeded ${counts.map((c) => `${c.inserted} ${c.collection}`).join(', ')}`);
  }
  const server = buildSubgraphServer(mod, opts);
  await server.start();
  const httpServer = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] }));
      void err;
    });
  });
  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://subgraph');
    // Liveness for orchestrators, without credentials and without touching data.
    if (url.pathname === '/health') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify({ status: 'ok', subgraph: mod.name }));
    }
    if (url.pathname !== '/' && url.pathname !== '/graphql') {
      res.writeHead(404, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify({ errors: [{ message: `No route ${url.pathname}; GraphQL is at /graphql`, extensions: { code: 'NOT_FOUND' } }] }));
    }
    const chunks: Buffer[] = [];
    for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
    const raw = Buffer.concat(chunks).toString('utf8');
    let body: unknown = raw;
    if (String(req.headers['content-type'] ?? '').startsWith('application/json')) {
      try {
        body = raw === '' ? {} : JSON.parse(raw);
      } catch {
        res.writeHead(400, { 'content-type': 'application/json' });
        return void res.end(JSON.stringify({ errors: [{ message: 'The request body is not valid JSON', extensions: { code: 'BAD_REQUEST' } }] }));
      }
    }
    const headers = new HeaderMap();
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(', ') : v);
    const result = await server.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: req.method ?? 'GET', headers, search: url.search, body },
      context: () => subgraphContext(mod, opts, req.headers),
    });
    const out: Record<string, string> = {};
    for (const [k, v] of result.headers) out[k] = v;
    res.writeHead(result.status ?? 200, out);
    if (result.body.kind === 'complete') return void res.end(result.body.string);
    for await (const chunk of result.body.asyncIterator) res.write(chunk);
    res.end();
  }
  httpServer.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(opts.port, opts.host, () => resolve());
  });
  const { port } = httpServer.address() as AddressInfo;
  const shownHost = opts.host === '0.0.0.0' || opts.host === '::' ? 'localhost' : opts.host;
  const url = `http://${shownHost}:${port}/`;
  const stop = async () => {
    await new Promise<void>((resolve) => {
      httpServer.close(() => resolve());
      httpServer.closeIdleConnections();
      setTimeout(() => httpServer.closeAllConnections(), 2000).unref();
    });
    await server.stop();
  };
  return { name: mod.name, url, httpServer, stop };
}

/** The caller of a subgraph started without a secret (benchmark only): reads, never writes. */
const OPEN_CALLER: Caller = Object.freeze({ sub: 'unsigned', role: 'anonymous', read: '*', write: [] });

/** Verifies the gateway's header (401 without a valid one) and builds the request's context. */
export async function subgraphContext<L>(
  mod: SubgraphModule<L>,
  opts: Pick<SubgraphOptions, 'db' | 'limits' | 'gatewaySecret'>,
  headers: Readonly<Record<string, string | string[] | undefined>>,
): Promise<SubgraphContext<L>> {
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
  return {
    db: opts.db,
    loaders: mod.createLoaders(opts.db, opts.limits),
    limits: opts.limits,
    caller,
    requestId: typeof requestId === 'string' ? requestId : undefined,
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
export async function runSubgraph<L>(mod: SubgraphModule<L>): Promise<void> {
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
  const running = await startSubgraph(mod, {
    db,
    gatewaySecret: cfg.GATEWAY_SIGNING_SECRET,
    limits: { defaultSize: cfg.PAGE_SIZE_DEFAULT, maxSize: cfg.PAGE_SIZE_MAX },
    port: subgraphPort(cfg, mod.name),
    host: cfg.HOST,
    seedIfEmpty: cfg.SEED_ON_START,
    production: cfg.NODE_ENV === 'production',
    log: (line) => log.info(line),
  });
  log.info({ url: running.url }, `${mod.name} subgraph ready`);
  const stop = async () => {
    await running.stop();
    await client.close();
    await tracing.stop();
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
