/**
 * CORS: the allowed origin on every answer (CORS_ORIGINS: `*`, a comma-separated list, or `none`
 * (also '') for none, the production default), and the answer to a preflight `OPTIONS` request.
 * A browser app may send what Apollo Client and tracing libraries send (client awareness, the
 * operation name header of CSRF prevention, W3C trace context) and read what a refusal tells it
 * (`Retry-After`, the `RateLimit-*` headers, the request id).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Request headers a browser may send cross-origin. */
const CORS_ALLOWED_HEADERS = [
  'content-type',
  'accept',
  'authorization',
  'x-api-key',
  'x-request-id',
  'apollo-require-preflight',
  'x-apollo-operation-name',
  'apollographql-client-name',
  'apollographql-client-version',
  'traceparent',
  'tracestate',
] as const;

/** Response headers a browser script may read cross-origin. */
const CORS_EXPOSED_HEADERS = ['retry-after', 'ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset', 'x-request-id'] as const;

function corsHeaders(req: IncomingMessage, origins: string): Record<string, string> {
  const origin = req.headers.origin;
  if (!origin || origins.trim() === '' || origins.trim() === 'none') return {};
  const exposed = { 'access-control-expose-headers': CORS_EXPOSED_HEADERS.join(', ') };
  if (origins.trim() === '*') return { 'access-control-allow-origin': '*', ...exposed };
  const allowed = origins.split(',').map((o) => o.trim());
  return allowed.includes(origin) ? { 'access-control-allow-origin': origin, vary: 'Origin', ...exposed } : {};
}

/** Sets the CORS headers the request's origin gets (none for an origin not allowed). */
export function applyCors(req: IncomingMessage, res: ServerResponse, origins: string): void {
  for (const [k, v] of Object.entries(corsHeaders(req, origins))) res.setHeader(k, v);
}

/** Answers a preflight request (204) with the methods and headers the gateway accepts. */
export function answerPreflight(res: ServerResponse): void {
  res.writeHead(204, {
    'access-control-allow-methods': 'GET, POST, OPTIONS',
    'access-control-allow-headers': CORS_ALLOWED_HEADERS.join(', '),
    'access-control-max-age': '600',
  });
  res.end();
}
