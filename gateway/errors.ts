/**
 * How the gateway's errors reach clients: codes marked `client` in the catalogue (lib/errors.ts)
 * as they are, everything else masked in production. Used by Apollo Server's `formatError`, so by
 * the request pipeline of every transport (gateway/pipeline/), and by the subscription transports.
 */
import type { GraphQLFormattedError } from 'graphql';
import { ErrorCode, isClientCode } from '../lib/errors.ts';

/**
 * graphql-js's "Did you mean …?" ending (on validation errors and on variable values alike), the
 * pattern Apollo Server's own ApolloServerPluginDisableSuggestions removes: in production it names
 * fields, arguments and enum values a caller without introspection should not learn.
 */
const SUGGESTION = / ?Did you mean(.+?)\?$/;

/** Apollo Server's APQ protocol errors (HTTP 400) come without a code: they are the client's mistakes. */
const APQ_CLIENT_ERRORS = /^(provided sha does not match query|Unsupported persisted query version)$/;

function withClientCode(formatted: GraphQLFormattedError): GraphQLFormattedError {
  const code = formatted.extensions?.code;
  if ((code === undefined || code === 'INTERNAL_SERVER_ERROR') && APQ_CLIENT_ERRORS.test(formatted.message)) {
    return { ...formatted, extensions: { ...formatted.extensions, code: ErrorCode.BAD_REQUEST } };
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
  if (isClientCode(code)) {
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


/** Apollo Server's `formatError`, shared by every transport: client codes given, then masking in production. */
export function errorFormatter(production: boolean): (formatted: GraphQLFormattedError) => GraphQLFormattedError {
  return (formatted) => maskError(withClientCode(formatted), production);
}
