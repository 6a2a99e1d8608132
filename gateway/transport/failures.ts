/**
 * What a failed subgraph fetch becomes: a coded GraphQL error (`extensions.code`, `serviceName`)
 * and an outcome for the metrics, from what the transport saw (nothing sent, an answer, or a
 * failure of its own: timeout, connection, open circuit). Where its errors go is ./failurePaths.ts.
 */
import { GraphQLError } from 'graphql';
import { ErrorCode, pickCodes } from '../../lib/errors.ts';

/**
 * How one fetch ended, as the `onFetch` hook reports it; `cancelled`: the gateway stopped it, or
 * never sent it, because its request's budget was spent (./budget.ts), which says nothing of the
 * subgraph's health.
 */
export type FetchOutcome = 'ok' | 'error' | 'timeout' | 'circuit_open' | 'cancelled';

/** `extensions.code` of the errors a failed subgraph fetch becomes (meanings: lib/errors.ts). */
export const SubgraphErrorCode = pickCodes(
  ErrorCode.SUBGRAPH_UNAVAILABLE,
  ErrorCode.SUBGRAPH_TIMEOUT,
  ErrorCode.SUBGRAPH_CIRCUIT_OPEN,
  ErrorCode.SUBGRAPH_BAD_RESPONSE,
  ErrorCode.REQUEST_DEADLINE_EXCEEDED,
  ErrorCode.RESPONSE_TOO_LARGE,
);
export type SubgraphErrorCode = (typeof SubgraphErrorCode)[keyof typeof SubgraphErrorCode];

type FailureReason = 'timeout' | 'unavailable' | 'circuit_open' | 'deadline' | 'too_large';

/** A failure of the transport itself, typed so that it becomes a coded GraphQL error. */
export class SubgraphFetchError extends Error {
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
  deadline: SubgraphErrorCode.REQUEST_DEADLINE_EXCEEDED,
  too_large: SubgraphErrorCode.RESPONSE_TOO_LARGE,
};

const REASON_OUTCOME: Record<FailureReason, FetchOutcome> = {
  timeout: 'timeout',
  unavailable: 'error',
  circuit_open: 'circuit_open',
  deadline: 'cancelled',
  too_large: 'cancelled',
};

/** What the transport saw of one call's HTTP request. */
export type Transport =
  | { readonly kind: 'not_sent' }
  | { readonly kind: 'answered'; readonly status: number }
  | { readonly kind: 'failed'; readonly error: SubgraphFetchError };

export interface FailureReport {
  readonly outcome: FetchOutcome;
  readonly message: string;
  readonly extensions: Record<string, unknown>;
}

/** The report of a call that threw `err` out of the stock pipeline, after the transport saw `transport`. */
export function describeFailure(subgraph: string, err: unknown, seen: Transport): FailureReport {
  const transport = err instanceof SubgraphFetchError ? { kind: 'failed' as const, error: err } : seen;
  if (transport.kind === 'failed') {
    return {
      outcome: REASON_OUTCOME[transport.error.reason],
      message: transport.error.message,
      extensions: { code: REASON_CODE[transport.error.reason], serviceName: subgraph },
    };
  }
  const answered = transport.kind === 'answered';
  if (err instanceof GraphQLError) {
    const code = err.extensions['code'] ?? (answered ? SubgraphErrorCode.SUBGRAPH_BAD_RESPONSE : 'INTERNAL_SERVER_ERROR');
    return { outcome: 'error', message: err.message, extensions: { ...err.extensions, code, serviceName: subgraph } };
  }
  if (answered) {
    return {
      outcome: 'error',
      message: `Subgraph "${subgraph}" sent a response that is not a GraphQL response`,
      extensions: { code: SubgraphErrorCode.SUBGRAPH_BAD_RESPONSE, serviceName: subgraph },
    };
  }
  // Thrown before anything was sent (a willSendRequest override, a missing query).
  return {
    outcome: 'error',
    message: err instanceof Error ? err.message : String(err),
    extensions: { code: 'INTERNAL_SERVER_ERROR', serviceName: subgraph },
  };
}

function firstErrorCode(body: unknown): string | undefined {
  if (body === null || typeof body !== 'object') return undefined;
  const errors = (body as { errors?: unknown }).errors;
  if (!Array.isArray(errors)) return undefined;
  const code: unknown = (errors[0] as { extensions?: { code?: unknown } } | undefined)?.extensions?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Stock's error for a non-2xx answer (message `status: text`, `extensions.response`, 401/403
 * codes), completed with a code: the subgraph's own first error code if it sent GraphQL errors,
 * else SUBGRAPH_UNAVAILABLE for 5xx and SUBGRAPH_BAD_RESPONSE otherwise.
 */
export function codedResponseError(subgraph: string, stock: GraphQLError, status: number): GraphQLError {
  const extensions = stock.extensions as Record<string, unknown> & { response?: { body?: unknown } };
  const code =
    (typeof extensions['code'] === 'string' ? extensions['code'] : undefined) ??
    firstErrorCode(extensions.response?.body) ??
    (status >= 500 ? SubgraphErrorCode.SUBGRAPH_UNAVAILABLE : SubgraphErrorCode.SUBGRAPH_BAD_RESPONSE);
  return new GraphQLError(stock.message, { extensions: { ...extensions, code, serviceName: subgraph } });
}
