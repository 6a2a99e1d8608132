/**
 * How the gateway's errors reach clients: the codes a client can act on, and the masking of
 * everything else in production. Used by Apollo Server's `formatError`, so by the request pipeline
 * of every transport (gateway/pipeline/), and by the subscription transports.
 */
import type { GraphQLFormattedError } from 'graphql';

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
  'SLOW_CONSUMER',
  'EVENT_BUS_UNAVAILABLE',
  'PAYLOAD_TOO_LARGE',
  'METHOD_NOT_ALLOWED',
  'SHUTTING_DOWN',
]);

/**
 * graphql-js's "Did you mean …?" ending (on validation errors and on variable values alike), the
 * pattern Apollo Server's own ApolloServerPluginDisableSuggestions removes: in production it names
 * fields, arguments and enum values a caller without introspection should not learn.
 */
const SUGGESTION = / ?Did you mean(.+?)\?$/;

/** Apollo Server's APQ protocol errors (HTTP 400) come without a code: they are the client's mistakes. */
const APQ_CLIENT_ERRORS = /^(provided sha does not match query|Unsupported persisted query version)$/;

export function withClientCode(formatted: GraphQLFormattedError): GraphQLFormattedError {
  const code = formatted.extensions?.code;
  if ((code === undefined || code === 'INTERNAL_SERVER_ERROR') && APQ_CLIENT_ERRORS.test(formatted.message)) {
    return { ...formatted, extensions: { ...formatted.extensions, code: 'BAD_REQUEST' } };
  }
  return formatted;
}

/**
 * In production, anything that is not a client-actionable error loses its message and internals,
 * and a client-actionable one its schema suggestions.
 */
export function maskError(formatted: GraphQLFormattedError, production: boolean): GraphQLFormattedError {
  if (!production) return formatted;
  const code = typeof formatted.extensions?.code === 'string' ? formatted.extensions.code : 'INTERNAL_SERVER_ERROR';
  const serviceName = formatted.extensions?.serviceName;
  if (CLIENT_CODES.has(code)) {
    // `response` (a failed subgraph's URL and body) is internal detail too.
    const { stacktrace: _s, exception: _e, response: _r, ...extensions } = (formatted.extensions ?? {}) as Record<string, unknown>;
    return { ...formatted, message: formatted.message.replace(SUGGESTION, ''), extensions };
  }
  return {
    message: 'Internal server error',
    ...(formatted.path ? { path: formatted.path } : {}),
    extensions: { code: 'INTERNAL_SERVER_ERROR', ...(serviceName ? { serviceName } : {}) },
  };
}

