/**
 * Analytics exports: GET /analytics/<report>.csv or .json runs a named analytics operation through
 * the gateway and returns its result as CSV or JSON. (Being written for issue #6.)
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GraphQLFormattedError } from 'graphql';

export type Execute = (
  query: string,
  variables?: Record<string, unknown>,
) => Promise<{ data?: Record<string, unknown> | null; errors?: readonly GraphQLFormattedError[] }>;

export async function handleExport(_req: IncomingMessage, res: ServerResponse, url: URL, _execute: Execute): Promise<void> {
  res.writeHead(404, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify({ errors: [{ message: `No analytics report at ${url.pathname}`, extensions: { code: 'NOT_FOUND' } }] }));
}
