/**
 * The gateway's options: what `startGateway` takes (every field optional but the supergraph),
 * how they come from configuration, and the same options with every default filled, which is
 * what the rest of the gateway reads. Defaults come from lib/config.ts's spec, so each is
 * written once.
 */
import type { ApolloServerPlugin } from '@apollo/server';
import type { Db } from 'mongodb';
import { pino, type Logger } from 'pino';
import type { Role, Scope } from '../lib/access.ts';
import { configDefault, ConfigError, type Config } from '../lib/config.ts';
import type { HeaderRules } from '../lib/configFormats.ts';
import type { JwtOptions } from './access/callers.ts';
import type { GatewayContext } from './context.ts';
import { resolveCacheMode, type CacheMode } from './cache/index.ts';
import type { Execution, ExecutorKind } from './executor/index.ts';
import { DEFAULT_OPERATION_LIMITS, resolveExecutionLimits, resolveOperationLimits, type ExecutionLimits, type OperationLimits } from './operationLimits.ts';
import { resolveSubscriptionOptions, type ResolvedSubscriptionOptions, type SubscriptionOptions } from './subscriptions/index.ts';
import type { SupergraphSource } from './supergraph.ts';
import { resolveWebhookOptions, type ResolvedWebhookOptions, type WebhookOptions } from './webhooks/service.ts';

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
  /** `*`, a comma-separated list of origins, or `none` (or '') for no CORS (default `*`; `none` in production). */
  readonly corsOrigins?: string;
  /**
   * Where /metrics is served: `'gateway'` (this port, to the callers `metricsAccess` allows) or a
   * port of its own serving nothing else (0: any free one). Default `'gateway'`; 9464 in production.
   */
  readonly metricsPort?: number | 'gateway';
  /** Who may read /metrics on the gateway's port: `open` or `admin` keys only (default `open`; `admin` in production). */
  readonly metricsAccess?: 'open' | 'admin';
  /**
   * Introspection for anonymous callers (default: on unless production). Keys with the analyst,
   * partner, editor or admin role always have it, filtered by their scope; frontend keys never.
   */
  readonly introspection?: boolean;
  /** The gateway's own database (API keys, trusted documents); unset: no keys, anonymous access only. */
  readonly accessDb?: Db;
  /** What callers without credentials may read (default every subgraph; required in production). */
  readonly anonymousScope?: Scope | undefined;
  /**
   * Subgraphs callers without credentials may write to (ANONYMOUS_WRITE_SCOPE); default none. Only
   * for a supergraph whose subgraphs authorise writes themselves.
   */
  readonly anonymousWriteScope?: readonly string[] | undefined;
  /** Which client headers reach which subgraph (HEADER_RULES, gateway/transport/headerRules.ts); default none. */
  readonly headerRules?: HeaderRules | undefined;
  /** How long a verified key is cached (default 5 s): a revoked key stops working within it. */
  readonly keyCacheMs?: number;
  /** Accept JWTs from an identity provider (its JWKS), mapped to roles. */
  readonly jwt?: JwtOptions;
  /** Requests per window per role (RATE_LIMITS); null or unset: no rate limiting. */
  readonly rateLimits?: Config['RATE_LIMITS'];
  /** Shares rate-limit budgets between gateway instances. */
  readonly redisUrl?: string;
  /** Per-role operation limits (default DEFAULT_OPERATION_LIMITS). */
  readonly operationLimits?: Readonly<Record<Role, OperationLimits>>;
  /** Per-role ceilings on response size and time during execution: any roles and values, the rest DEFAULT_EXECUTION_LIMITS. */
  readonly executionLimits?: Readonly<Partial<Record<Role, Partial<ExecutionLimits>>>>;
  /** Items the cost estimate assumes for a list field whose schema declares no size (default 20). */
  readonly listSizeDefault?: number;
  /** Automatic Persisted Queries (default true). */
  readonly persistedQueries?: boolean;
  /** Page size the subgraphs use, and the cost estimate assumes, when `first` is absent (PAGE_SIZE_DEFAULT, default 100). */
  readonly defaultPageSize?: number;
  /** Largest request body in bytes (default 1 MiB). */
  readonly bodyLimitBytes?: number;
  readonly logger?: Logger;
  readonly plugins?: ApolloServerPlugin<GatewayContext>[];
  /** Called for every request the gateway sends to a subgraph (tests and logs). */
  readonly onSubgraphRequest?: (subgraph: string, query: string, variables: Record<string, unknown> | undefined) => void;
  /** GATEWAY_SIGNING_SECRET: signs every subgraph request's caller; unset: no header (subgraphs that do not check it). */
  readonly gatewaySecret?: string;
  /** GATEWAY_TOKEN_TTL_SECONDS: lifetime of a signed token (default 60 s); subscriptions renew theirs before it ends. */
  readonly gatewayTokenTtlSeconds?: number;
  /** GATEWAY_EXECUTOR: who executes Apollo's query plans, the lean executor (gateway/executor/, default) or stock @apollo/gateway. */
  readonly executor?: ExecutorKind;
  /** GATEWAY_CONCURRENT_OPERATIONS: operations executed at once before others wait (gateway/pipeline/executions.ts); 0: no limit. Default 8. */
  readonly concurrentOperations?: number;
  /**
   * With the lean executor, called for every operation it executes: which executor ran it and why
   * stock did, by request id (the differential tests read it to know what they compared).
   */
  readonly onExecute?: (execution: Execution & { readonly requestId: string }) => void;
  /**
   * GLOBAL_OBJECT_IDS: Global Object Identification (`Node`, `Query.node(id:)`, `nodes(ids:)`,
   * `nodeId` on every entity), composed onto whatever supergraph is served (gateway/node/). Default true.
   */
  readonly globalObjectIds?: boolean;
  /** Subscriptions over graphql-ws and SSE on /graphql: limits, keep-alive, slow consumers, subgraph reconnection (gateway/subscriptions/). */
  readonly subscriptions?: SubscriptionOptions;
  /** Webhook deliveries (gateway/webhooks/): retries, disabling, timeouts; they run on a gateway with `accessDb`. */
  readonly webhooks?: WebhookOptions;
  /**
   * The fetch and response caches (gateway/cache/): `memory`, `redis` (over `redisUrl`, shared by
   * every gateway) or `off`. Default `off` here; CACHE (lib/config.ts) turns it on for `npm start`.
   */
  readonly cache?: CacheMode;
  /** CACHE_MAX_BYTES: bytes of cache entries this process keeps (default 64 MiB). */
  readonly cacheMaxBytes?: number;
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
    metricsPort: cfg.METRICS_PORT,
    metricsAccess: cfg.METRICS_ACCESS,
    bodyLimitBytes: cfg.BODY_LIMIT_BYTES,
    introspection: cfg.GRAPHQL_INTROSPECTION === 'auto' ? cfg.NODE_ENV !== 'production' : cfg.GRAPHQL_INTROSPECTION === 'true',
    anonymousScope: cfg.ANONYMOUS_SCOPE,
    anonymousWriteScope: cfg.ANONYMOUS_WRITE_SCOPE as string[],
    headerRules: cfg.HEADER_RULES,
    keyCacheMs: cfg.API_KEY_CACHE_MS,
    ...(cfg.JWT_JWKS_URL
      ? { jwt: { jwksUrl: cfg.JWT_JWKS_URL, issuer: cfg.JWT_ISSUER, audience: cfg.JWT_AUDIENCE, roleClaim: cfg.JWT_ROLE_CLAIM, subgraphsClaim: cfg.JWT_SUBGRAPHS_CLAIM } }
      : {}),
    rateLimits: cfg.RATE_LIMITS,
    ...(cfg.REDIS_URL ? { redisUrl: cfg.REDIS_URL } : {}),
    operationLimits: resolveOperationLimits(cfg.OPERATION_LIMITS),
    executionLimits: cfg.EXECUTION_LIMITS,
    listSizeDefault: cfg.LIST_SIZE_DEFAULT,
    persistedQueries: cfg.PERSISTED_QUERIES,
    defaultPageSize: cfg.PAGE_SIZE_DEFAULT,
    ...(cfg.GATEWAY_SIGNING_SECRET ? { gatewaySecret: cfg.GATEWAY_SIGNING_SECRET } : {}),
    gatewayTokenTtlSeconds: cfg.GATEWAY_TOKEN_TTL_SECONDS,
    executor: cfg.GATEWAY_EXECUTOR,
    concurrentOperations: cfg.GATEWAY_CONCURRENT_OPERATIONS,
    cache: resolveCacheMode(cfg.CACHE, cfg.REDIS_URL, cfg.NODE_ENV === 'production'),
    cacheMaxBytes: cfg.CACHE_MAX_BYTES,
    globalObjectIds: cfg.GLOBAL_OBJECT_IDS,
    subscriptions: { perConnection: cfg.SUBSCRIPTIONS_PER_CONNECTION, perKey: cfg.SUBSCRIPTIONS_PER_KEY },
    webhooks: {
      retryPeriodMs: cfg.WEBHOOK_RETRY_HOURS * 3_600_000,
      disableAfterMs: cfg.WEBHOOK_DISABLE_AFTER_HOURS * 3_600_000,
      timeoutMs: cfg.WEBHOOK_TIMEOUT_MS,
      logRetentionMs: cfg.EVENT_RETENTION_DAYS * 86_400_000,
    },
  };
}

/** Options that always have a value once resolved. */
type Defaulted =
  | 'production'
  | 'timeoutMs'
  | 'subgraphTimeouts'
  | 'circuit'
  | 'dedupe'
  | 'corsOrigins'
  | 'metricsPort'
  | 'metricsAccess'
  | 'gatewayTokenTtlSeconds'
  | 'introspection'
  | 'anonymousScope'
  | 'keyCacheMs'
  | 'operationLimits'
  | 'listSizeDefault'
  | 'persistedQueries'
  | 'defaultPageSize'
  | 'bodyLimitBytes'
  | 'logger'
  | 'plugins'
  | 'executor'
  | 'concurrentOperations'
  | 'globalObjectIds'
  | 'cache'
  | 'cacheMaxBytes';

/** {@link GatewayOptions} with every default filled: what the gateway's parts are built from. */
export type ResolvedGatewayOptions = Omit<GatewayOptions, Defaulted | 'subscriptions' | 'webhooks' | 'executionLimits'> & {
  readonly [K in Defaulted]-?: NonNullable<GatewayOptions[K]>;
} & {
  readonly subscriptions: ResolvedSubscriptionOptions;
  readonly webhooks: ResolvedWebhookOptions;
  readonly executionLimits: Readonly<Record<Role, ExecutionLimits>>;
};

/**
 * {@link GatewayOptions} with every default filled: the production defaults when `production`.
 * Throws {@link ConfigError} in production without `anonymousScope`: whether anonymous callers
 * read everything, some subgraphs or nothing is a decision, not a default.
 */
export function resolveGatewayOptions(opts: GatewayOptions): ResolvedGatewayOptions {
  const production = opts.production ?? process.env.NODE_ENV === 'production';
  if (production && opts.anonymousScope === undefined) {
    throw new ConfigError('ANONYMOUS_SCOPE must be set in production: none, * (every subgraph) or a list such as alliances,reuse');
  }
  return {
    ...opts,
    production,
    timeoutMs: opts.timeoutMs ?? configDefault('SUBGRAPH_TIMEOUT_MS'),
    subgraphTimeouts: opts.subgraphTimeouts ?? configDefault('SUBGRAPH_TIMEOUTS'),
    circuit: opts.circuit ?? { failureThreshold: configDefault('CIRCUIT_FAILURE_THRESHOLD'), resetMs: configDefault('CIRCUIT_RESET_MS') },
    dedupe: opts.dedupe ?? configDefault('DEDUPE_SUBGRAPH_QUERIES'),
    corsOrigins: opts.corsOrigins ?? configDefault('CORS_ORIGINS', production),
    metricsPort: opts.metricsPort ?? configDefault('METRICS_PORT', production),
    metricsAccess: opts.metricsAccess ?? configDefault('METRICS_ACCESS', production),
    gatewayTokenTtlSeconds: opts.gatewayTokenTtlSeconds ?? configDefault('GATEWAY_TOKEN_TTL_SECONDS'),
    introspection: opts.introspection ?? !production,
    anonymousScope: opts.anonymousScope ?? configDefault('ANONYMOUS_SCOPE')!,
    keyCacheMs: opts.keyCacheMs ?? configDefault('API_KEY_CACHE_MS'),
    operationLimits: opts.operationLimits ?? DEFAULT_OPERATION_LIMITS,
    executionLimits: resolveExecutionLimits(opts.executionLimits),
    listSizeDefault: opts.listSizeDefault ?? configDefault('LIST_SIZE_DEFAULT'),
    persistedQueries: opts.persistedQueries ?? configDefault('PERSISTED_QUERIES'),
    defaultPageSize: opts.defaultPageSize ?? configDefault('PAGE_SIZE_DEFAULT'),
    bodyLimitBytes: opts.bodyLimitBytes ?? configDefault('BODY_LIMIT_BYTES'),
    logger: opts.logger ?? pino({ level: 'silent' }),
    plugins: opts.plugins ?? [],
    executor: opts.executor ?? configDefault('GATEWAY_EXECUTOR'),
    concurrentOperations: opts.concurrentOperations ?? configDefault('GATEWAY_CONCURRENT_OPERATIONS'),
    globalObjectIds: opts.globalObjectIds ?? configDefault('GLOBAL_OBJECT_IDS'),
    cache: opts.cache ?? 'off',
    cacheMaxBytes: opts.cacheMaxBytes ?? configDefault('CACHE_MAX_BYTES'),
    subscriptions: resolveSubscriptionOptions(opts.subscriptions),
    webhooks: resolveWebhookOptions(opts.webhooks, production),
  };
}

/**
 * What an operator needs to see at start to know how this gateway will treat requests: the
 * executor and every limit in force, defaults included (logged once as `gateway limits in force`).
 * Secrets and URLs are left out.
 */
export function limitsInForce(opts: ResolvedGatewayOptions) {
  return {
    executor: opts.executor,
    concurrentOperations: opts.concurrentOperations || 'no limit',
    anonymousScope: opts.anonymousScope,
    anonymousWriteScope: opts.anonymousWriteScope ?? [],
    headerRules: {
      all: opts.headerRules?.all.length ?? 0,
      subgraphs: Object.fromEntries(Object.entries(opts.headerRules?.subgraphs ?? {}).map(([name, rules]) => [name, rules.length])),
    },
    introspection: opts.introspection,
    persistedQueries: opts.persistedQueries,
    rateLimits: opts.rateLimits ? { perRole: opts.rateLimits, shared: opts.redisUrl ? 'redis' : 'this process only' } : 'off',
    operationLimits: opts.operationLimits,
    executionLimits: opts.executionLimits,
    bodyLimitBytes: opts.bodyLimitBytes,
    subgraphTimeoutMs: opts.timeoutMs,
    subgraphTimeouts: opts.subgraphTimeouts,
    circuit: opts.circuit,
    subscriptions: { perConnection: opts.subscriptions.perConnection, perKey: opts.subscriptions.perKey },
  };
}
