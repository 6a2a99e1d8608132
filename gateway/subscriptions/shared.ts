/**
 * What the WebSocket and SSE transports do the same way around the request pipeline
 * (gateway/pipeline/): admit a WebSocket connection (the same credentials and rate limits as HTTP,
 * gateway/http/admission.ts), spend one request of the caller's budget per operation, and format
 * every error as the gateway does over HTTP.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { GraphQLError, type ExecutionResult, type GraphQLFormattedError } from 'graphql';
import type { FormattedExecutionResult } from 'graphql-ws';
import type { Caller } from '../../lib/access.ts';
import { admitCaller, rateLimitMessage, type Admission } from '../http/admission.ts';
import type { SubscriptionExecution } from './execution.ts';
import type { ResolvedSubscriptionOptions, SubscriptionDeps } from './index.ts';

/** What each transport (./ws.ts, ./sse.ts) is built from (./index.ts). */
export interface TransportDeps {
  readonly deps: SubscriptionDeps;
  readonly options: ResolvedSubscriptionOptions;
  readonly execution: SubscriptionExecution;
  readonly shared: TransportShared;
}

/** A result whose errors are already formatted (Apollo Server's answers). */
export type GraphQLFormattedResult = FormattedExecutionResult<Record<string, unknown>, unknown>;

export interface TransportShared {
  /** Identifies the caller of a connection and spends one request of its budget. */
  admit(headers: IncomingHttpHeaders | Record<string, string>, ip: string | undefined): Promise<Admission>;
  /** Spends one request of the caller's budget; the RATE_LIMITED error when it is spent. */
  spend(caller: Caller, ip: string | undefined): Promise<GraphQLError | undefined>;
  /** An error as the client sees it (the gateway's formatting; the internal `http` extension removed). */
  formatError(e: GraphQLError | GraphQLFormattedError): GraphQLFormattedError;
  formatResult(result: ExecutionResult | GraphQLFormattedResult): FormattedExecutionResult;
}

/**
 * The resume position a subscription request carries in `extensions.lastEventId` (anything but a
 * string is kept as its JSON, which is no event id and is refused as such).
 */
export function lastEventIdOf(extensions: unknown): string | undefined {
  if (typeof extensions !== 'object' || extensions === null) return undefined;
  const value = (extensions as Record<string, unknown>)['lastEventId'];
  if (value === undefined || value === null) return undefined;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** The RATE_LIMITED error of the transports (HTTP 429 over SSE, an `error` message over WebSocket). */
function rateLimited(message: string, retryAfterSeconds: number): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'RATE_LIMITED', retryAfterSeconds, http: { status: 429 } } });
}

/**
 * An error Apollo Server already formatted, as the GraphQLError graphql-ws wants from `onSubscribe`;
 * it serialises to the formatted error as it is (locations and all).
 */
export class FormattedError extends GraphQLError {
  constructor(readonly formatted: GraphQLFormattedError) {
    super(formatted.message, { extensions: formatted.extensions ?? {} });
  }

  override toJSON(): GraphQLFormattedError {
    return this.formatted;
  }
}

export function createTransportShared(deps: SubscriptionDeps): TransportShared {
  const formatError = (e: GraphQLError | GraphQLFormattedError): GraphQLFormattedError => {
    const formatted = e instanceof GraphQLError ? e.toJSON() : e;
    if (formatted.extensions && 'http' in formatted.extensions) {
      const { http: _h, ...extensions } = formatted.extensions;
      return deps.formatError({ ...formatted, extensions });
    }
    return deps.formatError(formatted);
  };
  return {
    admit: (headers, ip) => admitCaller(deps.identify, deps.rateLimit, headers, ip),
    async spend(caller, ip) {
      const decision = await deps.rateLimit?.(caller, ip);
      if (!decision || decision.allowed) return undefined;
      return rateLimited(rateLimitMessage(caller, decision), decision.retryAfterSeconds);
    },
    formatError,
    formatResult: (result) => ({
      ...(result.data !== undefined ? { data: result.data } : {}),
      ...(result.errors ? { errors: result.errors.map(formatError) } : {}),
      ...(result.extensions ? { extensions: result.extensions as Record<string, unknown> } : {}),
    }),
  };
}
