/** The gateway's own JSON answers: a body, or a GraphQL-shaped `errors` list with one coded error. */
import type { ServerResponse } from 'node:http';

export function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function httpError(res: ServerResponse, status: number, code: string, message: string): void {
  json(res, status, { errors: [{ message, extensions: { code } }] });
}
