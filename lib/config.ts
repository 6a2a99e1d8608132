/**
 * Configuration: every environment variable the system reads, with its default and a one-line
 * description, validated once at start-up. `.env.example` and docs/configuration.md mirror
 * {@link configSpec} (`npm run config:docs` writes both); `test/unit/config.test.ts` keeps them in sync.
 * Over 400 lines on purpose: the spec is one flat table, an entry per variable, read top to bottom;
 * the formats of the structured values live in ./configFormats.ts.
 */
import { z } from 'zod';
import { bool, executionLimits, headerRules, operationLimits, optionalUrl, port, rateLimits, scope, subgraphTimeouts } from './configFormats.ts';

export const SUBGRAPH_NAMES = ['alliances', 'governance', 'funding', 'reuse'] as const;
export type SubgraphName = (typeof SUBGRAPH_NAMES)[number];

/** Marks a variable the gateway requires an explicit value for in production (no default there). */
const REQUIRED_IN_PRODUCTION = Symbol('required in production');

interface VariableSpec {
  readonly schema: z.ZodType;
  readonly default?: string;
  /**
   * With NODE_ENV=production: the default in its place (a safe one where the development default
   * is merely convenient), or {@link REQUIRED_IN_PRODUCTION}: no default, the gateway refuses to
   * start until the variable is set.
   */
  readonly production?: string | typeof REQUIRED_IN_PRODUCTION;
  readonly description: string;
}

/** Every variable: its parser, default (as written in `.env.example`) and description. */
export const configSpec = {
  NODE_ENV: {
    schema: z.enum(['development', 'production', 'test']),
    default: 'development',
    description: 'development | production | test',
  },
  HOST: {
    schema: z.string().min(1),
    default: '127.0.0.1',
    description: 'Interface every service listens on (0.0.0.0 in containers)',
  },
  GATEWAY_PORT: { schema: port, default: '4000', description: 'Gateway HTTP port (GraphQL at /graphql)' },
  ALLIANCES_PORT: { schema: port, default: '4001', description: 'alliances subgraph port' },
  GOVERNANCE_PORT: { schema: port, default: '4002', description: 'governance subgraph port' },
  FUNDING_PORT: { schema: port, default: '4003', description: 'funding subgraph port' },
  REUSE_PORT: { schema: port, default: '4004', description: 'reuse subgraph port' },
  MONGODB_URI: {
    schema: optionalUrl,
    description:
      'MongoDB (6+) or FerretDB connection string; unset: npm start runs an embedded FerretDB',
  },
  MONGODB_DB_PREFIX: {
    schema: z.string().regex(/^[A-Za-z0-9_-]{1,40}$/),
    default: 'ali',
    description: 'Database name prefix: each subgraph uses <prefix>_<subgraph>',
  },
  DATA_DIR: {
    schema: z.string().min(1),
    default: '.data',
    description: 'Folder for the embedded database files (kept across restarts)',
  },
  FERRETDB_BIN: {
    schema: optionalUrl,
    description: 'Path of a ferretdb binary; unset: PATH, then a build cached in .cache/ferretdb',
  },
  SEED_ON_START: {
    schema: bool,
    default: 'true',
    description: 'Seed a subgraph database on start when it is empty',
  },
  PAGE_SIZE_DEFAULT: {
    schema: z.coerce.number().int().min(1),
    default: '100',
    description: 'Page size of a connection when `first` is not given (the cost estimate assumes it too): a page of a list view, and the largest ALI (Torino) in 3 requests (docs/frontend.md)',
  },
  PAGE_SIZE_MAX: {
    schema: z.coerce.number().int().min(1),
    default: '500',
    description: 'Largest accepted `first`; above it the field fails with PAGE_SIZE_OUT_OF_RANGE',
  },
  SUPERGRAPH_PATH: {
    schema: z.string().min(1),
    default: 'schema/supergraph.graphql',
    description: 'Composed supergraph the gateway serves',
  },
  SUBGRAPH_ALLIANCES_URL: { schema: optionalUrl, description: 'Override the alliances URL of the supergraph; several instances: their URLs, comma-separated' },
  SUBGRAPH_GOVERNANCE_URL: { schema: optionalUrl, description: 'Override the governance URL of the supergraph; several instances: their URLs, comma-separated' },
  SUBGRAPH_FUNDING_URL: { schema: optionalUrl, description: 'Override the funding URL of the supergraph; several instances: their URLs, comma-separated' },
  SUBGRAPH_REUSE_URL: { schema: optionalUrl, description: 'Override the reuse URL of the supergraph; several instances: their URLs, comma-separated' },
  SUPERGRAPH_WATCH: {
    schema: bool,
    default: 'true',
    description: 'Watch SUPERGRAPH_PATH and swap in a valid new supergraph without a restart',
  },
  GRAPHQL_INTROSPECTION: {
    schema: z.enum(['auto', 'true', 'false']),
    default: 'auto',
    description:
      'Introspection for anonymous callers: auto = on in development, off in production (keys with the analyst, partner, editor or admin role always have it, filtered by their scope)',
  },
  GATEWAY_SIGNING_SECRET: {
    schema: z
      .string()
      .optional()
      .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()))
      .pipe(z.string().min(32, 'at least 32 characters').optional()),
    description:
      'Shared secret (32+ characters) the gateway signs its subgraph requests with and every subgraph verifies; npm start makes a random one when unset, a subgraph run alone requires it',
  },
  GATEWAY_SIGNING_SECRET_PREVIOUS: {
    schema: z
      .string()
      .optional()
      .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()))
      .pipe(z.string().min(32, 'at least 32 characters').optional()),
    description:
      'Subgraphs only, while the signing secret is rotated: the secret being replaced, whose tokens are still accepted (docs/deployment.md); unset otherwise',
  },
  ANONYMOUS_SCOPE: {
    schema: scope.optional(),
    default: '*',
    production: REQUIRED_IN_PRODUCTION,
    description:
      'Subgraphs callers without a key may read: * (all), none, or a list such as alliances,reuse; in production the gateway refuses to start until it is set',
  },
  ANONYMOUS_WRITE_SCOPE: {
    schema: scope.refine((v): v is string[] => v !== '*', 'name the subgraphs (no *)'),
    default: 'none',
    description:
      'Subgraphs callers without a key may write to: none (the default) or a list such as reviews,accounts; only for a supergraph whose subgraphs authorise writes themselves (from headers HEADER_RULES forwards)',
  },
  HEADER_RULES: {
    schema: headerRules,
    default: '',
    description:
      'JSON: which client headers reach which subgraph, as Apollo Router\'s headers configuration: {"all":[{"propagate":{"named":"x-user-token"}}],"subgraphs":{"reviews":[{"insert":{"name":"x-source","value":"gateway"}}]}}; rules propagate (named, with rename and default, or matching), insert, remove; empty: no client header is forwarded (docs/operations.md)',
  },
  API_KEY_CACHE_MS: {
    schema: z.coerce.number().int().min(0),
    default: '5000',
    description: 'How long a verified API key is cached; a revoked or expired key stops working within this time',
  },
  JWT_JWKS_URL: {
    schema: optionalUrl,
    description: "JWKS URL of an identity provider whose JWTs (Authorization: Bearer) the gateway accepts; unset: JWTs are refused",
  },
  JWT_ISSUER: { schema: optionalUrl, description: 'Required `iss` of accepted JWTs' },
  JWT_AUDIENCE: { schema: optionalUrl, description: 'Required `aud` of accepted JWTs' },
  JWT_ROLE_CLAIM: {
    schema: z.string().min(1),
    default: 'ali_role',
    description: 'JWT claim holding the role (one of the roles; admin is never granted by a JWT)',
  },
  JWT_SUBGRAPHS_CLAIM: {
    schema: z.string().min(1),
    default: 'ali_subgraphs',
    description: 'JWT claim holding the subgraphs a partner or editor is scoped to (array or comma-separated)',
  },
  REDIS_URL: {
    schema: optionalUrl,
    description:
      'Redis shared by several instances: gateway rate limits, and the subscription events every subgraph instance publishes (pub/sub); unset: per-process memory',
  },
  CACHE: {
    schema: z.enum(['auto', 'off', 'memory', 'redis']),
    default: 'auto',
    description:
      'Gateway caches of subgraph fetches and query responses, invalidated by every mutation (docs/caching.md): memory (one gateway), redis (shared by the gateways over REDIS_URL), off; auto: redis with REDIS_URL, else memory in development and off in production',
  },
  CACHE_MAX_BYTES: { schema: z.coerce.number().int().min(1_048_576), default: '67108864', description: 'Bytes of cache entries each gateway process keeps in memory, at most (the least recently used go first)' },
  CACHE_MAX_AGE_SECONDS: {
    schema: z.coerce.number().int().min(0),
    default: '300',
    description:
      "Subgraphs: the max-age (Cache-Control) of an answer whose fields declare no @cacheControl hint; it bounds how long a write made outside the API goes unseen by the gateway's caches (0: only hinted fields are cached)",
  },
  CHANGE_STREAMS: {
    schema: z.enum(['auto', 'off']),
    default: 'off',
    description:
      'auto: subgraphs also publish subscription events for writes made outside the API, where the database has change streams (a MongoDB replica set; never FerretDB); off: only API mutations publish',
  },
  EVENT_RETENTION_DAYS: {
    schema: z.coerce.number().int().min(1),
    default: '30',
    description: 'How long each subgraph\'s event log keeps an event: a subscription can resume, and a webhook catch up, from a position this recent (older: EVENT_ID_EXPIRED)',
  },
  WEBHOOK_RETRY_HOURS: {
    schema: z.coerce.number().positive(),
    default: '24',
    description: 'How long a webhook delivery is retried (exponential backoff with jitter, from 5 s up to 1 h apart) before it is dead-lettered for an admin to replay',
  },
  WEBHOOK_DISABLE_AFTER_HOURS: {
    schema: z.coerce.number().positive(),
    default: '120',
    description: 'A webhook endpoint whose deliveries have all failed for this long is disabled (an admin enables it again)',
  },
  WEBHOOK_TIMEOUT_MS: { schema: z.coerce.number().int().min(100), default: '15000', description: 'How long a webhook endpoint has to answer a delivery attempt' },
  ADMIN_API_KEY: { schema: optionalUrl, description: 'The admin key `npm run webhooks` calls the gateway\'s admin API with (or --admin-key); no service reads it' },
  SUBSCRIPTIONS_PER_CONNECTION: {
    schema: z.coerce.number().int().min(1),
    default: '20',
    description: 'Subscriptions one WebSocket connection to the gateway may have open (one more is refused with SUBSCRIPTION_LIMIT_EXCEEDED)',
  },
  SUBSCRIPTIONS_PER_KEY: {
    schema: z.coerce.number().int().min(1),
    default: '100',
    description: 'Subscriptions one key (one address for anonymous callers) may have open on one gateway instance, all connections together',
  },
  RATE_LIMITS: {
    schema: rateLimits,
    default: 'anonymous=300/60,frontend=3000/60,analyst=1200/60,partner=1200/60,editor=600/60,admin=600/60',
    description:
      'Requests per key (per IP for anonymous callers) and window in seconds, per role: role=requests/seconds,…; off disables',
  },
  OPERATION_LIMITS: {
    schema: operationLimits,
    default: '',
    description:
      'JSON overriding the per-role operation limits, e.g. {"anonymous":{"maxDepth":8,"maxCost":5000}}; see docs/access.md for the defaults',
  },
  EXECUTION_LIMITS: {
    schema: executionLimits,
    default: '',
    description:
      'JSON overriding the per-role ceilings that hold during execution, e.g. {"anonymous":{"maxResponseBytes":524288,"deadlineMs":3000}}; see docs/access.md for the defaults',
  },
  LIST_SIZE_DEFAULT: {
    schema: z.coerce.number().int().min(2),
    default: '20',
    description: 'Items the cost estimate assumes for a list field whose schema declares no size (@listSize); never 0 or 1',
  },
  PERSISTED_QUERIES: {
    schema: bool,
    default: 'true',
    description: 'Accept Automatic Persisted Queries (Apollo protocol)',
  },
  GATEWAY_EXECUTOR: {
    schema: z.enum(['lean', 'stock']),
    default: 'lean',
    description: "Executor of Apollo's query plans: lean (gateway/executor/, same answers, less CPU) or stock @apollo/gateway",
  },
  GATEWAY_HEAP_GROWTH_PERCENT: {
    schema: z.coerce.number().int().min(0).max(1000),
    default: '100',
    description:
      "How far the gateway process's JavaScript heap may grow past what its last full garbage collection kept, in percent (V8's --heap-growing-percent; npm start's single development process keeps V8's default); 0: V8's own choice, up to 4x under load. 100 keeps peak memory about a third lower under load, for about 3% more CPU (docs/performance.md)",
  },
  GATEWAY_CONCURRENT_OPERATIONS: {
    schema: z.coerce.number().int().min(0),
    default: '8',
    description:
      'Operations one gateway process executes at once; more wait in arrival order while the process has no CPU to spare (an idle event loop lets them in at once, none waits over 1 s). Less memory in flight, less garbage-collection CPU under load (docs/performance.md); 0: no limit',
  },
  GLOBAL_OBJECT_IDS: {
    schema: bool,
    default: 'true',
    description: 'Global Object Identification: Node, Query.node(id:) and nodes(ids:), nodeId on every entity, composed by the gateway onto any supergraph',
  },
  SUBGRAPH_TIMEOUT_MS: {
    schema: z.coerce.number().int().min(1),
    default: '30000',
    description: 'Timeout of one gateway request to a subgraph',
  },
  SUBGRAPH_TIMEOUTS: {
    schema: subgraphTimeouts,
    default: '',
    description: 'Per-subgraph timeouts overriding SUBGRAPH_TIMEOUT_MS, e.g. funding=5000,reuse=2000',
  },
  CIRCUIT_FAILURE_THRESHOLD: {
    schema: z.coerce.number().int().min(1),
    default: '5',
    description: 'Consecutive failures of a subgraph that open its circuit (fail fast)',
  },
  CIRCUIT_RESET_MS: {
    schema: z.coerce.number().int().min(100),
    default: '5000',
    description: 'Time an open circuit waits before letting one probe request through',
  },
  DEDUPE_SUBGRAPH_QUERIES: {
    schema: bool,
    default: 'true',
    description: 'Share one subgraph request between identical concurrent queries (never mutations)',
  },
  CORS_ORIGINS: {
    schema: z.string().min(1),
    default: '*',
    production: 'none',
    description: 'Browser origins allowed to call the gateway from another site: * (any), none, or a comma-separated list',
  },
  METRICS_PORT: {
    schema: z.union([z.literal('gateway'), port]),
    default: 'gateway',
    production: '9464',
    description:
      'Where Prometheus reads /metrics: a port of its own serving nothing else (keep it off the public network), or gateway for GATEWAY_PORT behind METRICS_ACCESS',
  },
  METRICS_ACCESS: {
    schema: z.enum(['open', 'admin']),
    default: 'open',
    production: 'admin',
    description: 'Who may read /metrics when it is served on GATEWAY_PORT: open (anyone) or admin (an admin key, e.g. Prometheus authorization credentials)',
  },
  BODY_LIMIT_BYTES: {
    schema: z.coerce.number().int().min(1024),
    default: '1048576',
    description: 'Largest accepted request body; larger requests get 413',
  },
  SUBGRAPH_BODY_LIMIT_BYTES: {
    schema: z.coerce.number().int().min(1024),
    default: '8388608',
    description:
      "Largest request body a subgraph reads, once the gateway's token is verified (413 above it); docs/security.md explains the default",
  },
  GATEWAY_TOKEN_TTL_SECONDS: {
    schema: z.coerce.number().int().min(2),
    default: '60',
    description: 'Lifetime of the token the gateway signs for each subgraph request (reused for half of it); at most GATEWAY_TOKEN_MAX_LIFETIME_SECONDS',
  },
  GATEWAY_TOKEN_MAX_LIFETIME_SECONDS: {
    schema: z.coerce.number().int().min(2),
    default: '120',
    description: 'Longest token lifetime (exp - iat) a subgraph accepts; tokens without exp or iat are refused',
  },
  GATEWAY_TOKEN_CLOCK_SKEW_SECONDS: {
    schema: z.coerce.number().int().min(0).max(60),
    default: '5',
    description: "Clock difference between gateway and subgraphs a subgraph tolerates on a token's iat and exp",
  },
  SHUTDOWN_GRACE_MS: {
    schema: z.coerce.number().int().min(0),
    default: '10000',
    description: 'On SIGTERM, how long in-flight requests may take to finish',
  },
  SHUTDOWN_LISTEN_MS: {
    schema: z.coerce.number().int().min(0),
    default: '0',
    description:
      "On SIGTERM, how long the gateway keeps accepting connections first, answering 503 SHUTTING_DOWN (/health too), so that a load balancer's health check takes it out of rotation before it stops listening: a little more than the check's interval times its fall count; 0 under Kubernetes, whose preStop sleep does this",
  },
  OTEL_EXPORTER_OTLP_ENDPOINT: {
    schema: optionalUrl,
    description: 'OTLP/HTTP endpoint for OpenTelemetry traces; unset: tracing off',
  },
  LOG_LEVEL: {
    schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    default: 'info',
    description: 'pino log level',
  },
} satisfies Record<string, VariableSpec>;

type Spec = typeof configSpec;
export type Config = { readonly [K in keyof Spec]: z.output<Spec[K]['schema']> };

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Reads and validates the whole configuration; throws one {@link ConfigError} listing every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  const production = env.NODE_ENV === 'production';
  for (const [name, spec] of Object.entries(configSpec) as [keyof Spec, VariableSpec][]) {
    const raw = env[name] === undefined || env[name] === '' ? defaultOf(spec, production) : env[name];
    const parsed = spec.schema.safeParse(raw);
    if (parsed.success) out[name] = parsed.data;
    else problems.push(`${name}=${JSON.stringify(raw)}: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  }
  const cfg = out as Config;
  if (cfg.PAGE_SIZE_DEFAULT > cfg.PAGE_SIZE_MAX) {
    problems.push(`PAGE_SIZE_DEFAULT (${cfg.PAGE_SIZE_DEFAULT}) exceeds PAGE_SIZE_MAX (${cfg.PAGE_SIZE_MAX})`);
  }
  if (cfg.CACHE === 'redis' && !cfg.REDIS_URL) {
    problems.push('CACHE=redis needs REDIS_URL (the versions and entries every gateway shares)');
  }
  if (cfg.GATEWAY_TOKEN_TTL_SECONDS > cfg.GATEWAY_TOKEN_MAX_LIFETIME_SECONDS) {
    problems.push(
      `GATEWAY_TOKEN_TTL_SECONDS (${cfg.GATEWAY_TOKEN_TTL_SECONDS}) exceeds GATEWAY_TOKEN_MAX_LIFETIME_SECONDS (${cfg.GATEWAY_TOKEN_MAX_LIFETIME_SECONDS}): subgraphs would refuse every token`,
    );
  }
  // The gateway forwards a client's variables to a subgraph as they came, next to the entity
  // representations it adds: a subgraph limit below the gateway's would refuse valid requests.
  if (cfg.SUBGRAPH_BODY_LIMIT_BYTES < cfg.BODY_LIMIT_BYTES) {
    problems.push(`SUBGRAPH_BODY_LIMIT_BYTES (${cfg.SUBGRAPH_BODY_LIMIT_BYTES}) is below BODY_LIMIT_BYTES (${cfg.BODY_LIMIT_BYTES})`);
  }
  if (problems.length > 0) throw new ConfigError(`Invalid configuration:\n  ${problems.join('\n  ')}`);
  return Object.freeze(cfg);
}

/** What the docs say of a variable's production default; undefined where it is the development one. */
export function productionNote(spec: VariableSpec): string | undefined {
  if (spec.production === undefined) return undefined;
  return spec.production === REQUIRED_IN_PRODUCTION ? 'required (no default)' : spec.production;
}

/** The raw default of a variable in development or in production (undefined: none). */
function defaultOf(spec: VariableSpec, production: boolean): string | undefined {
  if (!production || spec.production === undefined) return spec.default;
  return spec.production === REQUIRED_IN_PRODUCTION ? undefined : spec.production;
}

/**
 * The default of one variable, parsed as {@link loadConfig} parses it: code that takes options
 * programmatically fills what is not given from here, so every default is written once, in
 * {@link configSpec}. `production`: the default with NODE_ENV=production.
 */
export function configDefault<K extends keyof Spec>(name: K, production = false): Config[K] {
  const spec: VariableSpec = configSpec[name];
  return spec.schema.parse(defaultOf(spec, production)) as Config[K];
}

/** Port variable of a subgraph. */
export function subgraphPort(cfg: Config, name: SubgraphName): number {
  const key = `${name.toUpperCase()}_PORT` as 'ALLIANCES_PORT';
  return cfg[key];
}

/**
 * URL override of a subgraph, if configured: SUBGRAPH_<NAME>_URL, for our four subgraphs and for
 * those of any other supergraph the gateway serves (read from `env`, checked to be an http(s) URL,
 * or a comma-separated list of them: the instances of the subgraph, gateway/transport/instances.ts).
 */
export function subgraphUrlOverride(cfg: Config, name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const key = `SUBGRAPH_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_URL`;
  if (key in cfg) return cfg[key as 'SUBGRAPH_ALLIANCES_URL'] ?? undefined;
  const value = env[key]?.trim();
  if (!value) return undefined;
  if (!value.split(',').every((url) => /^https?:\/\/\S+$/.test(url.trim()))) throw new ConfigError(`Invalid configuration:\n  ${key}=${JSON.stringify(value)}: not an http(s) URL`);
  return value;
}

/** The gateway's own database: API keys and trusted documents. */
export function gatewayDbName(cfg: Pick<Config, 'MONGODB_DB_PREFIX'>): string {
  return `${cfg.MONGODB_DB_PREFIX}_gateway`;
}

/** Database of a subgraph: each subgraph owns exactly one database and reads no other. */
export function subgraphDbName(cfg: Pick<Config, 'MONGODB_DB_PREFIX'>, name: SubgraphName): string {
  return `${cfg.MONGODB_DB_PREFIX}_${name}`;
}
