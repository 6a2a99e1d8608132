/**
 * The gateway's subgraph transport: a `RemoteGraphQLDataSource` whose requests go through a
 * keep-alive undici `Pool` per subgraph origin, with a per-subgraph timeout, a circuit breaker,
 * de-duplication of identical concurrent queries and of repeated `_entities` representations,
 * and propagation of the request id and caller identity.
 *
 * The stock pipeline (`process` → `willSendRequest` → fetch → `errorFromResponse` /
 * `didEncounterError` → `didReceiveResponse` → cache-control hints) is kept: this class wraps
 * `process` and replaces only the `fetcher`. A failed fetch never throws out of `process` for an
 * incoming operation: it is answered with GraphQL errors carrying `extensions.code` and
 * `serviceName`, so the executor keeps the rest of the plan's data and places the errors on the
 * paths of the fields that subgraph would have resolved.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { STATUS_CODES } from 'node:http';
import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { GraphQLError, Kind, parse, type DocumentNode, type GraphQLFormattedError, type SelectionSetNode } from 'graphql';
import { Pool } from 'undici';
import { GATEWAY_TOKEN_HEADER, type Caller } from '../lib/access.ts';
import { REQUEST_ID_HEADER, type GatewayContext } from './context.ts';

export type CircuitState = 'closed' | 'open' | 'half_open';
export type FetchOutcome = 'ok' | 'error' | 'timeout' | 'circuit_open';

export interface DataSourceHooks {
  /** Once for every subgraph fetch the executor asked for (shared or not): its duration and outcome. */
  onFetch?(subgraph: string, seconds: number, outcome: FetchOutcome): void;
  /** Every transition of the subgraph's circuit. */
  onCircuitState?(subgraph: string, state: CircuitState): void;
  /** Once for every HTTP request actually sent to the subgraph, with the variables as sent. */
  onRequest?(subgraph: string, query: string, variables: Record<string, unknown> | undefined): void;
}

export interface SubgraphDataSourceOptions {
  /** Subgraph name, as in the supergraph (`serviceName` of its errors). */
  name: string;
  url: string;
  /** Longest time one request to this subgraph may take, queueing and body included (SUBGRAPH_TIMEOUT_MS / SUBGRAPH_TIMEOUTS). */
  timeoutMs: number;
  /** Consecutive failures that open the circuit, and how long it stays open before one probe (CIRCUIT_FAILURE_THRESHOLD / CIRCUIT_RESET_MS). */
  circuit: { failureThreshold: number; resetMs: number };
  /** Share one HTTP request between identical concurrent queries (DEDUPE_SUBGRAPH_QUERIES). */
  dedupe: boolean;
  hooks?: DataSourceHooks;
  /** Signs the caller for this subgraph (`x-ali-gateway-token`); unset: no header (subgraphs that do not check it). */
  sign?: (caller: Caller, subgraph: string) => string | Promise<string>;
  /** Keep-alive connections to the subgraph's origin, at most. Default 64; requests beyond wait in the pool's queue (within the timeout). */
  connections?: number;
}

/** `extensions.code` of the errors a failed subgraph fetch becomes. */
export const SubgraphErrorCode = {
  /** Connection refused or reset, or a 5xx answer without a GraphQL error code. */
  SUBGRAPH_UNAVAILABLE: 'SUBGRAPH_UNAVAILABLE',
  /** No complete answer within the subgraph's timeout. */
  SUBGRAPH_TIMEOUT: 'SUBGRAPH_TIMEOUT',
  /** Not sent: the subgraph failed repeatedly and its circuit is open. */
  SUBGRAPH_CIRCUIT_OPEN: 'SUBGRAPH_CIRCUIT_OPEN',
  /** An answer that is not a GraphQL response (not JSON, or a 4xx without an error code). */
  SUBGRAPH_BAD_RESPONSE: 'SUBGRAPH_BAD_RESPONSE',
} as const;
export type SubgraphErrorCode = (typeof SubgraphErrorCode)[keyof typeof SubgraphErrorCode];

const DEFAULT_CONNECTIONS = 64;

// ---------------------------------------------------------------------------------------------
// Connection pools: one keep-alive Pool per origin, shared by every data source of the process
// (a supergraph reload builds new data sources for the same URLs and reuses the sockets).

const pools = new Map<string, Pool>();

function poolFor(origin: string, connections: number): Pool {
  let pool = pools.get(origin);
  if (!pool) {
    pool = new Pool(origin, {
      connections,
      pipelining: 1, // POSTs are not idempotent: never queue one behind another on a socket
      // Below Node's default server keepAliveTimeout (5 s), so the gateway drops an idle socket
      // before the subgraph does and never writes into a socket being closed. A server's
      // `Keep-Alive: timeout=N` hint overrides it (minus 1 s), up to keepAliveMaxTimeout.
      keepAliveTimeout: 4_000,
      keepAliveMaxTimeout: 60_000,
    });
    pools.set(origin, pool);
  }
  return pool;
}

/** Closes every subgraph connection pool, letting requests in flight finish (graceful shutdown). */
export async function closeDataSources(): Promise<void> {
  const closing = [...pools.values()];
  pools.clear(); // a request arriving after this opens a fresh pool rather than failing
  await Promise.all(closing.map((pool) => pool.close()));
}

// ---------------------------------------------------------------------------------------------
// Transport failures, typed so that `process` can turn them into coded GraphQL errors.

type FailureReason = 'timeout' | 'unavailable' | 'circuit_open';

class SubgraphFetchError extends Error {
  override readonly name = 'SubgraphFetchError';
  constructor(
    readonly reason: FailureReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const REASON_CODE: Record<FailureReason, SubgraphErrorCode> = {
  timeout: SubgraphErrorCode.SUBGRAPH_TIMEOUT,
  unavailable: SubgraphErrorCode.SUBGRAPH_UNAVAILABLE,
  circuit_open: SubgraphErrorCode.SUBGRAPH_CIRCUIT_OPEN,
};

const REASON_OUTCOME: Record<FailureReason, FetchOutcome> = {
  timeout: 'timeout',
  unavailable: 'error',
  circuit_open: 'circuit_open',
};

// Connection errors after which a query is sent once more: the subgraph closed a kept-alive
// socket as the request was written. Refused connections and timeouts are not retried.
const RETRYABLE_SOCKET_ERRORS = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE']);
const UNDICI_TIMEOUTS = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);

function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

// ---------------------------------------------------------------------------------------------
// Circuit breaker. Outcomes of requests admitted in an earlier state are ignored once the
// circuit has moved on (a late success does not close an open circuit; only the probe decides).

type Circuit =
  | { readonly state: 'closed'; readonly failures: number }
  | { readonly state: 'open'; readonly openedAt: number }
  | { readonly state: 'half_open'; readonly probe: symbol };

/** Admission of one HTTP request; `probe` marks the one request a half-open circuit lets through. */
interface Ticket {
  readonly probe?: symbol;
}

class CircuitBreaker {
  private circuit: Circuit = { state: 'closed', failures: 0 };

  constructor(
    private readonly subgraph: string,
    private readonly failureThreshold: number,
    private readonly resetMs: number,
    private readonly onState: (state: CircuitState) => void,
  ) {}

  get state(): CircuitState {
    return this.circuit.state;
  }

  /** A ticket to send, or the milliseconds until a probe may be sent. */
  admit(now: number): Ticket | { readonly retryInMs: number } {
    const c = this.circuit;
    switch (c.state) {
      case 'closed':
        return {};
      case 'open': {
        const waited = now - c.openedAt;
        if (waited < this.resetMs) return { retryInMs: this.resetMs - waited };
        const probe = Symbol(`${this.subgraph} probe`);
        this.move({ state: 'half_open', probe });
        return { probe };
      }
      case 'half_open':
        return { retryInMs: 0 }; // the probe is in flight
    }
  }

  record(ticket: Ticket, ok: boolean, now: number): void {
    const c = this.circuit;
    switch (c.state) {
      case 'closed':
        if (ok) {
          if (c.failures > 0) this.circuit = { state: 'closed', failures: 0 };
        } else if (c.failures + 1 >= this.failureThreshold) {
          this.move({ state: 'open', openedAt: now });
        } else {
          this.circuit = { state: 'closed', failures: c.failures + 1 };
        }
        return;
      case 'half_open':
        if (ticket.probe !== c.probe) return;
        this.move(ok ? { state: 'closed', failures: 0 } : { state: 'open', openedAt: now });
        return;
      case 'open':
        return;
    }
  }

  private move(next: Circuit): void {
    this.circuit = next;
    this.onState(next.state);
  }
}

// ---------------------------------------------------------------------------------------------
// Responses: the body is read once, into memory, so that callers sharing one HTTP request each
// parse their own copy (the executor mutates what it receives).

type Fetcher = RemoteGraphQLDataSource['fetcher'];
type FetcherRequestInit = NonNullable<Parameters<Fetcher>[1]>;
type FetcherResponse = Awaited<ReturnType<Fetcher>>;
type ProcessResult = Awaited<ReturnType<RemoteGraphQLDataSource['process']>>;

interface RawResponse {
  readonly url: string;
  readonly status: number;
  readonly statusText: string;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body: string;
}

class BufferedResponse implements FetcherResponse {
  readonly redirected = false;
  readonly headers: Headers;
  private used = false;

  constructor(private readonly raw: RawResponse) {
    this.headers = new Headers(raw.headers as [string, string][]);
  }

  get url(): string {
    return this.raw.url;
  }
  get status(): number {
    return this.raw.status;
  }
  get statusText(): string {
    return this.raw.statusText;
  }
  get ok(): boolean {
    return this.raw.status >= 200 && this.raw.status < 300;
  }
  get bodyUsed(): boolean {
    return this.used;
  }

  async text(): Promise<string> {
    if (this.used) throw new TypeError('Body already used');
    this.used = true;
    return this.raw.body;
  }
  async json(): Promise<any> {
    return JSON.parse(await this.text());
  }
  async arrayBuffer(): Promise<ArrayBuffer> {
    const bytes = Buffer.from(await this.text(), 'utf8');
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  }
  clone(): FetcherResponse {
    return new BufferedResponse(this.raw);
  }
}

// ---------------------------------------------------------------------------------------------
// Per-call state, carried from `process` to the fetcher through the stock pipeline in between.

type OperationKind = 'query' | 'mutation' | 'subscription' | 'unknown';

type Transport =
  | { readonly kind: 'not_sent' }
  | { readonly kind: 'answered'; readonly status: number }
  | { readonly kind: 'failed'; readonly error: SubgraphFetchError };

interface CallState {
  readonly operation: OperationKind;
  readonly query: string;
  readonly variables: Record<string, unknown> | undefined;
  transport: Transport;
}

const calls = new AsyncLocalStorage<CallState>();

function operationKind(document: DocumentNode | undefined, query: string | undefined): OperationKind {
  const op = document?.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION);
  if (op) return op.operation;
  // Query plans send one operation per fetch, `{…}` or `query Name…`; anything else is not a
  // query as far as sharing goes.
  const head = /^\s*(query\b|mutation\b|subscription\b|\{)/.exec(query ?? '')?.[1];
  return head === '{' || head === 'query' ? 'query' : head === 'mutation' ? 'mutation' : head ? 'subscription' : 'unknown';
}

// ---------------------------------------------------------------------------------------------
// `_entities` representations: each distinct one is sent once, answers go back to every position.

interface RepresentationPlan {
  readonly unique: readonly unknown[];
  /** Original position → index in `unique`. */
  readonly indexOf: readonly number[];
  /** Index in `unique` → original positions. */
  readonly positions: readonly (readonly number[])[];
}

/** JSON with object keys sorted, so that `{id, __typename}` and `{__typename, id}` compare equal. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value)
      .sort()
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

function planRepresentations(variables: Record<string, unknown> | undefined): RepresentationPlan | undefined {
  const reps = variables?.['representations'];
  if (!Array.isArray(reps) || reps.length < 2) return undefined;
  const seen = new Map<string, number>();
  const unique: unknown[] = [];
  const indexOf: number[] = [];
  const positions: number[][] = [];
  reps.forEach((rep, position) => {
    const key = canonicalJson(rep);
    let i = seen.get(key);
    if (i === undefined) {
      i = unique.length;
      seen.set(key, i);
      unique.push(rep);
      positions.push([]);
    }
    indexOf.push(i);
    positions[i]!.push(position);
  });
  return unique.length < reps.length ? { unique, indexOf, positions } : undefined;
}

function expandEntities(response: ProcessResult, plan: RepresentationPlan): ProcessResult {
  let data = response.data;
  const entities: unknown = data?.['_entities'];
  if (data && Array.isArray(entities) && entities.length === plan.unique.length) {
    const handedOut = new Set<number>();
    const expanded = plan.indexOf.map((i) => {
      const entity: unknown = entities[i];
      if (entity === null || typeof entity !== 'object' || !handedOut.has(i)) {
        handedOut.add(i);
        return entity;
      }
      // The executor merges each entity into the result tree and may merge later fetches into
      // it: every position needs its own object.
      return structuredClone(entity);
    });
    data = { ...data, _entities: expanded };
  }
  const errors = response.errors?.flatMap((error): GraphQLFormattedError[] => {
    const path = error.path;
    if (path?.[0] !== '_entities' || typeof path[1] !== 'number') return [error];
    const positions = plan.positions[path[1]];
    if (!positions) return [error];
    return positions.map((position) => ({ ...error, path: ['_entities', position, ...path.slice(2)] }));
  });
  return { ...response, data, ...(errors ? { errors } : {}) };
}

// ---------------------------------------------------------------------------------------------
// Where a failed fetch's errors go: one per root field of a root fetch; for an entity fetch one
// error on the fetch's path (the executor prefixes it, `@` standing for every list element, as
// Apollo Router reports it).

function rootResponseKeys(document: DocumentNode | undefined, query: string | undefined): string[] {
  let doc = document;
  if (!doc) {
    try {
      doc = parse(query ?? '');
    } catch {
      return [];
    }
  }
  const fragments = new Map(
    doc.definitions.flatMap((d) => (d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d.selectionSet] as const] : [])),
  );
  const keys = new Set<string>();
  const collect = (set: SelectionSetNode, depth: number): void => {
    if (depth > 10) return;
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) {
        if (sel.name.value !== '__typename') keys.add(sel.alias?.value ?? sel.name.value);
      } else if (sel.kind === Kind.INLINE_FRAGMENT) {
        collect(sel.selectionSet, depth + 1);
      } else {
        const fragment = fragments.get(sel.name.value);
        if (fragment) collect(fragment, depth + 1);
      }
    }
  };
  const op = doc.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION);
  if (op) collect(op.selectionSet, 0);
  return [...keys];
}

function failurePaths(options: GraphQLDataSourceProcessOptions<GatewayContext>): ((string | number)[] | undefined)[] {
  if (Array.isArray(options.request.variables?.['representations'])) return [[]];
  const document = 'document' in options ? options.document : undefined;
  const keys = rootResponseKeys(document, options.request.query);
  return keys.length > 0 ? keys.map((key) => [key]) : [undefined];
}

// ---------------------------------------------------------------------------------------------

interface FailureReport {
  readonly outcome: FetchOutcome;
  readonly message: string;
  readonly extensions: Record<string, unknown>;
}

/**
 * The gateway's data source for one subgraph; `buildService` creates one per subgraph, and the
 * circuit state lives on it.
 */
export class SubgraphDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  readonly name: string;
  private readonly origin: string;
  private readonly path: string;
  private readonly timeoutMs: number;
  private readonly dedupe: boolean;
  private readonly connections: number;
  private readonly hooks: DataSourceHooks;
  private readonly sign: SubgraphDataSourceOptions['sign'];
  private readonly breaker: CircuitBreaker;
  /** HTTP requests in flight that identical queries may join, by body and forwarded headers. */
  private readonly inFlight = new Map<string, Promise<RawResponse>>();
  private readonly failedHooks = new Set<keyof DataSourceHooks>();

  constructor(options: SubgraphDataSourceOptions) {
    super({ url: options.url });
    const target = new URL(options.url);
    this.name = options.name;
    this.origin = target.origin;
    this.path = `${target.pathname}${target.search}`;
    this.timeoutMs = options.timeoutMs;
    this.dedupe = options.dedupe;
    this.connections = options.connections ?? DEFAULT_CONNECTIONS;
    this.hooks = options.hooks ?? {};
    this.sign = options.sign;
    this.breaker = new CircuitBreaker(options.name, options.circuit.failureThreshold, options.circuit.resetMs, (state) =>
      this.notify('onCircuitState', state),
    );
    this.fetcher = (url, init) => this.fetchFromSubgraph(url, init);
  }

  /** Current state of this subgraph's circuit. */
  get circuitState(): CircuitState {
    return this.breaker.state;
  }

  override async process(options: GraphQLDataSourceProcessOptions<GatewayContext>): Promise<ProcessResult> {
    const started = performance.now();
    const original = options.request;
    const plan = planRepresentations(original.variables);
    const variables = plan ? { ...original.variables, representations: plan.unique } : original.variables;
    const caller = 'incomingRequestContext' in options ? (options.context as Partial<GatewayContext> | undefined)?.caller : undefined;
    const token = caller && this.sign ? await this.sign(caller, this.name) : undefined;
    const request = { ...original, variables, http: this.propagatedHttp(options, token) };
    const call: CallState = {
      operation: operationKind('document' in options ? options.document : undefined, request.query),
      query: request.query ?? '',
      variables,
      transport: { kind: 'not_sent' },
    };
    let response: ProcessResult;
    try {
      response = await calls.run(call, () => super.process({ ...options, request }));
    } catch (err) {
      const failure = this.describeFailure(err, call);
      this.notify('onFetch', (performance.now() - started) / 1000, failure.outcome);
      if (!('incomingRequestContext' in options)) {
        throw new GraphQLError(failure.message, { extensions: failure.extensions, originalError: err as Error });
      }
      // While the circuit is open every fetch fails the same way: one warning per transition is
      // enough (onCircuitState), the rest is debug.
      const level = failure.outcome === 'circuit_open' ? 'debug' : 'warn';
      options.context?.log?.[level]?.({ subgraph: this.name, code: failure.extensions['code'], err }, 'subgraph fetch failed');
      // A partial answer must not be cached as if it were whole.
      const policy: unknown = options.incomingRequestContext.overallCachePolicy;
      if (this.honorSubgraphCacheControlHeader && policy && typeof policy === 'object' && 'restrict' in policy) {
        (policy as { restrict(hint: { maxAge: number }): void }).restrict({ maxAge: 0 });
      }
      return {
        errors: failurePaths(options).map((path) => ({
          message: failure.message,
          ...(path ? { path } : {}),
          extensions: failure.extensions,
        })),
      };
    }
    this.notify('onFetch', (performance.now() - started) / 1000, 'ok');
    return plan ? expandEntities(response, plan) : response;
  }

  /**
   * Stock mapping of a non-2xx answer (message `status: text`, `extensions.response`, 401/403
   * codes), completed with a code: the subgraph's own first error code if it sent GraphQL
   * errors, else SUBGRAPH_UNAVAILABLE for 5xx and SUBGRAPH_BAD_RESPONSE otherwise.
   */
  override async errorFromResponse(response: FetcherResponse): Promise<GraphQLError> {
    const error = await super.errorFromResponse(response);
    const extensions = error.extensions as Record<string, unknown> & { response?: { body?: unknown } };
    const code =
      (typeof extensions['code'] === 'string' ? extensions['code'] : undefined) ??
      firstErrorCode(extensions.response?.body) ??
      (response.status >= 500 ? SubgraphErrorCode.SUBGRAPH_UNAVAILABLE : SubgraphErrorCode.SUBGRAPH_BAD_RESPONSE);
    return new GraphQLError(error.message, { extensions: { ...extensions, code, serviceName: this.name } });
  }

  /** The headers every subgraph request carries: the executor's, plus request id and the signed caller. */
  private propagatedHttp(options: GraphQLDataSourceProcessOptions<GatewayContext>, token: string | undefined) {
    const headers = new Headers();
    for (const [name, value] of options.request.http?.headers ?? []) headers.append(name, value);
    // Never forward a token the executor's headers might carry: only the one signed here.
    headers.delete(GATEWAY_TOKEN_HEADER);
    if ('incomingRequestContext' in options) {
      const context: Partial<GatewayContext> | undefined = options.context;
      if (typeof context?.requestId === 'string') headers.set(REQUEST_ID_HEADER, context.requestId);
    }
    if (token) headers.set(GATEWAY_TOKEN_HEADER, token);
    return { method: 'POST', url: this.url, headers };
  }

  private describeFailure(err: unknown, call: CallState): FailureReport {
    const transport = err instanceof SubgraphFetchError ? { kind: 'failed' as const, error: err } : call.transport;
    if (transport.kind === 'failed') {
      return {
        outcome: REASON_OUTCOME[transport.error.reason],
        message: transport.error.message,
        extensions: { code: REASON_CODE[transport.error.reason], serviceName: this.name },
      };
    }
    const answered = transport.kind === 'answered';
    if (err instanceof GraphQLError) {
      const code = err.extensions['code'] ?? (answered ? SubgraphErrorCode.SUBGRAPH_BAD_RESPONSE : 'INTERNAL_SERVER_ERROR');
      return { outcome: 'error', message: err.message, extensions: { ...err.extensions, code, serviceName: this.name } };
    }
    if (answered) {
      return {
        outcome: 'error',
        message: `Subgraph "${this.name}" sent a response that is not a GraphQL response`,
        extensions: { code: SubgraphErrorCode.SUBGRAPH_BAD_RESPONSE, serviceName: this.name },
      };
    }
    // Thrown before anything was sent (a willSendRequest override, a missing query).
    return {
      outcome: 'error',
      message: err instanceof Error ? err.message : String(err),
      extensions: { code: 'INTERNAL_SERVER_ERROR', serviceName: this.name },
    };
  }

  /** The `fetcher` given to the stock pipeline. */
  private async fetchFromSubgraph(url: string, init: FetcherRequestInit | undefined): Promise<FetcherResponse> {
    const call = calls.getStore();
    const headers = init?.headers ?? {};
    const body = typeof init?.body === 'string' ? init.body : (init?.body?.toString('utf8') ?? '');
    try {
      let raw: Promise<RawResponse>;
      if (this.dedupe && call?.operation === 'query') {
        const key = dedupeKey(url, headers, body);
        const shared = this.inFlight.get(key);
        if (shared) {
          raw = shared;
        } else {
          raw = this.exchange(url, init?.method ?? 'POST', headers, body, call).finally(() => this.inFlight.delete(key));
          this.inFlight.set(key, raw);
        }
      } else {
        raw = this.exchange(url, init?.method ?? 'POST', headers, body, call);
      }
      const response = await raw;
      if (call) call.transport = { kind: 'answered', status: response.status };
      return new BufferedResponse(response);
    } catch (err) {
      if (call && err instanceof SubgraphFetchError) call.transport = { kind: 'failed', error: err };
      throw err;
    }
  }

  /** One HTTP request through the circuit breaker, within the timeout. */
  private async exchange(
    url: string,
    method: string,
    headers: Record<string, string>,
    body: string,
    call: CallState | undefined,
  ): Promise<RawResponse> {
    const admitted = this.breaker.admit(Date.now());
    if ('retryInMs' in admitted) {
      const when = admitted.retryInMs > 0 ? `for ${Math.ceil(admitted.retryInMs)} ms more` : 'while a probe request is in flight';
      throw new SubgraphFetchError('circuit_open', `Subgraph "${this.name}" is failing; requests to it are suspended ${when}`);
    }
    this.notify('onRequest', call?.query ?? '', call?.variables);
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.timeoutMs);
    let healthy = false; // every admitted request is recorded, or a half-open circuit would wait forever
    try {
      const response = await this.send(method, headers, body, controller.signal, call?.operation === 'query');
      healthy = response.status < 500;
      return { ...response, url };
    } catch (err) {
      const timedOut = controller.signal.aborted || UNDICI_TIMEOUTS.has(errorCode(err) ?? '');
      throw timedOut
        ? new SubgraphFetchError('timeout', `Subgraph "${this.name}" did not answer within ${this.timeoutMs} ms`, { cause: err })
        : new SubgraphFetchError('unavailable', `Subgraph "${this.name}" is unavailable`, { cause: err });
    } finally {
      clearTimeout(timer);
      this.breaker.record(admitted, healthy, Date.now());
    }
  }

  /**
   * Calls a hook. A failing hook (metrics, logs) never fails a fetch: it is reported once per hook
   * as a process warning (code ALI_DATASOURCE_HOOK).
   */
  private notify<K extends keyof DataSourceHooks>(hook: K, ...args: HookArguments<DataSourceHooks[K]>): void {
    try {
      (this.hooks[hook] as ((subgraph: string, ...rest: unknown[]) => void) | undefined)?.(this.name, ...args);
    } catch (err) {
      if (this.failedHooks.has(hook)) return;
      this.failedHooks.add(hook);
      const reason = err instanceof Error ? err.message : String(err);
      process.emitWarning(`hook ${hook} of subgraph data source "${this.name}" threw: ${reason}`, { code: 'ALI_DATASOURCE_HOOK' });
    }
  }

  private async send(
    method: string,
    headers: Record<string, string>,
    body: string,
    signal: AbortSignal,
    retryable: boolean,
  ): Promise<Omit<RawResponse, 'url'>> {
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await poolFor(this.origin, this.connections).request({
          path: this.path,
          method: method as 'POST',
          headers,
          body,
          signal,
          headersTimeout: this.timeoutMs,
          bodyTimeout: this.timeoutMs,
        });
        const text = await res.body.text();
        const pairs: [string, string][] = [];
        for (const [name, value] of Object.entries(res.headers)) {
          for (const v of Array.isArray(value) ? value : [value ?? '']) pairs.push([name, v]);
        }
        return {
          status: res.statusCode,
          statusText: res.statusText || STATUS_CODES[res.statusCode] || '',
          headers: pairs,
          body: text,
        };
      } catch (err) {
        if (attempt === 1 && retryable && !signal.aborted && RETRYABLE_SOCKET_ERRORS.has(errorCode(err) ?? '')) continue;
        throw err;
      }
    }
  }
}

/** A hook's arguments after the subgraph name. */
type HookArguments<H> = NonNullable<H> extends (subgraph: string, ...rest: infer R) => void ? R : never;

/** Requests are identical when body and forwarded headers are; the request id does not count. */
function dedupeKey(url: string, headers: Record<string, string>, body: string): string {
  const forwarded = Object.entries(headers)
    .filter(([name]) => name.toLowerCase() !== REQUEST_ID_HEADER)
    .map(([name, value]) => `${name.toLowerCase()}:${value}`)
    .sort()
    .join('\n');
  return `${url}\n${forwarded}\n\n${body}`;
}

function firstErrorCode(body: unknown): string | undefined {
  if (body === null || typeof body !== 'object') return undefined;
  const errors = (body as { errors?: unknown }).errors;
  if (!Array.isArray(errors)) return undefined;
  const code: unknown = (errors[0] as { extensions?: { code?: unknown } } | undefined)?.extensions?.code;
  return typeof code === 'string' ? code : undefined;
}
