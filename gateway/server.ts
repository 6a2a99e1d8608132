/**
 * The gateway service: Apollo Gateway inside Apollo Server, behind a small node:http front that
 * adds what an operations team needs — /health, /ready, /metrics, request ids, CORS, a body
 * limit, compression, masked errors in production, graceful shutdown. Builds and listens; the
 * CLI (gateway/index.ts) reads the configuration.
 */
import { randomUUID } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { ApolloServer, HeaderMap, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloGateway } from '@apollo/gateway';
import { InMemoryLRUCache } from '@apollo/utils.keyvaluecache';
import type { GraphQLFormattedError } from 'graphql';
import { pino, type Logger } from 'pino';
import { request as undiciRequest } from 'undici';
import type { Config } from '../lib/config.ts';
import type { GatewayContext } from './context.ts';
import { REQUEST_ID_HEADER } from './context.ts';
import { SubgraphDataSource, SubgraphPools, type DataSourceHooks } from './transport/index.ts';
import { createMetrics, type GatewayMetrics, type QueryPlan } from './metrics.ts';
import { serveUi } from './ui.ts';
import type { Db } from 'mongodb';
import { ANONYMOUS, AccessCode, GATEWAY_TOKEN_HEADER, type Caller, type Role, type Scope } from '../lib/access.ts';
import { createSigner } from './access/signer.ts';
import { KeyStore } from './access/keys.ts';
import { createIdentify, rateLimitKey, type JwtOptions } from './access/callers.ts';
import { Contracts } from './access/contracts.ts';
import { accessPlugin } from './access/plugin.ts';
import { DocumentCode, DocumentStore, resolveTrusted } from './access/documents.ts';
import { runAdmin } from './access/admin.ts';
import { DEFAULT_LIMITS, operationLimitsPlugin, resolveLimits, type OperationLimits } from './limits.ts';
import { createRateLimiter, type RateLimiter } from './rateLimit.ts';
import { handleExport, type Execute } from './exports.ts';
import { supergraphManager, type SupergraphSource, type SupergraphSourceManager } from './supergraph.ts';
import { useLeanExecutor, type ExecutorKind } from './executor/index.ts';
import { createSubscriptionServer, httpSubscriptionsPlugin, type SubscriptionOptions, type SubscriptionServer } from './subscriptions/index.ts';

export interface GatewayOptions {
  /** The supergraph: its SDL, or a file (watched for changes when `watch`). */
  readonly supergraph: SupergraphSource;
  /** Subgraph name → URL, replacing the supergraph's `join__graph` URL for that subgraph. */
  readonly urlOverrides?: Readonly<Record<string, string | undefined>>;
  /** Masks internal errors and hides schema details; default: NODE_ENV === 'production'. */
  readonly production?: boolean;
  /** Per-request subgraph timeout in ms (default 30 s), and per-subgraph overrides. */
  readonly timeoutMs?: number;
  readonly subgraphTimeouts?: Readonly<Record<string, number>>;
  /** Circuit breaker (default: open after 5 consecutive failures, probe after 5 s). */
  readonly circuit?: { readonly failureThreshold: number; readonly resetMs: number };
  /** Share one subgraph request between identical concurrent queries (default true). */
  readonly dedupe?: boolean;
  /** `*`, a comma-separated list of origins, or '' for no CORS (default `*`). */
  readonly corsOrigins?: string;
  /**
   * Introspection for anonymous callers (default: on unless production). Keys with the analyst,
   * partner, editor or admin role always have it, filtered by their scope; frontend keys never.
   */
  readonly introspection?: boolean;
  /** The gateway's own database (API keys, trusted documents); unset: no keys, anonymous access only. */
  readonly accessDb?: Db;
  /** What callers without credentials may read (default every subgraph). */
  readonly anonymousScope?: Scope;
  /** How long a verified key is cached (default 5 s): a revoked key stops working within it. */
  readonly keyCacheMs?: number;
  /** Accept JWTs from an identity provider (its JWKS), mapped to roles. */
  readonly jwt?: JwtOptions;
  /** Requests per window per role (RATE_LIMITS); null or unset: no rate limiting. */
  readonly rateLimits?: Config['RATE_LIMITS'];
  /** Shares rate-limit budgets between gateway instances. */
  readonly redisUrl?: string;
  /** Per-role operation limits (default DEFAULT_LIMITS). */
  readonly operationLimits?: Readonly<Record<Role, OperationLimits>>;
  /** Automatic Persisted Queries (default true). */
  readonly persistedQueries?: boolean;
  /** Page size assumed by the cost estimate when `first` is absent (default 20). */
  readonly defaultPageSize?: number;
  /** Largest request body in bytes (default 1 MiB). */
  readonly bodyLimitBytes?: number;
  readonly logger?: Logger;
  readonly plugins?: ApolloServerPlugin<GatewayContext>[];
  /** Called for every request the gateway sends to a subgraph (tests and logs). */
  readonly onSubgraphRequest?: (subgraph: string, query: string, variables: Record<string, unknown> | undefined) => void;
  /** GATEWAY_SIGNING_SECRET: signs every subgraph request's caller; unset: no header (subgraphs that do not check it). */
  readonly gatewaySecret?: string;
  /** GATEWAY_EXECUTOR: who executes Apollo's query plans, the lean executor (gateway/executor/, default) or stock @apollo/gateway. */
  readonly executor?: ExecutorKind;
  /** Subscriptions over graphql-ws and SSE on /graphql: limits, keep-alive, slow consumers, subgraph reconnection (gateway/subscriptions/). */
  readonly subscriptions?: SubscriptionOptions;
}

export interface RunningGateway {
  /** Base URL, ending in `/`; GraphQL is at `${url}graphql`. */
  readonly url: string;
  readonly port: number;
  readonly metrics: GatewayMetrics;
  readonly supergraph: SupergraphSourceManager;
  /** Open subscription connections, streams and subgraph connections. */
  readonly subscriptions: Pick<SubscriptionServer, 'stats'>;
  /** Stops accepting, lets in-flight requests finish within `graceMs`, then closes everything. */
  stop(graceMs?: number): Promise<void>;
}

/** The runtime options that come from configuration (lib/config.ts). */
export function gatewayOptionsFromConfig(cfg: Config): Omit<GatewayOptions, 'supergraph' | 'urlOverrides' | 'logger'> {
  return {
    production: cfg.NODE_ENV === 'production',
    timeoutMs: cfg.SUBGRAPH_TIMEOUT_MS,
    subgraphTimeouts: cfg.SUBGRAPH_TIMEOUTS,
    circuit: { failureThreshold: cfg.CIRCUIT_FAILURE_THRESHOLD, resetMs: cfg.CIRCUIT_RESET_MS },
    dedupe: cfg.DEDUPE_SUBGRAPH_QUERIES,
    corsOrigins: cfg.CORS_ORIGINS,
    bodyLimitBytes: cfg.BODY_LIMIT_BYTES,
    introspection: cfg.GRAPHQL_INTROSPECTION === 'auto' ? cfg.NODE_ENV !== 'production' : cfg.GRAPHQL_INTROSPECTION === 'true',
    anonymousScope: cfg.ANONYMOUS_SCOPE,
    keyCacheMs: cfg.API_KEY_CACHE_MS,
    ...(cfg.JWT_JWKS_URL
      ? { jwt: { jwksUrl: cfg.JWT_JWKS_URL, issuer: cfg.JWT_ISSUER, audience: cfg.JWT_AUDIENCE, roleClaim: cfg.JWT_ROLE_CLAIM, subgraphsClaim: cfg.JWT_SUBGRAPHS_CLAIM } }
      : {}),
    rateLimits: cfg.RATE_LIMITS,
    ...(cfg.REDIS_URL ? { redisUrl: cfg.REDIS_URL } : {}),
    operationLimits: resolveLimits(cfg.OPERATION_LIMITS),
    persistedQueries: cfg.PERSISTED_QUERIES,
    defaultPageSize: cfg.PAGE_SIZE_DEFAULT,
    ...(cfg.GATEWAY_SIGNING_SECRET ? { gatewaySecret: cfg.GATEWAY_SIGNING_SECRET } : {}),
    executor: cfg.GATEWAY_EXECUTOR,
    subscriptions: { perConnection: cfg.SUBSCRIPTIONS_PER_CONNECTION, perKey: cfg.SUBSCRIPTIONS_PER_KEY },
  };
}

const REQUEST_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;

/** Error codes a client can act on: shown as they are even in production. */
const CLIENT_CODES = new Set([
  'BAD_USER_INPUT',
  'BAD_REQUEST',
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
  'NOT_FOUND',
  'INVALID_CURSOR',
  'PAGE_SIZE_OUT_OF_RANGE',
  'SUBGRAPH_UNAVAILABLE',
  'SUBGRAPH_TIMEOUT',
  'SUBGRAPH_CIRCUIT_OPEN',
  'SUBGRAPH_BAD_RESPONSE',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'SUBGRAPH_NOT_SUBSCRIBED',
  'OPERATION_LIMIT_EXCEEDED',
  'PERSISTED_QUERY_NOT_IN_LIST',
  'RATE_LIMITED',
  'VERSION_CONFLICT',
  'KEY_EXISTS',
  'ALREADY_EXISTS',
  'CONTRADICTS_PUBLISHED_FACT',
  'SUBSCRIPTION_LIMIT_EXCEEDED',
  'NOT_READY',
  'SLOW_CONSUMER',
  'EVENT_BUS_UNAVAILABLE',
]);

/** Apollo Server's APQ protocol errors (HTTP 400) come without a code: they are the client's mistakes. */
const APQ_CLIENT_ERRORS = /^(provided sha does not match query|Unsupported persisted query version)$/;

function withClientCode(formatted: GraphQLFormattedError): GraphQLFormattedError {
  const code = formatted.extensions?.code;
  if ((code === undefined || code === 'INTERNAL_SERVER_ERROR') && APQ_CLIENT_ERRORS.test(formatted.message)) {
    return { ...formatted, extensions: { ...formatted.extensions, code: 'BAD_REQUEST' } };
  }
  return formatted;
}

/** In production, anything that is not a client-actionable error loses its message and internals. */
export function maskError(formatted: GraphQLFormattedError, production: boolean): GraphQLFormattedError {
  if (!production) return formatted;
  const code = typeof formatted.extensions?.code === 'string' ? formatted.extensions.code : 'INTERNAL_SERVER_ERROR';
  const serviceName = formatted.extensions?.serviceName;
  if (CLIENT_CODES.has(code)) {
    // `response` (a failed subgraph's URL and body) is internal detail too.
    const { stacktrace: _s, exception: _e, response: _r, ...extensions } = (formatted.extensions ?? {}) as Record<string, unknown>;
    return { ...formatted, extensions };
  }
  return {
    message: 'Internal server error',
    ...(formatted.path ? { path: formatted.path } : {}),
    extensions: { code: 'INTERNAL_SERVER_ERROR', ...(serviceName ? { serviceName } : {}) },
  };
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function httpError(res: ServerResponse, status: number, code: string, message: string): void {
  json(res, status, { errors: [{ message, extensions: { code } }] });
}

class BodyTooLarge extends Error {}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) throw new BodyTooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new BodyTooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

const gzip = promisify(zlib.gzip);
const brotli = promisify(zlib.brotliCompress);

/** Compresses bodies worth it for clients that accept it (br, then gzip). */
async function send(req: IncomingMessage, res: ServerResponse, status: number, headers: Record<string, string>, body: string): Promise<void> {
  const accept = String(req.headers['accept-encoding'] ?? '');
  let payload: Buffer | string = body;
  if (Buffer.byteLength(body) >= 1024) {
    if (/\bbr\b/.test(accept)) {
      payload = await brotli(body, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 4 } });
      headers['content-encoding'] = 'br';
    } else if (/\bgzip\b/.test(accept)) {
      payload = await gzip(body, { level: 6 });
      headers['content-encoding'] = 'gzip';
    }
    headers.vary = headers.vary ? `${headers.vary}, Accept-Encoding` : 'Accept-Encoding';
  }
  headers['content-length'] = String(Buffer.byteLength(payload));
  res.writeHead(status, headers);
  res.end(payload);
}

function corsHeaders(req: IncomingMessage, origins: string): Record<string, string> {
  const origin = req.headers.origin;
  if (!origin || origins.trim() === '') return {};
  if (origins.trim() === '*') return { 'access-control-allow-origin': '*' };
  const allowed = origins.split(',').map((o) => o.trim());
  return allowed.includes(origin) ? { 'access-control-allow-origin': origin, vary: 'Origin' } : {};
}

export async function startGateway(opts: GatewayOptions & { port: number; host: string }): Promise<RunningGateway> {
  // @apollo/gateway otherwise sends usage metrics to Apollo and, to label them, probes the cloud
  // metadata addresses of AWS, GCP, Azure and Alibaba (169.254.169.254): unwanted on a public
  // administration network, and seen failing here. Opt in with APOLLO_TELEMETRY_DISABLED=false.
  process.env.APOLLO_TELEMETRY_DISABLED ??= 'true';
  const production = opts.production ?? process.env.NODE_ENV === 'production';
  const log = opts.logger ?? pino({ level: 'silent' });
  const metrics = createMetrics();
  const hooks: DataSourceHooks = {
    onFetch: (subgraph, seconds, outcome) => metrics.subgraphFetch(subgraph, seconds, outcome),
    onCircuitState: (subgraph, state) => {
      metrics.circuitState(subgraph, state);
      log.warn({ subgraph, state }, 'circuit state changed');
    },
    ...(opts.onSubgraphRequest ? { onRequest: opts.onSubgraphRequest } : {}),
  };
  const manager = supergraphManager(opts.supergraph, log);
  const sign = opts.gatewaySecret ? createSigner(opts.gatewaySecret) : undefined;
  /** The gateway itself (readiness probes). */
  const probeCaller: Caller = { sub: 'gateway', role: 'anonymous', read: [], write: [] };
  /** This gateway's connections to the subgraphs, closed when it stops. */
  const pools = new SubgraphPools();
  const gateway = new ApolloGateway({
    supergraphSdl: manager,
    // Refuse an invalid supergraph in every environment (stock skips validation in production).
    validateSupergraph: true,
    queryPlannerConfig: {
      cache: metrics.wrapQueryPlanCache(new InMemoryLRUCache<QueryPlan>()),
    },
    buildService: ({ name, url }) => {
      const target = opts.urlOverrides?.[name] ?? url;
      if (!target) throw new Error(`subgraph ${name} has no URL in the supergraph and no override`);
      return new SubgraphDataSource({
        name,
        url: target,
        pools,
        timeoutMs: opts.subgraphTimeouts?.[name] ?? opts.timeoutMs ?? 30_000,
        circuit: opts.circuit ?? { failureThreshold: 5, resetMs: 5000 },
        dedupe: opts.dedupe ?? true,
        hooks,
        ...(sign ? { sign } : {}),
      });
    },
  });
  if ((opts.executor ?? 'lean') === 'lean') useLeanExecutor(gateway);
  // Access: keys and trusted documents in the gateway's own database, contracts per supergraph.
  const keys = opts.accessDb
    ? new KeyStore(opts.accessDb, { cacheMs: opts.keyCacheMs ?? 5000, knownSubgraphs: () => contracts?.subgraphs ?? [] })
    : undefined;
  const documents = opts.accessDb ? new DocumentStore(opts.accessDb, opts.keyCacheMs ?? 5000) : undefined;
  await keys?.init();
  await documents?.init();
  const identify = createIdentify({ keys, jwt: opts.jwt, anonymousScope: opts.anonymousScope ?? '*' });
  const limiter: RateLimiter | undefined = opts.rateLimits
    ? createRateLimiter({ limits: opts.rateLimits, ...(opts.redisUrl ? { redisUrl: opts.redisUrl } : {}), log })
    : undefined;
  const anonymousIntrospection = opts.introspection ?? !production;
  const operationLimits = opts.operationLimits ?? DEFAULT_LIMITS;
  let contracts: Contracts | undefined;
  gateway.onSchemaLoadOrUpdate(({ apiSchema, coreSupergraphSdl }) => {
    contracts = new Contracts(apiSchema, coreSupergraphSdl);
  });

  const apollo = new ApolloServer<GatewayContext>({
    gateway,
    includeStacktraceInErrorResponses: !production,
    hideSchemaDetailsFromClientErrors: production,
    // Introspection is decided per caller by the access plugin (and answered from the caller's view).
    introspection: true,
    ...(opts.persistedQueries === false ? { persistedQueries: false as const } : {}),
    // A document larger than any role may send is not even parsed (each role's own limit is checked after).
    parseOptions: { maxTokens: Math.max(...Object.values(operationLimits).map((l) => l.maxTokens)) },
    formatError: (formatted) => maskError(withClientCode(formatted), production),
    // Apollo's default landing page loads Sandbox from a CDN, which a closed network cannot reach.
    plugins: [
      ApolloServerPluginLandingPageDisabled(),
      metrics.plugin,
      accessPlugin({
        contracts: () => contracts,
        introspection: (caller) => (caller.role === 'anonymous' ? anonymousIntrospection : caller.role !== 'frontend'),
      }),
      operationLimitsPlugin((ctx) => operationLimits[ctx.caller.role], { defaultPageSize: opts.defaultPageSize ?? 20 }),
      httpSubscriptionsPlugin(),
      ...(opts.plugins ?? []),
    ],
  });
  await apollo.start();
  const subscriptions = createSubscriptionServer(
    {
      gateway,
      identify,
      contracts: () => contracts,
      limits: (caller) => operationLimits[caller.role],
      defaultPageSize: opts.defaultPageSize ?? 20,
      maxTokens: Math.max(...Object.values(operationLimits).map((l) => l.maxTokens)),
      sign,
      executeOperation: async (request, contextValue) => {
        const r = await apollo.executeOperation<Record<string, unknown>>(request, { contextValue });
        if (r.body.kind !== 'single') throw new Error('incremental delivery is not supported over subscription transports');
        return r.body.singleResult;
      },
      rateLimit: limiter ? (caller, ip) => limiter.consume(rateLimitKey(caller, ip), caller.role) : undefined,
      quotaKey: rateLimitKey,
      trusted: documents ? (app, body) => resolveTrusted(documents, app, body) : undefined,
      formatError: (formatted) => maskError(withClientCode(formatted), production),
      bodyLimitBytes: opts.bodyLimitBytes ?? 1_048_576,
      log,
    },
    opts.subscriptions,
  );
  metrics.watchSubscriptions(() => subscriptions.stats());

  const subgraphUrls = () => {
    const s = manager.state();
    return s.phase === 'loaded' ? s.subgraphs.map((g) => ({ name: g.name, url: opts.urlOverrides?.[g.name] ?? g.url })) : [];
  };

  let inFlight = 0;
  let draining = false;
  const idle: (() => void)[] = [];

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    const incomingId = req.headers[REQUEST_ID_HEADER];
    const requestId = typeof incomingId === 'string' && REQUEST_ID_RE.test(incomingId) ? incomingId : randomUUID();
    const reqLog = log.child({ requestId });
    res.setHeader(REQUEST_ID_HEADER, requestId);
    const cors = corsHeaders(req, opts.corsOrigins ?? '*');
    for (const [k, v] of Object.entries(cors)) res.setHeader(k, v);
    const url = new URL(req.url ?? '/', 'http://gateway');
    res.on('finish', () => {
      reqLog.info(
        { method: req.method, path: url.pathname, status: res.statusCode, ms: Number(process.hrtime.bigint() - started) / 1e6 },
        'request',
      );
    });
    if (draining) {
      res.setHeader('connection', 'close');
      return httpError(res, 503, 'SHUTTING_DOWN', 'The gateway is shutting down');
    }
    if (req.method === 'OPTIONS') {
      res.writeHead(204, {
        'access-control-allow-methods': 'GET, POST, OPTIONS',
        'access-control-allow-headers': 'content-type, authorization, x-api-key, x-request-id, apollo-require-preflight',
        'access-control-max-age': '600',
      });
      return void res.end();
    }
    switch (url.pathname) {
      case '/health': {
        const s = manager.state();
        return s.phase === 'loaded'
          ? json(res, 200, { status: 'ok', subgraphs: s.subgraphs.map((g) => g.name), loadedAt: s.loadedAt, swaps: s.swaps })
          : json(res, 503, { status: s.phase });
      }
      case '/ready':
        return ready(res);
      case '/metrics': {
        const { contentType, body } = await metrics.render();
        res.writeHead(200, { 'content-type': contentType });
        return void res.end(body);
      }
      case '/graphql':
        if (subscriptions.wantsEventStream(req)) return subscriptions.sse(req, res, requestId, reqLog);
        return graphql(req, res, url, requestId, reqLog);
      case '/admin/graphql':
        return admin(req, res, requestId);
      default:
        if (url.pathname.startsWith('/analytics/')) {
          const admitted = await admit(req, res);
          if (!admitted) return;
          const execute: Execute = async (query, variables) => {
            const r = await apollo.executeOperation<Record<string, unknown>>(
              { query, ...(variables ? { variables } : {}) },
              { contextValue: { requestId, caller: admitted.caller, log: reqLog } },
            );
            if (r.body.kind !== 'single') throw new Error('incremental delivery is not supported for exports');
            return { data: r.body.singleResult.data ?? null, ...(r.body.singleResult.errors ? { errors: r.body.singleResult.errors } : {}) };
          };
          return handleExport(req, res, url, execute);
        }
        if (await serveUi(req, res, url.pathname)) return;
        return httpError(res, 404, 'NOT_FOUND', `No route ${url.pathname}; GraphQL is at /graphql`);
    }
  }

  async function ready(res: ServerResponse): Promise<void> {
    const subgraphs = subgraphUrls();
    if (subgraphs.length === 0) return json(res, 503, { status: 'no supergraph loaded' });
    const checks = await Promise.all(
      subgraphs.map(async ({ name, url }) => {
        try {
          const r = await undiciRequest(url, {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...(sign ? { [GATEWAY_TOKEN_HEADER]: await sign(probeCaller, name) } : {}) },
            body: '{"query":"{ __typename }"}',
            headersTimeout: 2000,
            bodyTimeout: 2000,
          });
          const body = (await r.body.json()) as { data?: { __typename?: string } };
          return { name, ok: r.statusCode === 200 && body.data?.__typename === 'Query' };
        } catch {
          return { name, ok: false };
        }
      }),
    );
    const ok = checks.every((c) => c.ok);
    json(res, ok ? 200 : 503, { status: ok ? 'ready' : 'degraded', subgraphs: Object.fromEntries(checks.map((c) => [c.name, c.ok ? 'up' : 'down'])) });
  }

  /**
   * Identifies the caller and spends one request of its rate-limit budget; answers 401 or 429
   * itself (and returns undefined) when the request may not go on.
   */
  async function admit(req: IncomingMessage, res: ServerResponse): Promise<{ caller: Caller; documents: string | null } | undefined> {
    const who = await identify(req.headers);
    const ip = req.socket.remoteAddress;
    // A failed credential spends the address's anonymous budget: guessing keys is rate limited too.
    const caller = who.ok ? who.caller : ANONYMOUS;
    if (limiter) {
      const decision = await limiter.consume(rateLimitKey(caller, ip), caller.role);
      if (!decision.allowed) {
        res.setHeader('retry-after', String(decision.retryAfterSeconds));
        res.setHeader('ratelimit-limit', String(decision.limit));
        res.setHeader('ratelimit-remaining', '0');
        res.setHeader('ratelimit-reset', String(decision.retryAfterSeconds));
        httpError(res, 429, 'RATE_LIMITED', `Rate limit of ${decision.limit} requests reached for this ${caller.role === 'anonymous' ? 'address' : 'key'}; retry in ${decision.retryAfterSeconds} s`);
        return undefined;
      }
      if (Number.isFinite(decision.limit)) {
        res.setHeader('ratelimit-limit', String(decision.limit));
        res.setHeader('ratelimit-remaining', String(decision.remaining));
        res.setHeader('ratelimit-reset', String(decision.resetSeconds));
      }
    }
    if (!who.ok) {
      res.setHeader('www-authenticate', 'Bearer realm="ali-graph"');
      httpError(res, 401, AccessCode.UNAUTHENTICATED, who.message);
      return undefined;
    }
    return { caller: who.caller, documents: who.documents };
  }

  async function admin(req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
    const admitted = await admit(req, res);
    if (!admitted) return;
    if (!keys || !documents) return httpError(res, 404, 'NOT_FOUND', 'This gateway has no key store (no database configured)');
    if (admitted.caller.role !== 'admin') {
      return httpError(res, admitted.caller.role === 'anonymous' ? 401 : 403, admitted.caller.role === 'anonymous' ? AccessCode.UNAUTHENTICATED : AccessCode.FORBIDDEN, 'Key management needs an admin key');
    }
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      return httpError(res, 405, 'METHOD_NOT_ALLOWED', 'Use POST');
    }
    let body: Record<string, unknown>;
    try {
      body = JSON.parse((await readBody(req, opts.bodyLimitBytes ?? 1_048_576)).toString('utf8')) as Record<string, unknown>;
    } catch (err) {
      if (err instanceof BodyTooLarge) return httpError(res, 413, 'PAYLOAD_TOO_LARGE', 'Request body too large');
      return httpError(res, 400, 'BAD_REQUEST', 'The request body is not valid JSON');
    }
    const result = await runAdmin(keys, documents, admitted.caller, body);
    log.info({ requestId, admin: admitted.caller.sub, operation: body['operationName'] ?? null, ok: !result.errors }, 'admin operation');
    return json(res, 200, { ...(result.data !== undefined ? { data: result.data } : {}), ...(result.errors ? { errors: result.errors.map((e) => e.toJSON()) } : {}) });
  }

  async function graphql(req: IncomingMessage, res: ServerResponse, url: URL, requestId: string, reqLog: Logger): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'POST') {
      res.setHeader('allow', 'GET, POST, OPTIONS');
      return httpError(res, 405, 'METHOD_NOT_ALLOWED', 'Use GET or POST');
    }
    const admitted = await admit(req, res);
    if (!admitted) return;
    const { caller } = admitted;
    let body: unknown;
    if (req.method === 'POST') {
      let raw: Buffer;
      try {
        raw = await readBody(req, opts.bodyLimitBytes ?? 1_048_576);
      } catch (err) {
        if (err instanceof BodyTooLarge) {
          res.setHeader('connection', 'close');
          return httpError(res, 413, 'PAYLOAD_TOO_LARGE', `Request body larger than ${opts.bodyLimitBytes ?? 1_048_576} bytes`);
        }
        throw err;
      }
      const type = String(req.headers['content-type'] ?? '');
      if (type.startsWith('application/json') || type.startsWith('application/graphql-response+json')) {
        try {
          body = raw.length === 0 ? {} : JSON.parse(raw.toString('utf8'));
        } catch {
          return httpError(res, 400, 'BAD_REQUEST', 'The request body is not valid JSON');
        }
      } else {
        body = raw.toString('utf8');
      }
    }
    let search = url.search;
    if (admitted.documents !== null && documents) {
      // A trusted-documents key: only the operations registered for its app.
      const fromGet = (): Record<string, unknown> => {
        const out: Record<string, unknown> = {};
        for (const [k, v] of url.searchParams) {
          try {
            out[k] = k === 'variables' || k === 'extensions' ? JSON.parse(v) : v;
          } catch {
            out[k] = v;
          }
        }
        return out;
      };
      const requested = req.method === 'GET' ? fromGet() : typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
      const trusted = await resolveTrusted(documents, admitted.documents, requested);
      if (!trusted.ok) return httpError(res, 403, DocumentCode.PERSISTED_QUERY_NOT_IN_LIST, trusted.message);
      if (req.method === 'GET') {
        const params = new URLSearchParams();
        for (const [k, v] of Object.entries(trusted.body)) {
          if (v === undefined || (k === 'extensions' && Object.keys(v as object).length === 0)) continue;
          params.set(k, typeof v === 'string' ? v : JSON.stringify(v));
        }
        search = `?${params.toString()}`;
      } else {
        body = trusted.body;
      }
    }
    const headers = new HeaderMap();
    for (const [key, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
    }
    const result = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: req.method, headers, search, body },
      context: async () => ({ requestId, caller, log: reqLog }),
    });
    const out: Record<string, string> = {};
    for (const [k, v] of result.headers) out[k] = v;
    if (result.body.kind === 'complete') return send(req, res, result.status ?? 200, out, result.body.string);
    res.writeHead(result.status ?? 200, out);
    for await (const chunk of result.body.asyncIterator) res.write(chunk);
    res.end();
  }

  const server = http.createServer((req, res) => {
    inFlight++;
    res.once('close', () => {
      inFlight--;
      if (inFlight === 0) for (const done of idle.splice(0)) done();
    });
    handle(req, res).catch((err: unknown) => {
      log.error({ err }, 'unhandled gateway error');
      if (!res.headersSent) httpError(res, 500, 'INTERNAL_SERVER_ERROR', 'Internal server error');
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 5000;
  server.on('upgrade', (req, socket, head) => subscriptions.upgrade(req, socket, head));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const shownHost = opts.host === '0.0.0.0' || opts.host === '::' ? 'localhost' : opts.host;

  let stopped: Promise<void> | undefined;
  return {
    url: `http://${shownHost}:${port}/`,
    port,
    metrics,
    supergraph: manager,
    subscriptions: { stats: () => subscriptions.stats() },
    stop: (graceMs = 10_000) =>
      (stopped ??= (async () => {
        draining = true;
        await subscriptions.close();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        if (inFlight > 0) {
          await Promise.race([new Promise<void>((resolve) => idle.push(resolve)), new Promise((r) => setTimeout(r, graceMs).unref())]);
        }
        server.closeAllConnections();
        await closed;
        await apollo.stop();
        await limiter?.close();
        await pools.close();
        metrics.stop();
      })()),
  };
}
