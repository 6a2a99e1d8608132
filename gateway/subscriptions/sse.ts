/**
 * GraphQL over Server-Sent Events, "distinct connections" mode of the graphql-sse protocol: a GET
 * or POST to `/graphql` with `Accept: text/event-stream` and the usual credentials headers; the
 * answer is a stream of `event: next` (one per result) ending with `event: complete`.
 *
 * The refusals the WebSocket transport sends as close codes or `error` messages are HTTP answers
 * here, with a JSON `errors` body: 401 (credentials), 403 (SUBGRAPH_NOT_SUBSCRIBED,
 * PERSISTED_QUERY_NOT_IN_LIST), 400 (document, variables, limits), 429 (rate limit,
 * SUBSCRIPTION_LIMIT_EXCEEDED), 503 (NOT_READY); a slow consumer's stream is cut (the connection
 * closes without `complete`); shutdown ends every stream with `complete`. Keep-alive: an SSE
 * comment line every `keepAliveMs`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import type { Logger } from 'pino';
import { AccessCode } from '../../lib/access.ts';
import { BodyTooLarge, readBody } from '../../lib/http.ts';
import { json } from '../http/responses.ts';
import type { Prepared, RequestParams, Session } from './execution.ts';
import { rateLimited, type TransportDeps } from './shared.ts';

export interface SseTransport {
  /** Serves one SSE request. */
  serve(req: IncomingMessage, res: ServerResponse, requestId: string, log: Logger): Promise<void>;
  /** Open event streams. */
  readonly streams: number;
  /** Refuses new requests and ends every open stream with `complete`. */
  close(): void;
}

const SSE_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' };

function event(name: 'next' | 'complete', data?: unknown): string {
  return data === undefined ? `event: ${name}\ndata:\n\n` : `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** Writes and waits until the chunk has left the process (the slow-consumer bound counts what has not). */
function write(res: ServerResponse, chunk: string): Promise<boolean> {
  if (res.destroyed || !res.writable) return Promise.resolve(false);
  return new Promise((resolve) => res.write(chunk, (err) => resolve(!err)));
}

function statusOf(e: GraphQLError): number {
  const http = e.extensions['http'] as { status?: unknown } | undefined;
  return typeof http?.status === 'number' ? http.status : 400;
}

/** The request's GraphQL parameters: the query string of a GET, the JSON body of a POST. */
async function readParams(req: IncomingMessage, bodyLimitBytes: number): Promise<RequestParams | { status: number; message: string }> {
  if (req.method === 'GET') {
    const url = new URL(req.url ?? '/', 'http://gateway');
    const out: Record<string, unknown> = {};
    for (const key of ['query', 'operationName', 'variables', 'extensions']) {
      const v = url.searchParams.get(key);
      if (v === null) continue;
      if (key === 'variables' || key === 'extensions') {
        try {
          out[key] = JSON.parse(v);
        } catch {
          return { status: 400, message: `"${key}" is not valid JSON` };
        }
      } else {
        out[key] = v;
      }
    }
    return out;
  }
  if (!String(req.headers['content-type'] ?? '').includes('application/json')) return { status: 415, message: 'Send the request as application/json' };
  let raw: Buffer;
  try {
    raw = await readBody(req, bodyLimitBytes);
  } catch (err) {
    if (err instanceof BodyTooLarge) return { status: 413, message: err.message };
    throw err;
  }
  try {
    const body: unknown = JSON.parse(raw.toString('utf8'));
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return { status: 400, message: 'The body must be a JSON object' };
    return body as RequestParams;
  } catch {
    return { status: 400, message: 'The request body is not valid JSON' };
  }
}

/** Streams a subscription's events until it ends, the client goes or the gateway closes it. */
async function stream(
  res: ServerResponse,
  events: Extract<Prepared, { kind: 'stream' }>['stream'],
  streams: Set<{ end(): void }>,
  { shared, options }: Pick<TransportDeps, 'shared' | 'options'>,
): Promise<void> {
  res.writeHead(200, SSE_HEADERS);
  res.flushHeaders();
  const handle = { end: () => void events.return() };
  streams.add(handle);
  const ping = setInterval(() => void write(res, ':\n\n'), options.keepAliveMs);
  res.once('close', handle.end);
  try {
    // Some proxies and browsers wait for a first byte before showing the stream.
    await write(res, ':\n\n');
    for await (const result of events) {
      if (!(await write(res, event('next', shared.formatResult(result))))) break;
    }
  } finally {
    clearInterval(ping);
    streams.delete(handle);
    res.off('close', handle.end);
    await events.return();
  }
  if (!res.destroyed) {
    await write(res, event('complete'));
    res.end();
  }
}

export function createSseTransport({ deps, options, execution, shared }: TransportDeps): SseTransport {
  const streams = new Set<{ end(): void }>();
  let closing = false;

  function jsonError(res: ServerResponse, status: number, errors: readonly (GraphQLError | GraphQLFormattedError)[], headers: Record<string, string> = {}): void {
    json(res, status, { errors: errors.map(shared.formatError) }, headers);
  }

  async function serve(req: IncomingMessage, res: ServerResponse, requestId: string, log: Logger): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'POST') {
      res.setHeader('allow', 'GET, POST, OPTIONS');
      return jsonError(res, 405, [new GraphQLError('Use GET or POST', { extensions: { code: 'METHOD_NOT_ALLOWED' } })]);
    }
    if (closing) return jsonError(res, 503, [new GraphQLError('The gateway is shutting down', { extensions: { code: 'SHUTTING_DOWN' } })]);
    const ip = req.socket.remoteAddress;
    const admission = await shared.admit(req.headers, ip);
    if (admission.outcome === 'rate_limited') {
      const { retryAfterSeconds } = admission.decision;
      return jsonError(res, 429, [rateLimited(admission.message, retryAfterSeconds)], { 'retry-after': String(retryAfterSeconds) });
    }
    if (admission.outcome === 'unauthenticated') {
      return jsonError(res, 401, [new GraphQLError(admission.message, { extensions: { code: AccessCode.UNAUTHENTICATED } })], { 'www-authenticate': 'Bearer realm="ali-graph"' });
    }
    const read = await readParams(req, deps.bodyLimitBytes);
    if ('status' in read && typeof read.status === 'number') {
      return jsonError(res, read.status, [new GraphQLError(String(read.message), { extensions: { code: read.status === 413 ? 'PAYLOAD_TOO_LARGE' : 'BAD_REQUEST' } })]);
    }
    const params = await shared.trustedParams(admission.documents, read as RequestParams);
    if (params instanceof GraphQLError) return jsonError(res, 403, [params]);
    const session: Session = { caller: admission.caller, requestId, log: log.child({ transport: 'sse' }), quotaKey: deps.quotaKey(admission.caller, ip), open: 0 };
    const prepared = await execution.prepare(params, session, {
      congested: () => res.writableLength > options.maxBufferedBytes,
      overflow: () => res.destroy(),
    });
    switch (prepared.kind) {
      case 'refused':
        return jsonError(res, statusOf(prepared.errors[0]!), prepared.errors);
      case 'too_many':
        return jsonError(res, 429, [prepared.error]);
      case 'single': {
        const result = await prepared.result();
        res.writeHead(200, SSE_HEADERS);
        await write(res, event('next', shared.formatResult(result)));
        await write(res, event('complete'));
        return void res.end();
      }
      case 'stream':
        return stream(res, prepared.stream, streams, { shared, options });
    }
  }

  return {
    serve,
    get streams() {
      return streams.size;
    },
    close() {
      closing = true;
      for (const s of [...streams]) s.end();
    },
  };
}
