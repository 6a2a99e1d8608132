/**
 * The gateway's composition root: Apollo Gateway inside Apollo Server, behind a small node:http
 * front that adds what an operations team needs (gateway/http/: request ids, CORS, admission,
 * body limit, compression, graceful shutdown), its routes (gateway/routes/: /health, /ready,
 * /metrics, /graphql, /admin/graphql, /analytics/, the web pages) and the subscription transports
 * (gateway/subscriptions/). It resolves the options once, builds each part from them, wires the
 * parts together and listens; the parts implement. The CLI (gateway/index.ts) reads the
 * configuration.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloGateway } from '@apollo/gateway';
import { InMemoryLRUCache } from '@apollo/utils.keyvaluecache';
import type { GraphQLFormattedError } from 'graphql';
import { configDefault } from '../lib/config.ts';
import { listen } from '../lib/http.ts';
import type { GatewayContext } from './context.ts';
import { SubgraphDataSource, SubgraphPools, type DataSourceHooks } from './transport/index.ts';
import { errorFormatter } from './errors.ts';
import { createMetrics, type GatewayMetrics, type QueryPlan } from './metrics.ts';
import { createSigner, type Signer } from './access/signer.ts';
import { KeyStore } from './access/keys.ts';
import { createIdentify, rateLimitKey } from './access/callers.ts';
import { Contracts } from './access/contracts.ts';
import { accessPlugin } from './access/plugin.ts';
import { DocumentStore } from './access/documents.ts';
import { largestMaxTokens, operationLimitsPlugin } from './operationLimits.ts';
import { costDirectivesOrNone, NO_COST_DIRECTIVES, type CostOptions } from './cost/index.ts';
import { useExecutionLimits } from './executor/ceilings.ts';
import { useDeferDirective } from './executor/deferDirective.ts';
import { deferMetrics } from './executor/deferMetrics.ts';
import { limitsInForce, resolveGatewayOptions, type GatewayOptions, type ResolvedGatewayOptions } from './options.ts';
import { createRateLimiter } from './rateLimit.ts';
import { supergraphManager, type SupergraphSourceManager } from './supergraph.ts';
import { useCorrectedPlanner } from './apollo/planner.ts';
import { useLeanExecutor, type LeanExecutorOptions } from './executor/index.ts';
import { createSubscriptionServer, type SubscriptionServer } from './subscriptions/index.ts';
import { createGlobalObjects, NODE_GRAPH, type GlobalObjects } from './node/index.ts';
import { createRequestPipeline, ExecutionSlots, incrementalDeliveryPlugin, requestPipelinePlugin, type RequestPipeline } from './pipeline/index.ts';
import { createAdmission, type SpendBudget } from './http/admission.ts';
import { createDrain } from './http/draining.ts';
import { createRequestListener } from './http/handler.ts';
import { createRouter } from './routes/index.ts';
import { adminRoute } from './routes/admin.ts';
import { analyticsRoute } from './routes/analytics.ts';
import { graphqlRoute } from './routes/graphql.ts';
import { healthRoute } from './routes/health.ts';
import { listenMetrics, metricsElsewhere, metricsRoute } from './routes/metrics.ts';
import { readyRoute } from './routes/ready.ts';
import { uiRoute } from './routes/ui.ts';
import { WebhookService } from './webhooks/service.ts';
import { GatewayCache } from './cache/index.ts';

export { gatewayOptionsFromConfig, type GatewayOptions } from './options.ts';

export interface RunningGateway {
  /** Base URL, ending in `/`; GraphQL is at `${url}graphql`. */
  readonly url: string;
  readonly port: number;
  /** Where /metrics is served: `${url}metrics`, or a port of its own (`metricsPort`). */
  readonly metricsUrl: string;
  readonly metrics: GatewayMetrics;
  readonly supergraph: SupergraphSourceManager;
  /** Open subscription connections, streams and subgraph connections. */
  readonly subscriptions: Pick<SubscriptionServer, 'stats'>;
  /**
   * Refuses new requests (503 SHUTTING_DOWN), still accepting connections for `listenMs` (default
   * 0), then stops accepting, lets in-flight requests finish within `graceMs`, and closes everything.
   */
  stop(graceMs?: number, listenMs?: number): Promise<void>;
}

/** Where the gateway listens. */
interface Listen {
  readonly port: number;
  readonly host: string;
}

/** Apollo Gateway over the supergraph, each subgraph reached through our data source. */
function createGateway(
  opts: ResolvedGatewayOptions,
  manager: SupergraphSourceManager,
  metrics: GatewayMetrics,
  sign: Signer | undefined,
  pools: SubgraphPools,
  nodes: GlobalObjects,
  cache: GatewayCache | undefined,
): ApolloGateway {
  const log = opts.logger;
  const hooks: DataSourceHooks = {
    onFetch: (subgraph, seconds, outcome) => metrics.subgraphFetch(subgraph, seconds, outcome),
    onCircuitState: (subgraph, state) => {
      metrics.circuitState(subgraph, state);
      log.warn({ subgraph, state }, 'circuit state changed');
    },
    onRetry: (subgraph, from, to) => {
      metrics.subgraphRetry(subgraph);
      log.debug({ subgraph, from, to }, 'query sent again to another instance');
    },
    ...(opts.onSubgraphRequest ? { onRequest: opts.onSubgraphRequest } : {}),
  };
  const gateway = new ApolloGateway({
    supergraphSdl: manager,
    // Refuse an invalid supergraph in every environment (stock skips validation in production).
    validateSupergraph: true,
    queryPlannerConfig: {
      cache: metrics.wrapQueryPlanCache(new InMemoryLRUCache<QueryPlan>()),
      // Stock's executor cannot execute deferred fragments: with it, @defer is planned away (ignored).
      incrementalDelivery: { enableDefer: opts.executor === 'lean' },
    },
    buildService: ({ name, url }) => {
      if (name === NODE_GRAPH) return nodes.dataSource();
      const target = opts.urlOverrides?.[name] ?? url;
      if (!target) throw new Error(`subgraph ${name} has no URL in the supergraph and no override`);
      return nodes.track(name, new SubgraphDataSource({
        name,
        url: target,
        timeoutMs: opts.subgraphTimeouts?.[name] ?? opts.timeoutMs,
        circuit: opts.circuit,
        dedupe: opts.dedupe,
        hooks,
        pools,
        ...(sign ? { sign } : {}),
        ...(opts.headerRules ? { headerRules: opts.headerRules } : {}),
      }));
    },
  });
  if (opts.executor === 'lean') useLeanExecutor(gateway, { onExecute: executionHook(opts, metrics), ...(cache ? { fetchCache: cache.fetchCacheOf } : {}) });
  useCorrectedPlanner(gateway);
  cache?.use(gateway);
  // Outermost, so the ceilings hold for the result as the other wrappers leave it.
  useExecutionLimits(gateway, (ctx) => opts.executionLimits[ctx.caller.role], deferMetrics(metrics.registry));
  return gateway;
}

/**
 * What the gateway does with each lean executor's record of a request: counts stock fallbacks,
 * logs an unexpected one (a plan the lean executor failed to compile) once per plan, and tells
 * `opts.onExecute`.
 */
function executionHook(opts: ResolvedGatewayOptions, metrics: GatewayMetrics): NonNullable<LeanExecutorOptions['onExecute']> {
  const reported = new WeakSet<object>();
  return (execution, queryPlan, requestContext) => {
    if (execution.fallback) metrics.executorFallback(execution.fallback);
    if (execution.fallback === 'compile_error' && !reported.has(queryPlan)) {
      reported.add(queryPlan);
      opts.logger.error({ detail: execution.detail, operationName: requestContext.operationName }, 'the lean executor could not compile a plan; stock executes it');
    }
    opts.onExecute?.({ ...execution, requestId: (requestContext.context as Partial<GatewayContext>).requestId ?? '' });
  };
}

/** Access: keys and trusted documents in the gateway's own database, callers, rate limits. */
async function createAccess(opts: ResolvedGatewayOptions, contracts: () => Contracts | undefined) {
  const keys = opts.accessDb ? new KeyStore(opts.accessDb, { cacheMs: opts.keyCacheMs, knownSubgraphs: () => contracts()?.subgraphs ?? [] }) : undefined;
  const documents = opts.accessDb ? new DocumentStore(opts.accessDb, opts.keyCacheMs) : undefined;
  await keys?.init();
  await documents?.init();
  const identify = createIdentify({ keys, jwt: opts.jwt, anonymousScope: opts.anonymousScope, anonymousWriteScope: opts.anonymousWriteScope });
  const limiter = opts.rateLimits ? createRateLimiter({ limits: opts.rateLimits, ...(opts.redisUrl ? { redisUrl: opts.redisUrl } : {}), log: opts.logger }) : undefined;
  const spend: SpendBudget | undefined = limiter ? (caller, ip) => limiter.consume(rateLimitKey(caller, ip), caller.role) : undefined;
  return { keys, documents, identify, limiter, spend };
}

interface ApolloDeps {
  readonly gateway: ApolloGateway;
  readonly metrics: GatewayMetrics;
  readonly contracts: () => Contracts | undefined;
  /** The cost model of the supergraph being served. */
  readonly cost: () => CostOptions;
  readonly formatError: (formatted: GraphQLFormattedError) => GraphQLFormattedError;
  readonly maxTokens: number;
}

/**
 * Apollo Server with the gateway's plugins: metrics (first: it sees every request, and which pass
 * every check), the request pipeline's (operation types per transport, before the access check),
 * access, operation limits, and incremental delivery (last: the others see a deferred answer's
 * initial result as a single result).
 */
function createApollo(opts: ResolvedGatewayOptions, deps: ApolloDeps): ApolloServer<GatewayContext> {
  const { production, operationLimits } = opts;
  return new ApolloServer<GatewayContext>({
    gateway: deps.gateway,
    includeStacktraceInErrorResponses: !production,
    hideSchemaDetailsFromClientErrors: production,
    // Introspection is decided per caller by the access plugin (and answered from the caller's view).
    introspection: true,
    ...(opts.persistedQueries === false ? { persistedQueries: false as const } : {}),
    // A document larger than any role may send is not even parsed (each role's own limit is checked after).
    parseOptions: { maxTokens: deps.maxTokens },
    formatError: deps.formatError,
    // The process stops Apollo Server after draining (RunningGateway.stop): Apollo's own SIGTERM
    // handler would stop it at once, failing requests accepted before the signal.
    stopOnTerminationSignals: false,
    // Apollo's default landing page loads Sandbox from a CDN, which a closed network cannot reach.
    plugins: [
      ApolloServerPluginLandingPageDisabled(),
      deps.metrics.plugin,
      requestPipelinePlugin(),
      accessPlugin({
        contracts: deps.contracts,
        introspection: (caller) => (caller.role === 'anonymous' ? opts.introspection : caller.role !== 'frontend'),
      }),
      operationLimitsPlugin((ctx) => operationLimits[ctx.caller.role], { cost: deps.cost, onCost: (role, estimated, actual) => deps.metrics.operationCost(role, estimated, actual) }),
      ...opts.plugins,
      incrementalDeliveryPlugin(deps.formatError),
    ],
  });
}

type Access = Awaited<ReturnType<typeof createAccess>>;

/** The subscription transports, on the same request pipeline, access, rate limits, signing and error formatting as HTTP. */
function createSubscriptions(
  opts: ResolvedGatewayOptions,
  { gateway, pipeline, access, formatError, sign }: { gateway: ApolloGateway; pipeline: RequestPipeline; access: Access; formatError: ApolloDeps['formatError']; sign: Signer | undefined },
): SubscriptionServer {
  return createSubscriptionServer(
    {
      gateway,
      pipeline,
      identify: access.identify,
      sign,
      rateLimit: access.spend,
      quotaKey: rateLimitKey,
      formatError,
      bodyLimitBytes: opts.bodyLimitBytes,
      executionLimits: (caller) => opts.executionLimits[caller.role],
      log: opts.logger,
    },
    opts.subscriptions,
  );
}

/** The contracts and the cost model of the supergraph being served, replaced on every (re)load. */
function servedSupergraph(opts: ResolvedGatewayOptions) {
  const sizes = { listSize: opts.listSizeDefault, pageSize: opts.defaultPageSize };
  let contracts: Contracts | undefined;
  let cost: CostOptions = { directives: NO_COST_DIRECTIVES, ...sizes };
  const onUnreadable = (err: unknown) =>
    opts.logger.warn({ err }, 'the cost directives of the supergraph could not be read: every list costs LIST_SIZE_DEFAULT');
  return {
    contracts: (): Contracts | undefined => contracts,
    cost: (): CostOptions => cost,
    update: ({ apiSchema, coreSupergraphSdl }: SchemaLoad) => {
      contracts = new Contracts(apiSchema, coreSupergraphSdl);
      cost = { directives: costDirectivesOrNone(coreSupergraphSdl, onUnreadable), ...sizes };
    },
  };
}

type SchemaLoad = Parameters<Parameters<ApolloGateway['onSchemaLoadOrUpdate']>[0]>[0];

/** The fetch and response caches (gateway/cache/), unless `cache` is off. */
function createCache(opts: ResolvedGatewayOptions, metrics: GatewayMetrics, contracts: () => Contracts | undefined): GatewayCache | undefined {
  if (opts.cache === 'off') return undefined;
  const subgraphs = () => contracts()?.subgraphs ?? [];
  return new GatewayCache({ mode: opts.cache, redisUrl: opts.redisUrl, maxBytes: opts.cacheMaxBytes, registry: metrics.registry, log: opts.logger, subgraphs });
}

interface RouteDeps {
  readonly manager: SupergraphSourceManager;
  readonly sign: Signer | undefined;
  readonly metrics: GatewayMetrics;
  readonly access: Access;
  readonly pipeline: RequestPipeline;
  readonly subscriptions: SubscriptionServer;
  readonly webhooks: WebhookService | undefined;
  readonly apollo: ApolloServer<GatewayContext>;
}

/** Every route of the HTTP front, each built from what it needs. */
function createRoutes(opts: ResolvedGatewayOptions, { manager, sign, metrics, access, pipeline, subscriptions, webhooks, apollo }: RouteDeps) {
  const admit = createAdmission(access.identify, access.spend);
  return createRouter({
    health: healthRoute({ supergraph: manager }),
    ready: readyRoute({ supergraph: manager, urlOverrides: opts.urlOverrides, sign, detail: !opts.production }),
    metrics: opts.metricsPort === 'gateway' ? metricsRoute({ metrics, access: opts.metricsAccess, admit }) : metricsElsewhere,
    graphql: graphqlRoute({ pipeline, admit, bodyLimitBytes: opts.bodyLimitBytes, subscriptions }),
    admin: adminRoute({ admit, keys: access.keys, documents: access.documents, webhooks, bodyLimitBytes: opts.bodyLimitBytes, log: opts.logger }),
    analytics: analyticsRoute({ admit, apollo }),
    ui: uiRoute(),
  });
}

export async function startGateway(options: GatewayOptions & Listen): Promise<RunningGateway> {
  // @apollo/gateway otherwise sends usage metrics to Apollo and, to label them, probes the cloud
  // metadata addresses of AWS, GCP, Azure and Alibaba (169.254.169.254): unwanted on a public
  // administration network, and seen failing here. Opt in with APOLLO_TELEMETRY_DISABLED=false.
  process.env.APOLLO_TELEMETRY_DISABLED ??= 'true';
  const opts = resolveGatewayOptions(options);
  const log = opts.logger;
  // A gateway serving someone else's supergraph behaves by these: say them before anything else.
  log.info(limitsInForce(opts), 'gateway limits in force');
  const metrics = createMetrics();
  const served = servedSupergraph(opts);
  const nodes = createGlobalObjects({ log, view: (caller) => served.contracts()?.schemaFor(caller) });
  const manager = supergraphManager(opts.supergraph, log, undefined, opts.globalObjectIds ? (sdl) => nodes.prepare(sdl) : undefined);
  const sign = opts.gatewaySecret ? createSigner(opts.gatewaySecret, { ttlSeconds: opts.gatewayTokenTtlSeconds }) : undefined;
  // Connections to the subgraphs belong to this gateway and close with it.
  const pools = new SubgraphPools();
  const cache = createCache(opts, metrics, served.contracts);
  const gateway = createGateway(opts, manager, metrics, sign, pools, nodes, cache);
  const access = await createAccess(opts, served.contracts);
  gateway.onSchemaLoadOrUpdate((load) => {
    served.update(load);
    cache?.setSupergraph(load.coreSupergraphSdl);
  });
  const formatError = errorFormatter(opts.production);
  const maxTokens = largestMaxTokens(opts.operationLimits);
  // Apollo Server validates against the schema with @defer; the contracts (each caller's view,
  // introspection) stay on the gateway's own, registered above.
  useDeferDirective(gateway);
  const apollo = createApollo(opts, { gateway, metrics, contracts: served.contracts, cost: served.cost, formatError, maxTokens });
  await apollo.start();
  const slots = new ExecutionSlots(opts.concurrentOperations);
  metrics.watchExecutions(() => slots.state());
  const pipeline = createRequestPipeline({ apollo, documents: access.documents, maxTokens, formatError, slots });
  const subscriptions = createSubscriptions(opts, { gateway, pipeline, access, formatError, sign });
  metrics.watchSubscriptions(() => subscriptions.stats());
  const webhooks =
    opts.accessDb && access.keys
      ? new WebhookService({ db: opts.accessDb, keys: access.keys, subscriptions, registry: metrics.registry, log }, opts.webhooks)
      : undefined;

  const route = createRoutes(opts, { manager, sign, metrics, access, pipeline, subscriptions, webhooks, apollo });
  const drain = createDrain();
  const server = http.createServer(createRequestListener({ log, corsOrigins: opts.corsOrigins, drain, route }));
  server.keepAliveTimeout = 5000;
  server.on('upgrade', (req, socket, head) => subscriptions.upgrade(req, socket, head));
  const url = await listen(server, options.port, options.host);
  const metricsListener = opts.metricsPort === 'gateway' ? undefined : await listenMetrics(metrics, opts.metricsPort, options.host);
  // Deliveries start once the gateway serves: they run through its own pipeline.
  await webhooks?.start();

  let stopped: Promise<void> | undefined;
  return {
    url,
    port: (server.address() as AddressInfo).port,
    metricsUrl: metricsListener?.url ?? `${url}metrics`,
    metrics,
    supergraph: manager,
    subscriptions: { stats: () => subscriptions.stats() },
    stop: (graceMs = configDefault('SHUTDOWN_GRACE_MS'), listenMs = 0) =>
      (stopped ??= (async () => {
        drain.begin();
        await webhooks?.stop();
        await subscriptions.close();
        await drain.close(server, graceMs, listenMs);
        await apollo.stop();
        await access.limiter?.close();
        await pools.close();
        await cache?.close();
        await metricsListener?.close();
        metrics.stop();
      })()),
  };
}
