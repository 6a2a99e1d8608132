/**
 * Incremental delivery (`@defer`) in the request pipeline: which format a request negotiated, the
 * handoff on its context where the lean executor leaves the deferred parts of its answer
 * (gateway/executor/defer.ts), and the plugin that turns them into the negotiated format.
 *
 * The formats are those Apollo Server 5 writes as `multipart/mixed` (its `incremental` response
 * body; it negotiates `Accept` the same way, see {@link incrementalFormat}):
 * - `deferSpec=20220824`, what Apollo Client 3 and 4 ask for by default: an initial result with
 *   `hasNext: true`, then payloads of `incremental: [{ data, path, label?, errors? }]` and `hasNext`;
 * - `incrementalSpec=v0.2`, graphql-js 17's format (Apollo Client 4's GraphQL17Alpha9Handler): the
 *   initial result and later payloads announce `pending: [{ id, path, label? }]`, and payloads carry
 *   `incremental: [{ id, data, errors? }]` and `completed: [{ id, errors? }]`.
 * A client that accepts neither never gets a handoff: the executor answers it merged, as one
 * ordinary response. Over SSE and graphql-ws the format is `deferSpec=20220824` (no `Accept` to
 * negotiate), each payload one `next` message.
 */
import type {
  ApolloServerPlugin,
  GraphQLExperimentalFormattedInitialIncrementalExecutionResultAlpha2 as InitialAlpha2,
  GraphQLExperimentalFormattedInitialIncrementalExecutionResultAlpha9 as InitialAlpha9,
  GraphQLExperimentalFormattedSubsequentIncrementalExecutionResultAlpha2 as SubsequentAlpha2,
  GraphQLExperimentalFormattedSubsequentIncrementalExecutionResultAlpha9 as SubsequentAlpha9,
} from '@apollo/server';
import { GraphQLError, type FormattedExecutionResult, type GraphQLFormattedError } from 'graphql';
import Negotiator from 'negotiator';
import type { GatewayContext } from '../context.ts';
import type { DeferredPayload, DeferredResponse, PendingPart } from '../executor/defer.ts';

export type IncrementalFormat = 'deferSpec=20220824' | 'incrementalSpec=v0.2';

export type InitialPayload = InitialAlpha2 | InitialAlpha9;
export type SubsequentPayload = SubsequentAlpha2 | SubsequentAlpha9;

/** A request's incremental delivery (GatewayContext['incremental']), set by the pipeline when the client can take it. */
export interface IncrementalHandoff {
  readonly format: IncrementalFormat;
  /** Over HTTP, Apollo Server writes the payloads (multipart); the other transports take them from {@link delivery}. */
  readonly overHttp: boolean;
  /** Set by the lean executor when its answer has deferred parts. */
  deferred?: DeferredResponse;
  /** The answer, formatted, for SSE and graphql-ws. */
  delivery?: { readonly initial: InitialPayload; readonly subsequent: AsyncGenerator<SubsequentPayload, void, undefined> };
}

const MULTIPART = 'multipart/mixed';
const FORMATS: Record<string, IncrementalFormat> = {
  'multipart/mixed; deferSpec=20220824': 'deferSpec=20220824',
  'multipart/mixed; incrementalSpec=v0.2': 'incrementalSpec=v0.2',
};

/**
 * The incremental format an `Accept` header prefers, as Apollo Server's HTTP layer negotiates it
 * (runHttpQuery: `multipart/mixed` without a spec parameter is no format), or undefined.
 */
export function incrementalFormat(accept: string | undefined): IncrementalFormat | undefined {
  if (!accept) return undefined;
  const preferred = new Negotiator({ headers: { accept } }).mediaType([MULTIPART, ...Object.keys(FORMATS)]);
  return preferred ? FORMATS[preferred] : undefined;
}

/** An error of a deferred part as Apollo Server formats a result's errors (a code; then the gateway's formatting and masking). */
function formatted(error: unknown, formatError: (error: GraphQLFormattedError) => GraphQLFormattedError): GraphQLFormattedError {
  const graphqlError =
    error instanceof GraphQLError ? error : new GraphQLError(error instanceof Error ? error.message : String(error), error instanceof Error ? { originalError: error } : {});
  const json = graphqlError.toJSON();
  return formatError({ ...json, extensions: { ...json.extensions, code: json.extensions?.['code'] ?? 'INTERNAL_SERVER_ERROR' } });
}

function pendingOf(parts: readonly PendingPart[]): InitialAlpha9['pending'] {
  return parts.map(({ id, path, label }) => ({ id, path, ...(label !== undefined ? { label } : {}) }));
}

/** The initial result, with what says more follows. */
export function initialPayload(format: IncrementalFormat, result: FormattedExecutionResult, deferred: DeferredResponse): InitialPayload {
  if (format === 'deferSpec=20220824') return { ...result, hasNext: true };
  return { ...result, data: result.data ?? {}, pending: pendingOf(deferred.pending), hasNext: true };
}

/** One subsequent payload in `format`. */
export function subsequentPayload(format: IncrementalFormat, payload: DeferredPayload, formatError: (error: GraphQLFormattedError) => GraphQLFormattedError): SubsequentPayload {
  const errorsOf = (errors: readonly unknown[]) => (errors.length > 0 ? { errors: errors.map((e) => formatted(e, formatError)) } : {});
  if (format === 'deferSpec=20220824') {
    return {
      incremental: payload.completed.map((part) => ({
        data: part.data,
        path: part.path,
        ...(part.label !== undefined ? { label: part.label } : {}),
        ...errorsOf(part.errors),
      })),
      hasNext: payload.hasNext,
    };
  }
  const delivered = payload.completed.filter((part) => part.data !== null);
  return {
    ...(payload.pending.length > 0 ? { pending: pendingOf(payload.pending) } : {}),
    ...(delivered.length > 0 ? { incremental: delivered.map((part) => ({ id: part.id, data: part.data!, ...errorsOf(part.errors) })) } : {}),
    // A part whose data is null failed as a whole: its errors go with its completion.
    completed: payload.completed.map((part) => (part.data === null ? { id: part.id, ...errorsOf(part.errors) } : { id: part.id })),
    hasNext: payload.hasNext,
  };
}

async function* subsequentPayloads(
  format: IncrementalFormat,
  deferred: DeferredResponse,
  formatError: (error: GraphQLFormattedError) => GraphQLFormattedError,
): AsyncGenerator<SubsequentPayload, void, undefined> {
  try {
    for await (const payload of deferred.subsequent) yield subsequentPayload(format, payload, formatError);
  } finally {
    // The consumer stopped early (the client went away): stop the deferred parts too.
    await deferred.subsequent.return();
  }
}

/**
 * The payloads of an incremental result in order, for transports that send each as a `next`
 * message. Its `return()` (the client went away) stops the deferred parts at once.
 */
export function incrementalPayloads(outcome: {
  readonly initial: InitialPayload;
  readonly subsequent: AsyncGenerator<SubsequentPayload, void, undefined>;
  readonly cancel: () => void;
}): AsyncGenerator<InitialPayload | SubsequentPayload, void, undefined> {
  const payloads = (async function* () {
    try {
      yield outcome.initial;
      yield* outcome.subsequent;
    } finally {
      await outcome.subsequent.return();
    }
  })();
  const stop = payloads.return.bind(payloads);
  // A generator's own return() waits for the payload being computed, which waits for subgraphs.
  payloads.return = (value) => {
    outcome.cancel();
    return stop(value);
  };
  return payloads;
}

/**
 * Install it last: once every other plugin has seen the initial result as a single result, a
 * result with deferred parts becomes Apollo Server's `incremental` response body (HTTP), or the
 * handoff's {@link IncrementalHandoff.delivery} (SSE, graphql-ws).
 */
export function incrementalDeliveryPlugin(formatError: (error: GraphQLFormattedError) => GraphQLFormattedError): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ response, contextValue }) {
          const handoff = contextValue.incremental;
          const deferred = handoff?.deferred;
          if (!handoff || !deferred || response.body.kind !== 'single') return;
          const initial = initialPayload(handoff.format, response.body.singleResult, deferred);
          const subsequent = subsequentPayloads(handoff.format, deferred, formatError);
          if (!handoff.overHttp) {
            handoff.delivery = { initial, subsequent };
            return;
          }
          response.body =
            handoff.format === 'deferSpec=20220824'
              ? { kind: 'incremental', initialResult: initial as InitialAlpha2, subsequentResults: subsequent as AsyncIterable<SubsequentAlpha2> }
              : { kind: 'incremental', initialResult: initial as InitialAlpha9, subsequentResults: subsequent as AsyncIterable<SubsequentAlpha9> };
        },
      };
    },
  };
}
