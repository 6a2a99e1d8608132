/**
 * One GraphQL request sent the same way over each of the gateway's transports, and the answer in
 * one shape, so a test can assert that every transport answers alike: HTTP POST and GET, SSE POST
 * and GET (`Accept: text/event-stream`, distinct connections mode) and GraphQL over WebSocket
 * (graphql-ws). Requests carry what a well-behaved client sends (JSON bodies, the
 * `apollo-require-preflight` header on GET) unless the test asks for a `bare` request.
 */
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import type { GraphQLResponseError } from './stack.ts';

export const TRANSPORTS = ['POST', 'GET', 'SSE POST', 'SSE GET', 'WebSocket'] as const;
export type Transport = (typeof TRANSPORTS)[number];

export interface GraphQLParams {
  readonly query: string;
  readonly variables?: Record<string, unknown>;
  readonly operationName?: string;
}

export interface Answer {
  /** HTTP status; over WebSocket 200 for a `next` message, 400 for an `error` message, the close code when the socket closed. */
  readonly status: number;
  readonly data?: unknown;
  readonly errors?: GraphQLResponseError[];
  /** WebSocket only: how the socket closed, if it did. */
  readonly closed?: { readonly code: number; readonly reason: string };
  /** Bytes of the answer: the HTTP body, the SSE body up to its first result, or the WebSocket message's payload. */
  readonly bytes: number;
  /** Nothing came within `timeoutMs` (a subscription waiting for its first event). */
  readonly timedOut?: true;
}

/** The first `next` event of an SSE body (or its JSON errors when it is not a stream). */
function sseResult(contentType: string, text: string): Record<string, unknown> {
  if (!contentType.startsWith('text/event-stream')) return text ? (JSON.parse(text) as Record<string, unknown>) : {};
  const next = /^event: next\ndata: (.*)$/m.exec(text);
  return next ? (JSON.parse(next[1]!) as Record<string, unknown>) : {};
}

/** An SSE body read up to its first `next` or `complete` event: a subscription's stream does not end by itself. */
async function readEventStream(body: ReadableStream<Uint8Array> | null): Promise<string> {
  if (!body) return '';
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return text;
      text += decoder.decode(value, { stream: true });
      if (/^event: (next|complete)\n[^]*?\n\n/m.test(text)) return text;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}

function search(params: GraphQLParams): string {
  const q = new URLSearchParams({ query: params.query });
  if (params.variables) q.set('variables', JSON.stringify(params.variables));
  if (params.operationName) q.set('operationName', params.operationName);
  return `?${q.toString()}`;
}

export interface SendOptions {
  /** Request headers (HTTP, SSE), or the `connection_init` payload (WebSocket): credentials. */
  readonly headers?: Record<string, string>;
  /** Send only `headers` (and the SSE `Accept`): no JSON content type, no preflight header. */
  readonly bare?: boolean;
  /** `x-request-id` of the request (of the WebSocket upgrade): the gateway passes it on to every subgraph request it makes for it. */
  readonly requestId?: string;
  /** Give up waiting after this long (a subscription's first event may never come); the answer is then `timedOut`. */
  readonly timeoutMs?: number;
}

async function overHttp(url: string, transport: Exclude<Transport, 'WebSocket'>, params: GraphQLParams, { headers = {}, bare = false, requestId, timeoutMs }: SendOptions): Promise<Answer> {
  const sse = transport.startsWith('SSE');
  const get = transport.endsWith('GET');
  // Not bare: as Apollo Client 4 asks, so a refusal comes with its status (GraphQL over HTTP).
  const modern = { accept: 'application/graphql-response+json, application/json;q=0.9' };
  const base: Record<string, string> = bare ? {} : get ? { 'apollo-require-preflight': 'true', ...modern } : { 'content-type': 'application/json', ...modern };
  const signal = timeoutMs === undefined ? undefined : AbortSignal.timeout(timeoutMs);
  try {
    const res = await fetch(`${url}graphql${get ? search(params) : ''}`, {
      method: get ? 'GET' : 'POST',
      headers: { ...base, ...headers, ...(sse ? { accept: 'text/event-stream' } : {}), ...(requestId ? { 'x-request-id': requestId } : {}) },
      ...(get ? {} : { body: JSON.stringify(params) }),
      ...(signal ? { signal } : {}),
    });
    const text = sse ? await readEventStream(res.body) : await res.text();
    const body = sse ? sseResult(res.headers.get('content-type') ?? '', text) : text ? (JSON.parse(text) as Record<string, unknown>) : {};
    return { status: res.status, bytes: Buffer.byteLength(text), ...body };
  } catch (err) {
    if (signal?.aborted) return { status: 200, bytes: 0, timedOut: true };
    throw err;
  }
}

/** `ws`'s WebSocket sending `headers` with its upgrade request. */
function webSocketWith(headers: Record<string, string>): typeof WebSocket {
  return class extends WebSocket {
    constructor(address: string | URL | null, protocols?: string | string[]) {
      super(address as string, protocols, { headers });
    }
  } as typeof WebSocket;
}

/** One operation on a fresh graphql-ws connection: its first `next` or its `error`, or how the socket closed. */
async function overWebSocket(url: string, params: GraphQLParams, { headers: connectionParams, requestId, timeoutMs }: SendOptions): Promise<Answer> {
  let closed: Answer['closed'];
  const client: Client = createClient({
    url: `${url.replace(/^http/, 'ws')}graphql`,
    webSocketImpl: requestId ? webSocketWith({ 'x-request-id': requestId }) : WebSocket,
    retryAttempts: 0,
    ...(connectionParams ? { connectionParams } : {}),
    on: { closed: (e) => void (closed = { code: (e as { code: number }).code, reason: String((e as { reason: unknown }).reason) }) },
  });
  const size = (payload: unknown) => Buffer.byteLength(JSON.stringify(payload));
  let timer: NodeJS.Timeout | undefined;
  try {
    return await new Promise<Answer>((resolve) => {
      const dispose = client.subscribe(params, {
        next: (result) => {
          resolve({ status: 200, bytes: size(result), ...(result as Record<string, unknown>) });
          dispose();
        },
        error: (e) =>
          resolve(Array.isArray(e) ? { status: 400, bytes: size(e), errors: e as GraphQLResponseError[] } : { status: closed?.code ?? 0, bytes: 0, ...(closed ? { closed } : {}) }),
        complete: () => resolve({ status: closed?.code ?? 0, bytes: 0, ...(closed ? { closed } : {}) }),
      });
      if (timeoutMs !== undefined) timer = setTimeout(() => resolve({ status: 200, bytes: 0, timedOut: true }), timeoutMs);
    });
  } finally {
    clearTimeout(timer);
    await client.dispose();
  }
}

/** Sends `params` over `transport` to the gateway at `url` (ending in `/`). */
export function send(url: string, transport: Transport, params: GraphQLParams, options: SendOptions = {}): Promise<Answer> {
  return transport === 'WebSocket' ? overWebSocket(url, params, options) : overHttp(url, transport, params, options);
}
