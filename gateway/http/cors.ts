/**
 * CORS: the allowed origin on every answer (CORS_ORIGINS: `*`, a comma-separated list, or `none`
 * (also '') for none, the production default), and the answer to a preflight `OPTIONS` request.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

function corsHeaders(req: IncomingMessage, origins: string): Record<string, string> {
  const origin = req.headers.origin;
  if (!origin || origins.trim() === '' || origins.trim() === 'none') return {};
  if (origins.trim() === '*') return { 'access-control-allow-origin': '*' };
  const allowed = origins.split(',').map((o) => o.trim());
  return allowed.includes(origin) ? { 'access-control-allow-origin': origin, vary: 'Origin' } : {};
}

/** Sets the CORS headers the request's origin gets (none for an origin not allowed). */
export function applyCors(req: IncomingMessage, res: ServerResponse, origins: string): void {
  for (const [k, v] of Object.entries(corsHeaders(req, origins))) res.setHeader(k, v);
}

/** Answers a preflight request (204) with the methods and headers the gateway accepts. */
export function answerPreflight(res: ServerResponse): void {
  res.writeHead(204, {
    'access-control-allow-methods': 'GET, POST, OPTIONS',
    'access-control-allow-headers': 'content-type, authorization, x-api-key, x-request-id, apollo-require-preflight',
    'access-control-max-age': '600',
  });
  res.end();
}
