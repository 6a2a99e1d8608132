/**
 * A GraphQL request as the pipeline takes it, Apollo Server's `HTTPGraphQLRequest`, from each
 * transport: read from a node:http request (GraphQL over HTTP and over SSE, the same reading), or
 * made for a graphql-ws `subscribe` message; then restricted to the registered operations of a
 * trusted-documents key, and, for an SSE GET, turned into the POST it stands for.
 */
import type { IncomingMessage } from 'node:http';
import { HeaderMap, type HTTPGraphQLRequest } from '@apollo/server';
import { readGraphQLBody, toHeaderMap } from '../../lib/http.ts';
import { resolveTrusted, type DocumentStore } from '../access/documents.ts';

/** Content types whose body is parsed as JSON; any other body goes to Apollo Server as text (and fails there). */
const JSON_TYPES = ['application/json', 'application/graphql-response+json'];

export type ReadRequest =
  | { readonly ok: true; readonly http: HTTPGraphQLRequest }
  | { readonly ok: false; readonly status: 400 | 413; readonly code: 'BAD_REQUEST' | 'PAYLOAD_TOO_LARGE'; readonly message: string };

/** A GET's query string or a POST's body, within `bodyLimitBytes`, as Apollo Server takes it. */
export async function readHttpRequest(req: IncomingMessage, url: URL, bodyLimitBytes: number): Promise<ReadRequest> {
  const method = req.method === 'GET' ? 'GET' : 'POST';
  let body: unknown;
  if (method === 'POST') {
    const read = await readGraphQLBody(req, bodyLimitBytes, JSON_TYPES);
    if (!read.ok) return read;
    body = read.body;
  }
  return { ok: true, http: { method, headers: toHeaderMap(req.headers), search: url.search, body } };
}

/** The request a graphql-ws `subscribe` payload stands for: a JSON POST (no cross-site form can send one, so CSRF prevention passes it). */
export function webSocketRequest(payload: unknown): HTTPGraphQLRequest {
  return { method: 'POST', headers: new HeaderMap([['content-type', 'application/json']]), search: '', body: payload };
}

/** A request's GraphQL parameters: the query string of a GET, `variables` and `extensions` parsed where they are JSON; the body of a POST. */
export function paramsOf(http: HTTPGraphQLRequest): Record<string, unknown> {
  if (http.method !== 'GET') return typeof http.body === 'object' && http.body !== null && !Array.isArray(http.body) ? (http.body as Record<string, unknown>) : {};
  const out: Record<string, unknown> = {};
  for (const [k, v] of new URLSearchParams(http.search)) {
    try {
      out[k] = k === 'variables' || k === 'extensions' ? JSON.parse(v) : v;
    } catch {
      out[k] = v;
    }
  }
  return out;
}

/** The query text a request carries, if any (a persisted query may carry only its hash). */
export function queryOf(http: HTTPGraphQLRequest): string | undefined {
  if (http.method === 'GET') return new URLSearchParams(http.search).get('query') ?? undefined;
  const query = paramsOf(http)['query'];
  return typeof query === 'string' ? query : undefined;
}

/**
 * An SSE GET as the POST it stands for, with the same headers (so CSRF prevention judges the real
 * request): Apollo Server refuses every operation but a query over GET, and an SSE GET may also
 * subscribe (graphql-sse). The ban on mutations over GET then holds in ./plugin.ts. Query-string
 * values are read as Apollo Server reads a GET's.
 */
export function getAsPost(http: HTTPGraphQLRequest): { ok: true; http: HTTPGraphQLRequest } | { ok: false; message: string } {
  const body: Record<string, unknown> = {};
  const search = new URLSearchParams(http.search);
  for (const key of ['query', 'operationName', 'variables', 'extensions']) {
    const values = search.getAll(key);
    if (values.length > 1) return { ok: false, message: `The '${key}' search parameter may only be specified once.` };
    const value = values[0];
    if (value === undefined) continue;
    if (key !== 'variables' && key !== 'extensions') {
      body[key] = value;
      continue;
    }
    try {
      body[key] = JSON.parse(value);
    } catch {
      return { ok: false, message: `The ${key} search parameter contains invalid JSON.` };
    }
  }
  return { ok: true, http: { ...http, method: 'POST', search: '', body } };
}

/**
 * The request of a trusted-documents key resolved to its app's registered operation (as a query
 * string for a GET, a body otherwise), or why it may not run.
 */
export async function trustedRequest(
  documents: DocumentStore,
  app: string,
  http: HTTPGraphQLRequest,
): Promise<{ ok: true; http: HTTPGraphQLRequest } | { ok: false; message: string }> {
  const trusted = await resolveTrusted(documents, app, paramsOf(http));
  if (!trusted.ok) return trusted;
  if (http.method !== 'GET') return { ok: true, http: { ...http, body: trusted.body } };
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(trusted.body)) {
    if (v === undefined || (k === 'extensions' && Object.keys(v as object).length === 0)) continue;
    params.set(k, typeof v === 'string' ? v : JSON.stringify(v));
  }
  return { ok: true, http: { ...http, search: `?${params.toString()}` } };
}
