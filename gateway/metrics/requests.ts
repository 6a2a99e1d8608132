/**
 * The request series of the gateway's metrics (gateway/metrics.ts) and the Apollo Server plugin
 * that feeds them.
 *
 * The `operation` label is bounded, since callers choose operation names: a name becomes a label
 * value only once its operation passed every check of the pipeline (parsing, validation, access,
 * operation limits), cut to {@link MetricsOptions.maxOperationNameLength} characters, and only
 * for the first {@link MetricsOptions.maxOperationNames} distinct names (first come, first
 * served, for the life of the process); a refused request counts as `other`, and so does a valid
 * one whose name comes after the budget is spent (counted in `operation_names_folded_total`, the
 * sign the budget is too small or someone is spending it). Real operations keep their names as
 * long as they are among the first names seen.
 */
import type { ApolloServerPlugin, BaseContext, GraphQLRequestContext } from '@apollo/server';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { MetricsOptions } from '../metrics.ts';

/**
 * How a GraphQL request ended, the `outcome` label of `requests_total`:
 * - `success`: no errors;
 * - `partial`: errors, and `data` with at least some fields (e.g. one subgraph failed);
 * - `error`: errors and no `data` (null or absent) after execution started, or an unexpected
 *   server error; the caller did nothing wrong (subgraph down on a non-null field, timeout, bug);
 * - `invalid`: the request was rejected before execution (malformed HTTP request, syntax or
 *   validation error, unknown operation name, persisted-query miss, a plugin refusing the
 *   operation) or answered 4xx with no `data` (bad variable values).
 */
type RequestOutcome = 'success' | 'partial' | 'error' | 'invalid';

/** Label value of requests with no resolved operation, and of names beyond the budget. */
const OTHER_OPERATION = 'other';
/** Label value of an operation without a name (`{ alliances { … } }`). */
const ANONYMOUS_OPERATION = 'anonymous';

/** Seconds; up to the default subgraph timeout (SUBGRAPH_TIMEOUT_MS, 30 s) so timeouts land in a bucket. */
export const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

interface RequestState {
  readonly startedAt: number;
  /** Every didResolveOperation hook passed (parsing, validation, access, limits). */
  admitted: boolean;
  executionStarted: boolean;
  finished: boolean;
}

/** `requests_total`, `request_duration_seconds`, `requests_in_flight`, `operation_names_folded_total`, and the plugin that feeds them. */
export function requestSeries(prefix: string, registers: Registry[], options: MetricsOptions): { plugin: ApolloServerPlugin<BaseContext> } {
  const requests = new Counter({
    name: `${prefix}requests_total`,
    help: 'GraphQL requests by operation name and outcome (success | partial | error | invalid)',
    labelNames: ['operation', 'outcome'] as const,
    registers,
  });
  const requestDuration = new Histogram({
    name: `${prefix}request_duration_seconds`,
    help: 'Time from the start of GraphQL processing to the response, by operation name',
    labelNames: ['operation'] as const,
    buckets: DURATION_BUCKETS,
    registers,
  });
  const folded = new Counter({
    name: `${prefix}operation_names_folded_total`,
    help: 'Requests of valid operations counted as operation="other" because the budget of distinct operation names was spent',
    registers,
  });
  const inFlight = new Gauge({ name: `${prefix}requests_in_flight`, help: 'GraphQL operations being executed (those waiting for a slot: operations_waiting)', registers });
  const operationLabel = operationLabels(options.maxOperationNames ?? 100, options.maxOperationNameLength ?? 64, () => folded.inc());

  // Keyed by the request context, which Apollo Server passes unchanged to every hook, including
  // the server-level unexpectedErrorProcessingRequest.
  const states = new WeakMap<GraphQLRequestContext<BaseContext>, RequestState>();
  function finish(ctx: GraphQLRequestContext<BaseContext>, outcome: RequestOutcome): void {
    const state = states.get(ctx);
    if (!state || state.finished) return;
    state.finished = true;
    const operation = operationLabel(ctx, state.admitted);
    requests.inc({ operation, outcome });
    requestDuration.observe({ operation }, (performance.now() - state.startedAt) / 1000);
    inFlight.dec();
  }

  const plugin: ApolloServerPlugin<BaseContext> = {
    async requestDidStart(ctx) {
      const state: RequestState = { startedAt: performance.now(), admitted: false, executionStarted: false, finished: false };
      states.set(ctx, state);
      inFlight.inc();
      return {
        // Apollo Server asks for a plugin's answer only once every didResolveOperation hook passed.
        async responseForOperation() {
          state.admitted = true;
          return null;
        },
        async executionDidStart() {
          state.executionStarted = true;
        },
        async willSendResponse() {
          finish(ctx, classify(ctx, state.executionStarted));
        },
      };
    },
    async unexpectedErrorProcessingRequest({ requestContext }) {
      finish(requestContext, 'error');
    },
    // Rejected before the GraphQL pipeline starts (no requestDidStart): counted, not timed.
    async invalidRequestWasReceived() {
      requests.inc({ operation: OTHER_OPERATION, outcome: 'invalid' });
    },
    async contextCreationDidFail() {
      requests.inc({ operation: OTHER_OPERATION, outcome: 'error' });
    },
  };
  return { plugin };
}

/**
 * The `operation` label of a request: its operation's name if the operation passed every check
 * (`admitted`), cut to `maxLength`, while fewer than `maxNames` names have a label; `other`
 * otherwise (`onFolded` told when a valid name finds the budget spent).
 */
function operationLabels(maxNames: number, maxLength: number, onFolded: () => void): (ctx: GraphQLRequestContext<BaseContext>, admitted: boolean) => string {
  const known = new Set<string>();
  return (ctx, admitted) => {
    if (!ctx.operation || !admitted) return OTHER_OPERATION;
    const name = (ctx.operationName ?? ANONYMOUS_OPERATION).slice(0, maxLength);
    if (known.has(name)) return name;
    if (known.size >= maxNames) {
      onFolded();
      return OTHER_OPERATION;
    }
    known.add(name);
    return name;
  };
}

function classify(ctx: GraphQLRequestContext<BaseContext>, executionStarted: boolean): RequestOutcome {
  const body = ctx.response.body;
  const result = body?.kind === 'incremental' ? body.initialResult : body?.singleResult;
  if (!result?.errors?.length) return 'success';
  if (result.data !== null && result.data !== undefined) return 'partial';
  if (!executionStarted) return 'invalid';
  const status = ctx.response.http.status;
  return status !== undefined && status >= 400 && status < 500 ? 'invalid' : 'error';
}

