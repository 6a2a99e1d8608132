/**
 * GraphQL over Server-Sent Events, "distinct connections" mode of the graphql-sse protocol: a GET
 * or POST to `/graphql` with `Accept: text/event-stream` and the usual credentials headers; the
 * answer is a stream of `event: next` (one per result) ending with `event: complete`.
 *
 * The request is admitted and read as every GraphQL request over HTTP (gateway/routes/graphql.ts)
 * and goes through the same pipeline (gateway/pipeline/): its refusals are the HTTP answers of
 * GraphQL over HTTP, with a JSON `errors` body (400, 401, 403, 405, 413, 429); a query's or
 * mutation's result is one `next` event (with `@defer`, one `next` event per payload). A subscription the pipeline accepted may still be
 * refused here with 400 (variables), 429 (SUBSCRIPTION_LIMIT_EXCEEDED) or 503 (its subgraph has no
 * URL). A slow consumer's stream is cut (the connection closes without `complete`); shutdown ends
 * every stream with `complete`. Keep-alive: an SSE comment line every `keepAliveMs`.
 *
 * Resuming: a subscription's stream first carries the event-log position it starts from as an
 * `id:` line of its own, and every event's `next` carries the event's id as its `id:`, so an
 * `EventSource` reconnects with `Last-Event-ID` and gets exactly what it missed. The request's
 * `Last-Event-ID` header (else `extensions.lastEventId`) is the resume position.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HTTPGraphQLResponse } from '@apollo/server';
import type { GraphQLError } from 'graphql';
import { sendHTTPGraphQLResponse } from '../../lib/http.ts';
import { httpError, json } from '../http/responses.ts';
import { incrementalPayloads, paramsOf, type PipelineOutcome, type PipelineRequest } from '../pipeline/index.ts';
import type { Prepared, Session } from './execution.ts';
import { lastEventIdOf, type TransportDeps } from './shared.ts';
import { isPosition, positionId } from './stream.ts';

export interface SseTransport {
  /** Serves one admitted SSE request. */
  serve(req: IncomingMessage, res: ServerResponse, request: PipelineRequest): Promise<void>;
  /** Open event streams. */
  readonly streams: number;
  /** Refuses new requests and ends every open stream with `complete`. */
  close(): void;
}

const SSE_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' };

/** One SSE event; `data` is JSON already (one line); `id` the event's id. */
function event(name: 'next' | 'complete', data?: string, id?: string): string {
  const idLine = id === undefined ? '' : `id: ${id}\n`;
  return data === undefined ? `event: ${name}\ndata:\n\n` : `event: ${name}\n${idLine}data: ${data}\n\n`;
}

/** The resume position of a request: `Last-Event-ID` (what an EventSource sends when it reconnects), else `extensions.lastEventId`. */
function resumePosition(request: PipelineRequest): string | undefined {
  const header = request.http.headers.get('last-event-id');
  if (header !== undefined && header !== '') return header;
  return lastEventIdOf(paramsOf(request.http)['extensions']);
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

/** The pipeline's answer: a result as one `next` event, anything else as the HTTP answer it is. */
async function answer(res: ServerResponse, response: HTTPGraphQLResponse): Promise<void> {
  if ((response.status ?? 200) !== 200 || response.body.kind !== 'complete') return sendHTTPGraphQLResponse(res, response);
  res.writeHead(200, SSE_HEADERS);
  // Apollo Server's JSON is one line (plus a final newline): one `data:` line.
  await write(res, event('next', response.body.string.trimEnd()));
  await write(res, event('complete'));
  res.end();
}

/** A result with deferred parts: one `next` event per payload, as each is ready, until the last or until the client goes. */
async function answerIncrementally(res: ServerResponse, outcome: Extract<PipelineOutcome, { kind: 'incremental' }>): Promise<void> {
  const payloads = incrementalPayloads(outcome);
  const stop = () => void payloads.return();
  res.once('close', stop);
  res.writeHead(200, SSE_HEADERS);
  try {
    for await (const payload of payloads) if (!(await write(res, event('next', JSON.stringify(payload))))) break;
  } finally {
    res.off('close', stop);
    await payloads.return();
  }
  if (!res.destroyed) {
    await write(res, event('complete'));
    res.end();
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
      // A position alone: an `id:` line without data moves the client's last event id (EventSource dispatches nothing).
      const chunk = isPosition(result) ? `id: ${positionId(result)}\n\n` : event('next', JSON.stringify(shared.formatResult(result)), eventIdOf(result));
      if (!(await write(res, chunk))) break;
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

function eventIdOf(result: { readonly extensions?: Record<string, unknown> | undefined }): string | undefined {
  const id = result.extensions?.['eventId'];
  return typeof id === 'string' ? id : undefined;
}

export function createSseTransport({ deps, options, execution, shared }: TransportDeps): SseTransport {
  const streams = new Set<{ end(): void }>();
  let closing = false;

  async function serve(req: IncomingMessage, res: ServerResponse, request: PipelineRequest): Promise<void> {
    if (closing) return httpError(res, 503, 'SHUTTING_DOWN', 'The gateway is shutting down');
    const outcome = await deps.pipeline.run(request);
    if (outcome.kind === 'response') return answer(res, outcome.response);
    if (outcome.kind === 'incremental') return answerIncrementally(res, outcome);
    // The subscriptions may have been closed while the operation waited for a slot (../pipeline/executions.ts).
    if (closing) return httpError(res, 503, 'SHUTTING_DOWN', 'The gateway is shutting down');
    const { caller, requestId, log } = request.context;
    const session: Session = { caller, requestId, log: log.child({ transport: 'sse' }), quotaKey: deps.quotaKey(caller, req.socket.remoteAddress), open: 0 };
    const prepared: Prepared = await execution.subscribe(outcome.subscription, session, {
      congested: () => res.writableLength > options.maxBufferedBytes,
      overflow: () => res.destroy(),
      lastEventId: resumePosition(request),
      positions: true,
    });
    if (prepared.kind === 'refused') return json(res, statusOf(prepared.errors[0]!), { errors: prepared.errors.map(shared.formatError) });
    if (closing) {
      await prepared.stream.return();
      return httpError(res, 503, 'SHUTTING_DOWN', 'The gateway is shutting down');
    }
    return stream(res, prepared.stream, streams, { shared, options });
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
