/**
 * The gateway's subgraph transport: a `RemoteGraphQLDataSource` whose requests go over its
 * gateway's keep-alive connection pools (./pools.ts), with a per-subgraph timeout, a circuit
 * breaker (./circuitBreaker.ts), sharing of identical in-flight queries (./sharing.ts),
 * de-duplication of `_entities` representations (./representations.ts), propagation of the
 * request id and the signed caller (./headers.ts), and the request's budget (./budget.ts): a fetch
 * of a request whose deadline ran out or whose answers grew too large is not sent, or is aborted
 * in flight, and answered with REQUEST_DEADLINE_EXCEEDED or RESPONSE_TOO_LARGE.
 *
 * The stock pipeline (`process` → `willSendRequest` → fetch → `errorFromResponse` /
 * `didEncounterError` → `didReceiveResponse`) is kept: this class wraps `process` and replaces
 * only the `fetcher`; when none of the pipeline's hooks is set, it runs stock's own steps itself,
 * with the same request and answer and without the objects built for the hooks. A failed fetch
 * never throws out of `process` for an incoming operation: it is answered with GraphQL errors carrying `extensions.code` and
 * `serviceName` (./failures.ts), so the executor keeps the rest of the plan's data and places the
 * errors on the paths of the fields that subgraph would have resolved (./failurePaths.ts).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { GatewayGraphQLRequest } from '@apollo/server-gateway-interface';
import { GraphQLError, Kind, type DocumentNode } from 'graphql';
import type { GatewayContext } from '../context.ts';
import { budgetOf, BudgetSpent, type RequestBudget } from './budget.ts';
import { CircuitBreaker, type CircuitState } from './circuitBreaker.ts';
import { failurePaths } from './failurePaths.ts';
import { codedResponseError, describeFailure, SubgraphFetchError, type FetchOutcome, type Transport } from './failures.ts';
import type { HeaderRules } from '../../lib/configFormats.ts';
import { propagatedHeaders, signCaller, type Signer } from './headers.ts';
import { instanceUrls, isConnectionFailure, SubgraphInstances, type SubgraphInstance } from './instances.ts';
import { isUndiciTimeout, type SubgraphPools } from './pools.ts';
import { deduplicateVariables, expandAnswer } from './representations.ts';
import { BufferedResponse, isJsonAnswer, parseAnswer, type FetcherRequestInit, type FetcherResponse, type RawResponse } from './response.ts';
import { exchangeAlone, InFlightQueries, type ExchangeHooks } from './sharing.ts';

export interface DataSourceHooks {
  /** Once for every subgraph fetch the executor asked for (shared or not): its duration and outcome. */
  onFetch?(subgraph: string, seconds: number, outcome: FetchOutcome): void;
  /** Every transition of the subgraph's circuit. */
  onCircuitState?(subgraph: string, state: CircuitState): void;
  /** Once for every HTTP request actually sent to the subgraph, with the variables as sent. */
  onRequest?(subgraph: string, query: string, variables: Record<string, unknown> | undefined): void;
  /** A query sent again to another instance after its connection to `from` failed (./instances.ts). */
  onRetry?(subgraph: string, from: string, to: string): void;
}

export interface SubgraphDataSourceOptions {
  /** Subgraph name, as in the supergraph (`serviceName` of its errors). */
  name: string;
  /** The subgraph's GraphQL URL, or the URLs of its instances, comma-separated (./instances.ts). */
  url: string;
  /** The connection pools of the gateway this data source belongs to (closed when it stops). */
  pools: SubgraphPools;
  /** Longest time one request to this subgraph may take, queueing and body included (SUBGRAPH_TIMEOUT_MS / SUBGRAPH_TIMEOUTS). */
  timeoutMs: number;
  /** Consecutive failures that open the circuit, and how long it stays open before one probe (CIRCUIT_FAILURE_THRESHOLD / CIRCUIT_RESET_MS). */
  circuit: { failureThreshold: number; resetMs: number };
  /** Share one HTTP request between identical concurrent queries (DEDUPE_SUBGRAPH_QUERIES). */
  dedupe: boolean;
  hooks?: DataSourceHooks;
  /** Signs the caller for this subgraph (`x-ali-gateway-token`); unset: no header (subgraphs that do not check it). */
  sign?: Signer;
  /** Which client headers this subgraph receives (HEADER_RULES, ./headerRules.ts); unset: none. */
  headerRules?: HeaderRules;
  /** Keep-alive connections to the subgraph's origin, at most. Default 64; requests beyond wait in the pool's queue (within the timeout). */
  connections?: number;
}

const DEFAULT_CONNECTIONS = 64;
/** How long an instance whose connection failed is passed over (./instances.ts). */
const INSTANCE_REST_MS = 2_000;

type ProcessResult = Awaited<ReturnType<RemoteGraphQLDataSource['process']>>;

const STOCK = RemoteGraphQLDataSource.prototype;

// ---------------------------------------------------------------------------------------------
// Per-call state, carried from `process` to the fetcher through the stock pipeline in between.

type OperationKind = 'query' | 'mutation' | 'subscription' | 'unknown';

interface CallState {
  readonly operation: OperationKind;
  readonly query: string;
  readonly variables: Record<string, unknown> | undefined;
  /** The budget of the request the call is made for (gateway/executor/ceilings.ts starts it). */
  readonly budget: RequestBudget | undefined;
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

/**
 * The gateway's data source for one subgraph; `buildService` creates one per subgraph, and the
 * circuit state lives on it.
 */
export class SubgraphDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  readonly name: string;
  /** The instances requests are spread over, in the order configured. */
  readonly instances: SubgraphInstances;
  private readonly pools: SubgraphPools;
  private readonly timeoutMs: number;
  private readonly dedupe: boolean;
  private readonly connections: number;
  private readonly hooks: DataSourceHooks;
  private readonly sign: Signer | undefined;
  private readonly headerRules: HeaderRules | undefined;
  private readonly breaker: CircuitBreaker;
  /** HTTP requests in flight that identical queries may join. */
  private readonly inFlight = new InFlightQueries();
  private readonly failedHooks = new Set<keyof DataSourceHooks>();
  private readonly ownFetcher: RemoteGraphQLDataSource['fetcher'] = (url, init) => this.fetchFromSubgraph(url, init);

  constructor(options: SubgraphDataSourceOptions) {
    const urls = instanceUrls(options.url);
    // Stock's pipeline carries one URL (`request.http.url`); the fetcher picks the instance.
    super({ url: urls[0]! });
    this.name = options.name;
    this.instances = new SubgraphInstances(urls, INSTANCE_REST_MS);
    this.pools = options.pools;
    this.timeoutMs = options.timeoutMs;
    this.dedupe = options.dedupe;
    this.connections = options.connections ?? DEFAULT_CONNECTIONS;
    this.hooks = options.hooks ?? {};
    this.sign = options.sign;
    this.headerRules = options.headerRules;
    this.breaker = new CircuitBreaker(options.name, options.circuit.failureThreshold, options.circuit.resetMs, (state) =>
      this.notify('onCircuitState', state),
    );
    this.fetcher = this.ownFetcher;
    // The subgraphs' Cache-Control feeds the gateway's own caches (gateway/cache/), which writes
    // invalidate; passed on to the gateway's HTTP response it would let browsers and proxies keep
    // answers that no write can reach. The gateway's answers stay `no-store`.
    this.honorSubgraphCacheControlHeader = false;
  }

  /** Current state of this subgraph's circuit. */
  get circuitState(): CircuitState {
    return this.breaker.state;
  }

  override async process(options: GraphQLDataSourceProcessOptions<GatewayContext>): Promise<ProcessResult> {
    const started = performance.now();
    const budget = budgetOf(options.context);
    if (budget?.spent) return this.failed(options, this.budgetFailure(budget.spent), undefined, started);
    const original = options.request;
    const distinct = deduplicateVariables(original.variables);
    const variables = distinct ? { ...original.variables, representations: distinct.unique } : original.variables;
    const signing = signCaller(options, this.name, this.sign);
    const token = signing === undefined ? undefined : await signing;
    const headers = propagatedHeaders(options, token, this.headerRules, this.name);
    const call: CallState = {
      operation: operationKind('document' in options ? options.document : undefined, original.query),
      query: original.query ?? '',
      variables,
      budget,
      transport: { kind: 'not_sent' },
    };
    let response: ProcessResult;
    try {
      if (this.onlyStockSteps()) {
        response = await this.processDirectly({ ...original, variables }, headers, call);
      } else {
        const request = { ...original, variables, http: { method: 'POST', url: this.url, headers: new Headers(headers) } };
        response = await calls.run(call, () => super.process({ ...options, request }));
      }
    } catch (err) {
      return this.failed(options, err, call, started);
    }
    this.notify('onFetch', (performance.now() - started) / 1000, 'ok');
    return distinct ? expandAnswer(response, distinct) : response;
  }

  /**
   * Whether stock's `process` would run only its own steps: no `willSendRequest` or
   * `didReceiveResponse` hook, no APQ, no Cache-Control hints, stock's body parsing and error
   * handling, this data source's fetcher. Then {@link processDirectly} gives the same answer
   * without the objects stock builds for hooks that are not there.
   */
  private onlyStockSteps(): boolean {
    return (
      this.willSendRequest === undefined &&
      this.didReceiveResponse === undefined &&
      !this.apq &&
      !this.honorSubgraphCacheControlHeader &&
      this.parseBody === STOCK.parseBody &&
      this.didEncounterError === STOCK.didEncounterError &&
      this.fetcher === this.ownFetcher
    );
  }

  /**
   * Stock's `process` (of the @apollo/gateway version gateway/apollo/internals.ts checks), its own
   * steps only: the same body (`query` first, then the rest of the request), the same headers, the
   * same errors and the same answer (`http`: the subgraph's response), without its node-fetch
   * `Headers` and `Request`, the copy of the headers and the context that carries the call to the
   * fetcher. test/integration/gateway/dataSource.test.ts compares the two.
   */
  private async processDirectly(request: GatewayGraphQLRequest, headers: Record<string, string>, call: CallState): Promise<ProcessResult> {
    if (!request.query) throw new Error('Missing query');
    const { http: _http, query, ...rest } = request;
    const raw = await this.fetchRaw(this.url, 'POST', headers, JSON.stringify({ query, ...rest }), call);
    const response = new BufferedResponse(raw);
    if (!response.ok) throw await this.errorFromResponse(response);
    const body: unknown = isJsonAnswer(raw) ? parseAnswer(raw) : raw.body;
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new Error(`Expected JSON response body, but received: ${String(body)}`);
    return { ...body, http: response } as ProcessResult;
  }

  /** Stock's error for a non-2xx answer, with a code. */
  override async errorFromResponse(response: FetcherResponse): Promise<GraphQLError> {
    return codedResponseError(this.name, await super.errorFromResponse(response), response.status);
  }

  /** A call that failed: thrown outside an incoming operation, else answered with coded errors. */
  private failed(options: GraphQLDataSourceProcessOptions<GatewayContext>, err: unknown, call: CallState | undefined, started: number): ProcessResult {
    const failure = describeFailure(this.name, err, call?.transport ?? { kind: 'not_sent' });
    this.notify('onFetch', (performance.now() - started) / 1000, failure.outcome);
    if (!('incomingRequestContext' in options)) {
      throw new GraphQLError(failure.message, { extensions: failure.extensions, originalError: err as Error });
    }
    // While the circuit is open every fetch fails the same way: one warning per transition is
    // enough (onCircuitState), the rest is debug; so is a fetch its own request's budget stopped.
    const level = failure.outcome === 'circuit_open' || failure.outcome === 'cancelled' ? 'debug' : 'warn';
    options.context?.log?.[level]?.({ subgraph: this.name, code: failure.extensions['code'], err }, 'subgraph fetch failed');
    return {
      errors: failurePaths(options).map((path) => ({
        message: failure.message,
        ...(path ? { path } : {}),
        extensions: failure.extensions,
      })),
    };
  }

  /** The `fetcher` given to the stock pipeline (the call comes through the context {@link process} runs it in). */
  private async fetchFromSubgraph(url: string, init: FetcherRequestInit | undefined): Promise<FetcherResponse> {
    const headers = init?.headers ?? {};
    const body = typeof init?.body === 'string' ? init.body : (init?.body?.toString('utf8') ?? '');
    return new BufferedResponse(await this.fetchRaw(url, init?.method ?? 'POST', headers, body, calls.getStore()));
  }

  /** One call's HTTP request, shared with identical queries in flight when de-duplication is on. */
  private async fetchRaw(url: string, method: string, headers: Record<string, string>, body: string, call: CallState | undefined): Promise<RawResponse> {
    try {
      const send = (hooks: ExchangeHooks) => this.exchange(url, method, headers, body, call, hooks);
      const budget = call?.budget;
      const response = await (this.dedupe && call?.operation === 'query' ? this.inFlight.share(url, headers, body, send, budget) : exchangeAlone(send, budget));
      if (call) call.transport = { kind: 'answered', status: response.status };
      return response;
    } catch (thrown) {
      const err = thrown instanceof BudgetSpent ? this.budgetFailure(thrown) : thrown;
      if (call && err instanceof SubgraphFetchError) call.transport = { kind: 'failed', error: err };
      throw err;
    }
  }

  /** The failure of a fetch whose request's budget is spent. */
  private budgetFailure(spent: BudgetSpent): SubgraphFetchError {
    const { deadlineMs, maxResponseBytes } = spent.limits;
    return spent.spent === 'deadline'
      ? new SubgraphFetchError('deadline', `Subgraph "${this.name}" had not answered when the request's deadline of ${deadlineMs} ms ran out`)
      : new SubgraphFetchError('too_large', `The answers to this request exceed ${maxResponseBytes} bytes, the most this caller may receive; the fetch from subgraph "${this.name}" was stopped`);
  }

  /**
   * One HTTP request through the circuit breaker, within the timeout, until no request waits for it
   * (`hooks.signal`). A query whose connection to an instance failed is sent once more, to another
   * instance (queries are idempotent); any other operation is sent once, whatever happens.
   */
  private async exchange(url: string, method: string, headers: Record<string, string>, body: string, call: CallState | undefined, hooks: ExchangeHooks): Promise<RawResponse> {
    const admitted = this.breaker.admit(Date.now());
    if ('retryInMs' in admitted) {
      const when = admitted.retryInMs > 0 ? `for ${Math.ceil(admitted.retryInMs)} ms more` : 'while a probe request is in flight';
      throw new SubgraphFetchError('circuit_open', `Subgraph "${this.name}" is failing; requests to it are suspended ${when}`);
    }
    this.notify('onRequest', call?.query ?? '', call?.variables);
    // One signal for both ways a request ends early, the timeout and no one waiting any more
    // (AbortSignal.any would build a third signal per fetch, a measurable cost on every fetch).
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.timeoutMs);
    const onCancel = () => controller.abort(hooks.signal.reason);
    if (hooks.signal.aborted) onCancel();
    else hooks.signal.addEventListener('abort', onCancel, { once: true });
    let healthy = false; // every admitted request is recorded, or a half-open circuit would wait forever
    let cancelled = false;
    try {
      const response = await this.sendToInstances(method, headers, body, controller.signal, call?.operation === 'query', hooks);
      healthy = response.status < 500;
      return { ...response, url };
    } catch (err) {
      cancelled = hooks.signal.aborted && !timedOut;
      if (cancelled) throw hooks.signal.reason;
      throw timedOut || isUndiciTimeout(err)
        ? new SubgraphFetchError('timeout', `Subgraph "${this.name}" did not answer within ${this.timeoutMs} ms`, { cause: err })
        : new SubgraphFetchError('unavailable', `Subgraph "${this.name}" is unavailable`, { cause: err });
    } finally {
      clearTimeout(timer);
      hooks.signal.removeEventListener('abort', onCancel);
      if (cancelled) this.breaker.release(admitted);
      else this.breaker.record(admitted, healthy, Date.now());
    }
  }

  /** Sends to the next instance in turn; a query that lost its connection goes once to another instance. */
  private async sendToInstances(method: string, headers: Record<string, string>, body: string, signal: AbortSignal, idempotent: boolean, hooks: ExchangeHooks) {
    const send = (instance: SubgraphInstance) =>
      this.pools.send({
        origin: instance.origin,
        path: instance.path,
        connections: this.connections,
        method,
        headers,
        body,
        signal,
        timeoutMs: this.timeoutMs,
        retryable: idempotent,
        onBytes: (n) => hooks.onBytes(n),
      });
    const attempt = async (instance: SubgraphInstance) => {
      try {
        const response = await send(instance);
        this.instances.answered(instance);
        return response;
      } catch (err) {
        if (isConnectionFailure(err)) this.instances.rest(instance, Date.now());
        throw err;
      }
    };
    const first = this.instances.pick(Date.now());
    try {
      return await attempt(first);
    } catch (err) {
      const next = idempotent && isConnectionFailure(err) && !signal.aborted ? this.instances.other(first, Date.now()) : undefined;
      if (!next) throw err;
      this.notify('onRetry', first.url, next.url);
      return await attempt(next);
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
}

/** A hook's arguments after the subgraph name. */
type HookArguments<H> = NonNullable<H> extends (subgraph: string, ...rest: infer R) => void ? R : never;
