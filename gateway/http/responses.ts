/**
 * The gateway's own JSON answers: a body, or a refusal as a GraphQL response (an `errors` list with
 * one coded error), in the media type the client accepts (GraphQL over HTTP): 
 * `application/graphql-response+json` when the client prefers it (Apollo Client 4 does), else
 * `application/json`, the legacy type, under which a refused GraphQL request is answered 200 (see
 * `refusesHttpRequest` in lib/errors.ts).
 */
import type { ServerResponse } from 'node:http';
import type { HTTPGraphQLResponse } from '@apollo/server';
import Negotiator from 'negotiator';
import { refusesHttpRequest } from '../../lib/errors.ts';

export const GRAPHQL_RESPONSE_JSON = 'application/graphql-response+json';
const JSON_TYPE = 'application/json';

export function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** The GraphQL response media type for an `Accept` header: the client's preferred of the two; application/json for none (legacy clients). */
export function graphqlMediaType(accept: string | undefined): typeof GRAPHQL_RESPONSE_JSON | typeof JSON_TYPE {
  if (!accept) return JSON_TYPE;
  return new Negotiator({ headers: { accept } }).mediaType([JSON_TYPE, GRAPHQL_RESPONSE_JSON]) === GRAPHQL_RESPONSE_JSON ? GRAPHQL_RESPONSE_JSON : JSON_TYPE;
}

/** A refusal of the request as a GraphQL response with one coded error, in the media type the client accepts. */
export function httpError(res: ServerResponse, status: number, code: string, message: string): void {
  const type = graphqlMediaType(res.req?.headers.accept);
  json(res, status, { errors: [{ message, extensions: { code } }] }, { 'content-type': `${type}; charset=utf-8` });
}

/**
 * The status of a GraphQL response under its media type: under `application/json`, a refused GraphQL
 * request (4xx, no code that refuses the HTTP request itself) is answered 200.
 */
export function negotiatedStatus(response: HTTPGraphQLResponse): number | undefined {
  const status = response.status ?? 200;
  const type = response.headers.get('content-type') ?? '';
  if (status < 400 || status >= 500 || !type.startsWith(JSON_TYPE) || response.body.kind !== 'complete') return response.status;
  let codes: (string | undefined)[];
  try {
    const body = JSON.parse(response.body.string) as { errors?: { extensions?: { code?: string } }[] };
    codes = (body.errors ?? []).map((e) => e.extensions?.code);
  } catch {
    return response.status;
  }
  return codes.length > 0 && !codes.some(refusesHttpRequest) ? 200 : response.status;
}
