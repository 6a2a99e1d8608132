/**
 * What every subgraph shares: reading its SDL from schema/, building the Apollo subgraph server
 * (never listening), the per-request context with fresh DataLoaders, and starting it on a port.
 */
import { readFileSync } from 'node:fs';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { startStandaloneServer } from '@apollo/server/standalone';
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
  /** GATEWAY_SIGNING_SECRET: requests without a header signed with it get 401. */
  readonly gatewaySecret: string;
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
  readonly url: string;
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
  const { url } = await startStandaloneServer(server, {
    listen: { port: opts.port, host: opts.host },
    context: ({ req }) => subgraphContext(mod, opts, req.headers),
  });
  return { name: mod.name, url, stop: () => server.stop() };
}

/** Verifies the gateway's header (401 without a valid one) and builds the request's context. */
export async function subgraphContext<L>(
  mod: SubgraphModule<L>,
  opts: Pick<SubgraphOptions, 'db' | 'limits' | 'gatewaySecret'>,
  headers: Readonly<Record<string, string | string[] | undefined>>,
): Promise<SubgraphContext<L>> {
  const token = headers[GATEWAY_TOKEN_HEADER];
  let caller: Caller;
  try {
    caller = await verifyGatewayToken(opts.gatewaySecret, typeof token === 'string' ? token : undefined, mod.name);
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
