/**
 * /graphql over HTTP: GET and POST through Apollo Server (answers compressed), after admission;
 * a key bound to trusted documents may only run its app's registered operations. A request that
 * accepts `text/event-stream` goes to the SSE transport (gateway/subscriptions/).
 */
import type { IncomingMessage } from 'node:http';
import type { ApolloServer } from '@apollo/server';
import { readGraphQLBody, sendHTTPGraphQLResponse, toHeaderMap } from '../../lib/http.ts';
import { DocumentCode, resolveTrusted, type DocumentStore } from '../access/documents.ts';
import type { GatewayContext } from '../context.ts';
import type { SubscriptionServer } from '../subscriptions/index.ts';
import type { Admit } from '../http/admission.ts';
import { sendCompressed } from '../http/compression.ts';
import type { Handler } from '../http/handler.ts';
import { httpError } from '../http/responses.ts';

export interface GraphQLRouteDeps {
  readonly apollo: ApolloServer<GatewayContext>;
  readonly admit: Admit;
  readonly documents: DocumentStore | undefined;
  readonly bodyLimitBytes: number;
  readonly subscriptions: Pick<SubscriptionServer, 'wantsEventStream' | 'sse'>;
}

/** Content types whose body is parsed as JSON; any other body goes to Apollo Server as text. */
const JSON_TYPES = ['application/json', 'application/graphql-response+json'];

/** A GET request's parameters, `variables` and `extensions` parsed where they are JSON. */
function paramsOfQueryString(url: URL): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of url.searchParams) {
    try {
      out[k] = k === 'variables' || k === 'extensions' ? JSON.parse(v) : v;
    } catch {
      out[k] = v;
    }
  }
  return out;
}

/** The registered operation a trusted-documents key's request names, as a query string (GET) or body (POST). */
async function trustedRequest(
  documents: DocumentStore,
  app: string,
  req: IncomingMessage,
  url: URL,
  body: unknown,
): Promise<{ ok: true; search: string; body: unknown } | { ok: false; message: string }> {
  const requested = req.method === 'GET' ? paramsOfQueryString(url) : typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  const trusted = await resolveTrusted(documents, app, requested);
  if (!trusted.ok) return trusted;
  if (req.method !== 'GET') return { ok: true, search: url.search, body: trusted.body };
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(trusted.body)) {
    if (v === undefined || (k === 'extensions' && Object.keys(v as object).length === 0)) continue;
    params.set(k, typeof v === 'string' ? v : JSON.stringify(v));
  }
  return { ok: true, search: `?${params.toString()}`, body };
}

export function graphqlRoute(deps: GraphQLRouteDeps): Handler {
  return async (req, res, { url, requestId, log }) => {
    if (deps.subscriptions.wantsEventStream(req)) return deps.subscriptions.sse(req, res, requestId, log);
    if (req.method !== 'GET' && req.method !== 'POST') {
      res.setHeader('allow', 'GET, POST, OPTIONS');
      return httpError(res, 405, 'METHOD_NOT_ALLOWED', 'Use GET or POST');
    }
    const admitted = await deps.admit(req, res);
    if (!admitted) return;
    let body: unknown;
    if (req.method === 'POST') {
      const read = await readGraphQLBody(req, deps.bodyLimitBytes, JSON_TYPES);
      if (!read.ok) {
        if (read.status === 413) res.setHeader('connection', 'close');
        return httpError(res, read.status, read.code, read.message);
      }
      body = read.body;
    }
    let search = url.search;
    if (admitted.documents !== null && deps.documents) {
      // A trusted-documents key: only the operations registered for its app.
      const trusted = await trustedRequest(deps.documents, admitted.documents, req, url, body);
      if (!trusted.ok) return httpError(res, 403, DocumentCode.PERSISTED_QUERY_NOT_IN_LIST, trusted.message);
      ({ search, body } = trusted);
    }
    const result = await deps.apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: req.method, headers: toHeaderMap(req.headers), search, body },
      context: async () => ({ requestId, caller: admitted.caller, log }),
    });
    return sendHTTPGraphQLResponse(res, result, (status, headers, text) => sendCompressed(req, res, status, headers, text));
  };
}
