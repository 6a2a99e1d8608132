/**
 * GraphQL subscriptions through the federated gateway, on the gateway's `/graphql`:
 *
 * - GraphQL over WebSocket (graphql-ws, subprotocol `graphql-transport-ws`): upgrade
 *   `ws://gateway/graphql`, then `connection_init` with `{ "authorization": "Bearer <key or JWT>" }`
 *   or `{ "x-api-key": "<key>" }` (without them, the upgrade request's own `Authorization` /
 *   `x-api-key` headers count; without any, the caller is anonymous).
 * - GraphQL over Server-Sent Events, "distinct connections" mode of the graphql-sse protocol: a GET
 *   or POST to `/graphql` with `Accept: text/event-stream` and the usual credentials headers; the
 *   answer is a stream of `event: next` (one per result) ending with `event: complete`.
 *
 * Both run ./execution.ts: the same keys, subgraph scopes, operation limits and trusted documents
 * as queries; each subscription is routed to the subgraph that owns its root field and every event
 * is completed with what other subgraphs contribute through the normal query plan. Queries and
 * mutations may be sent on both transports too (one result, then complete), and go through Apollo
 * Server exactly as over HTTP.
 *
 * Delivery: every event a subgraph publishes while the subscription is open reaches the client once,
 * in order. While the gateway reconnects to a restarting subgraph, events published in between are
 * lost (at most once); when it cannot reconnect, the subscription ends with an error.
 *
 * WebSocket close codes (graphql-ws's own codes keep their meaning):
 *
 * | code | when |
 * |------|------|
 * | 1001 | the gateway is shutting down ("Going away"); reconnect to another instance |
 * | 1009 | a message larger than BODY_LIMIT_BYTES |
 * | 4400 | a message that is not graphql-transport-ws (graphql-ws) |
 * | 4401 | bad, expired or revoked credentials in `connection_init` or the upgrade headers; or `subscribe` before `connection_ack` |
 * | 4406 | the client did not offer the `graphql-transport-ws` subprotocol (graphql-ws) |
 * | 4408 | no `connection_init` within 3 s of opening (graphql-ws) |
 * | 4409 | a `subscribe` reusing the id of a running subscription (graphql-ws) |
 * | 4413 | slow consumer: more than `maxQueuedEvents` events (or `maxBufferedBytes` bytes) waiting for one client |
 * | 4429 | too many subscriptions: SUBSCRIPTIONS_PER_CONNECTION on this connection or SUBSCRIPTIONS_PER_KEY for this key; also the key's rate limit at connection time, and a second `connection_init` (graphql-ws) |
 * | 4500 | an internal error |
 *
 * Errors that do not close the connection (an `error` message for that one subscription, with
 * `extensions.code`): GRAPHQL_PARSE_FAILED, GRAPHQL_VALIDATION_FAILED, BAD_USER_INPUT,
 * OPERATION_RESOLUTION_FAILURE, SUBGRAPH_NOT_SUBSCRIBED (the key's scope lacks the subgraph),
 * OPERATION_LIMIT_EXCEEDED, PERSISTED_QUERY_NOT_IN_LIST, RATE_LIMITED, NOT_READY. A subscription
 * that had started and can no longer go on gets a `next` message with the error and then
 * `complete`: SUBGRAPH_UNAVAILABLE (the owning subgraph's connection was lost and every
 * reconnection failed, or it refused the gateway), or the subgraph's own error code.
 *
 * Over SSE the same refusals are HTTP answers with a JSON `errors` body: 401 (credentials),
 * 403 (SUBGRAPH_NOT_SUBSCRIBED, PERSISTED_QUERY_NOT_IN_LIST), 400 (document, variables, limits),
 * 429 (rate limit, SUBSCRIPTION_LIMIT_EXCEEDED), 503 (NOT_READY); a slow consumer's stream is cut
 * (the connection closes without `complete`); shutdown ends every stream with `complete`.
 *
 * Keep-alive: the gateway pings every WebSocket client (`keepAliveMs`, WebSocket ping frames; a
 * client that does not answer within as long is dropped), writes an SSE comment line as often,
 * and pings each subgraph connection with graphql-ws `ping` messages (no `pong` within
 * `keepAliveMs`: that connection is closed and re-established).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { GraphQLError, type ExecutionResult, type GraphQLFormattedError } from 'graphql';
import type { FormattedExecutionResult } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ApolloGateway } from '@apollo/gateway';
import type { ApolloServerPlugin } from '@apollo/server';
import { AccessCode, type Caller } from '../../lib/access.ts';
import type { Contracts } from '../access/contracts.ts';
import type { Identify } from '../access/callers.ts';
import type { Signer } from '../access/signer.ts';
import type { GatewayContext } from '../context.ts';
import type { OperationLimits } from '../limits.ts';
import type { RateDecision } from '../rateLimit.ts';
import { SubscriptionExecution, type GraphQLFormattedResult, type Prepared, type RequestParams, type Session } from './execution.ts';
import { backoff, SubgraphConnections } from './upstream.ts';

export { SubscriptionCode } from './execution.ts';

/** WebSocket close codes the gateway itself uses (see the table above). */
export const CloseCode = {
  GOING_AWAY: 1001,
  UNAUTHORIZED: 4401,
  SLOW_CONSUMER: 4413,
  TOO_MANY_SUBSCRIPTIONS: 4429,
} as const;

/** Tunables of the subscription transports (GatewayOptions['subscriptions']). */
export interface SubscriptionOptions {
  /** Subscriptions one WebSocket connection may have open (SUBSCRIPTIONS_PER_CONNECTION, default 20). */
  readonly perConnection?: number;
  /** Subscriptions one key (or, for anonymous callers, one address) may have open on this gateway instance, all connections together (SUBSCRIPTIONS_PER_KEY, default 100). */
  readonly perKey?: number;
  /** Keep-alive interval towards clients and subgraphs, and the pong deadline, in ms (default 12 s). */
  readonly keepAliveMs?: number;
  /** Events one subscription may have waiting for a slow client before it is closed with 4413 (default 100). */
  readonly maxQueuedEvents?: number;
  /** Bytes one connection may have waiting in its socket before it is closed with 4413 (default 4 MiB). */
  readonly maxBufferedBytes?: number;
  /** Reconnection attempts to a subgraph whose connection dropped, before its subscriptions end with SUBGRAPH_UNAVAILABLE (default 5, about 15 s). */
  readonly upstreamRetryAttempts?: number;
  /** Wait before reconnection attempt n, in ms (default 0.5 s doubling up to 8 s, plus jitter). */
  readonly upstreamRetryDelayMs?: (attempt: number) => number;
  /** Time a client has to send `connection_init`, in ms (default 3 s). */
  readonly connectionInitTimeoutMs?: number;
}

/** What the gateway gives the subscription transports (built in gateway/server.ts). */
export interface SubscriptionDeps {
  readonly gateway: ApolloGateway;
  readonly identify: Identify;
  readonly contracts: () => Contracts | undefined;
  readonly limits: (caller: Caller) => OperationLimits;
  readonly defaultPageSize: number;
  readonly maxTokens: number;
  readonly sign?: Signer | undefined;
  /** Runs a query or mutation through Apollo Server (errors come back formatted). */
  readonly executeOperation: (params: { query: string; variables?: Record<string, unknown>; operationName?: string; extensions?: Record<string, unknown> }, context: GatewayContext) => Promise<GraphQLFormattedResult>;
  /** Spends one request of the caller's rate-limit budget. */
  readonly rateLimit?: ((caller: Caller, ip: string | undefined) => Promise<RateDecision>) | undefined;
  /** The quota key of a caller (rateLimitKey in gateway/access/callers.ts). */
  readonly quotaKey: (caller: Caller, ip: string | undefined) => string;
  /** Trusted documents of a key restricted to its app's registered operations. */
  readonly trusted?: ((app: string, body: Record<string, unknown>) => Promise<{ ok: true; body: Record<string, unknown> } | { ok: false; message: string }>) | undefined;
  /** The gateway's error formatting (client codes, masking in production). */
  readonly formatError: (error: GraphQLFormattedError) => GraphQLFormattedError;
  readonly bodyLimitBytes: number;
  readonly log: Logger;
}

export interface SubscriptionServer {
  /** The http server's `upgrade` handler: graphql-ws on `/graphql`, anything else refused. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Does this `/graphql` request ask for an event stream (`Accept: text/event-stream`)? */
  wantsEventStream(req: IncomingMessage): boolean;
  /** Serves one SSE request (distinct connections mode). */
  sse(req: IncomingMessage, res: ServerResponse, requestId: string, log: Logger): Promise<void>;
  /** Open WebSocket connections, SSE streams, subscriptions and subgraph connections. */
  stats(): { websockets: number; eventStreams: number; subscriptions: number; subgraphConnections: number };
  /** Closes every client connection (1001 / SSE `complete`) and every subgraph connection. */
  close(graceMs?: number): Promise<void>;
}

interface WsSession extends Session {
  readonly documents: string | null;
  readonly ip: string | undefined;
}

const REQUEST_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;

/** A close reason must fit in 123 bytes. */
function closeReason(text: string): string {
  return Buffer.byteLength(text) <= 123 ? text : `${Buffer.from(text).subarray(0, 120).toString('utf8').replace(/\uFFFD+$/, '')}...`;
}

/** `connection_init` credentials as headers, or undefined when the payload carries none. */
function credentialsOf(payload: Readonly<Record<string, unknown>> | undefined): Record<string, string> | undefined {
  if (!payload) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(payload)) {
    const key = k.toLowerCase();
    if ((key === 'authorization' || key === 'x-api-key') && typeof v === 'string') out[key] = v;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/**
 * Refuses a subscription sent as a plain HTTP request (HTTP 400, BAD_REQUEST, naming the two
 * transports) instead of letting @apollo/gateway fail on it with an internal error.
 */
export function httpSubscriptionsPlugin(): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation }) {
          if (operation?.operation !== 'subscription') return;
          throw new GraphQLError(
            'Subscriptions are served over GraphQL over WebSocket (graphql-transport-ws, ws://<gateway>/graphql) or Server-Sent Events (this URL with Accept: text/event-stream)',
            { extensions: { code: 'BAD_REQUEST', http: { status: 400 } } },
          );
        },
      };
    },
  };
}

export function createSubscriptionServer(deps: SubscriptionDeps, options: SubscriptionOptions = {}): SubscriptionServer {
  const keepAliveMs = options.keepAliveMs ?? 12_000;
  const maxBufferedBytes = options.maxBufferedBytes ?? 4 * 1024 * 1024;
  const upstream = new SubgraphConnections({
    sign: deps.sign,
    keepAliveMs,
    retryAttempts: options.upstreamRetryAttempts ?? 5,
    retryDelayMs: options.upstreamRetryDelayMs ?? backoff,
    ackTimeoutMs: 10_000,
  });
  const execution = new SubscriptionExecution({
    gateway: deps.gateway,
    contracts: deps.contracts,
    limits: deps.limits,
    defaultPageSize: deps.defaultPageSize,
    maxTokens: deps.maxTokens,
    executeOperation: deps.executeOperation,
    upstream,
    perConnection: options.perConnection ?? 20,
    perKey: options.perKey ?? 100,
    maxQueued: options.maxQueuedEvents ?? 100,
  });
  let closing = false;

  const formatOne = (e: GraphQLError | GraphQLFormattedError): GraphQLFormattedError => {
    const formatted = e instanceof GraphQLError ? e.toJSON() : e;
    if (formatted.extensions && 'http' in formatted.extensions) {
      const { http: _h, ...extensions } = formatted.extensions;
      return deps.formatError({ ...formatted, extensions });
    }
    return deps.formatError(formatted);
  };
  const formatResult = (result: ExecutionResult | GraphQLFormattedResult): FormattedExecutionResult => ({
    ...(result.data !== undefined ? { data: result.data } : {}),
    ...(result.errors ? { errors: result.errors.map(formatOne) } : {}),
    ...(result.extensions ? { extensions: result.extensions as Record<string, unknown> } : {}),
  });

  /** Resolves a trusted-documents key's request to its registered operation. */
  async function trustedParams(documents: string | null, params: RequestParams): Promise<RequestParams | GraphQLError> {
    if (documents === null || !deps.trusted) return params;
    const resolved = await deps.trusted(documents, { ...params });
    if (!resolved.ok) return new GraphQLError(resolved.message, { extensions: { code: 'PERSISTED_QUERY_NOT_IN_LIST', http: { status: 403 } } });
    return resolved.body;
  }

  async function spend(caller: Caller, ip: string | undefined): Promise<GraphQLError | undefined> {
    const decision = await deps.rateLimit?.(caller, ip);
    if (!decision || decision.allowed) return undefined;
    return new GraphQLError(
      `Rate limit of ${decision.limit} requests reached for this ${caller.role === 'anonymous' ? 'address' : 'key'}; retry in ${decision.retryAfterSeconds} s`,
      { extensions: { code: 'RATE_LIMITED', retryAfterSeconds: decision.retryAfterSeconds, http: { status: 429 } } },
    );
  }

  // -------------------------------------------------------------------------------------------
  // graphql-ws

  const wss = new WebSocketServer({ noServer: true, maxPayload: deps.bodyLimitBytes });
  /** The transport context of a graphql-ws operation: what execute/subscribe receive. */
  interface Operation {
    readonly prepared: Prepared;
  }
  const ws = useServer<Record<string, unknown>, { session: WsSession }>(
    {
      connectionInitWaitTimeout: options.connectionInitTimeoutMs ?? 3000,
      onConnect: async (ctx) => {
        const { socket, request } = ctx.extra;
        const ip = request.socket.remoteAddress;
        const incomingId = request.headers['x-request-id'];
        const requestId = typeof incomingId === 'string' && REQUEST_ID_RE.test(incomingId) ? incomingId : randomUUID();
        const who = await deps.identify(credentialsOf(ctx.connectionParams) ?? request.headers);
        const caller = who.ok ? who.caller : { sub: 'anonymous', role: 'anonymous' as const, read: [], write: [] };
        const limited = await spend(caller, ip);
        if (limited) {
          socket.close(CloseCode.TOO_MANY_SUBSCRIPTIONS, closeReason(limited.message));
          return false;
        }
        if (!who.ok) {
          socket.close(CloseCode.UNAUTHORIZED, closeReason(`${AccessCode.UNAUTHENTICATED}: ${who.message}`));
          return false;
        }
        const log = deps.log.child({ requestId, transport: 'graphql-ws' });
        ctx.extra.session = { caller, requestId, log, quotaKey: deps.quotaKey(caller, ip), open: 0, documents: who.documents, ip };
        return true;
      },
      onSubscribe: async (ctx, _id, payload) => {
        const session = ctx.extra.session;
        if (!session) return [new GraphQLError('Not acknowledged', { extensions: { code: AccessCode.UNAUTHENTICATED } })];
        const limited = await spend(session.caller, session.ip);
        if (limited) return [limited];
        const params = await trustedParams(session.documents, payload as RequestParams);
        if (params instanceof GraphQLError) return [params];
        const socket = ctx.extra.socket;
        const prepared = await execution.prepare(params, session, {
          congested: () => socket.bufferedAmount > maxBufferedBytes,
          overflow: (queued) => socket.close(CloseCode.SLOW_CONSUMER, `Slow consumer: ${queued} events waiting`),
        });
        switch (prepared.kind) {
          case 'refused':
            return prepared.errors;
          case 'too_many':
            socket.close(CloseCode.TOO_MANY_SUBSCRIPTIONS, closeReason(prepared.error.message));
            return [prepared.error];
          case 'single':
          case 'stream': {
            const operation: Operation = { prepared };
            return {
              schema: deps.contracts()!.apiSchema,
              document: prepared.document,
              ...(typeof payload.operationName === 'string' ? { operationName: payload.operationName } : {}),
              variableValues: payload.variables ?? {},
              contextValue: operation,
            };
          }
        }
      },
      subscribe: (args) => {
        const { prepared } = args.contextValue as Operation;
        if (prepared.kind === 'stream') return prepared.stream;
        throw new Error('not a subscription');
      },
      execute: (args) => {
        const { prepared } = args.contextValue as Operation;
        if (prepared.kind === 'single') return prepared.result() as Promise<ExecutionResult>; // formatted by onNext
        throw new Error('not a query or mutation');
      },
      onNext: (_ctx, _id, _payload, _args, result) => formatResult(result),
      onError: (_ctx, _id, _payload, errors) => errors.map(formatOne),
    },
    wss,
    keepAliveMs,
  );

  function refuseUpgrade(socket: Duplex, status: number, text: string): void {
    socket.write(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    socket.destroy();
  }

  // -------------------------------------------------------------------------------------------
  // Server-Sent Events (distinct connections)

  const streams = new Set<{ end(): void }>();

  function jsonError(res: ServerResponse, status: number, errors: readonly (GraphQLError | GraphQLFormattedError)[], headers: Record<string, string> = {}): void {
    const body = JSON.stringify({ errors: errors.map(formatOne) });
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(body)), ...headers });
    res.end(body);
  }

  function statusOf(e: GraphQLError): number {
    const http = e.extensions['http'] as { status?: unknown } | undefined;
    return typeof http?.status === 'number' ? http.status : 400;
  }

  async function readParams(req: IncomingMessage): Promise<RequestParams | { status: number; message: string }> {
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
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > deps.bodyLimitBytes) return { status: 413, message: `Request body larger than ${deps.bodyLimitBytes} bytes` };
      chunks.push(chunk);
    }
    try {
      const body: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      if (typeof body !== 'object' || body === null || Array.isArray(body)) return { status: 400, message: 'The body must be a JSON object' };
      return body as RequestParams;
    } catch {
      return { status: 400, message: 'The request body is not valid JSON' };
    }
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

  async function sse(req: IncomingMessage, res: ServerResponse, requestId: string, log: Logger): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'POST') {
      res.setHeader('allow', 'GET, POST, OPTIONS');
      return jsonError(res, 405, [new GraphQLError('Use GET or POST', { extensions: { code: 'METHOD_NOT_ALLOWED' } })]);
    }
    if (closing) return jsonError(res, 503, [new GraphQLError('The gateway is shutting down', { extensions: { code: 'SHUTTING_DOWN' } })]);
    const ip = req.socket.remoteAddress;
    const who = await deps.identify(req.headers);
    const limited = await spend(who.ok ? who.caller : { sub: 'anonymous', role: 'anonymous', read: [], write: [] }, ip);
    if (limited) return jsonError(res, 429, [limited], { 'retry-after': String(limited.extensions['retryAfterSeconds']) });
    if (!who.ok) return jsonError(res, 401, [new GraphQLError(who.message, { extensions: { code: AccessCode.UNAUTHENTICATED } })], { 'www-authenticate': 'Bearer realm="ali-graph"' });
    const read = await readParams(req);
    if ('status' in read && typeof read.status === 'number') {
      return jsonError(res, read.status, [new GraphQLError(String(read.message), { extensions: { code: read.status === 413 ? 'PAYLOAD_TOO_LARGE' : 'BAD_REQUEST' } })]);
    }
    const params = await trustedParams(who.documents, read as RequestParams);
    if (params instanceof GraphQLError) return jsonError(res, 403, [params]);
    const session: Session = { caller: who.caller, requestId, log: log.child({ transport: 'sse' }), quotaKey: deps.quotaKey(who.caller, ip), open: 0 };
    const prepared = await execution.prepare(params, session, {
      congested: () => res.writableLength > maxBufferedBytes,
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
        await write(res, event('next', formatResult(result)));
        await write(res, event('complete'));
        return void res.end();
      }
      case 'stream': {
        const { stream } = prepared;
        res.writeHead(200, SSE_HEADERS);
        res.flushHeaders();
        const handle = {
          end: () => void stream.return(),
        };
        streams.add(handle);
        const ping = setInterval(() => void write(res, ':\n\n'), keepAliveMs);
        res.once('close', handle.end);
        try {
          // Some proxies and browsers wait for a first byte before showing the stream.
          await write(res, ':\n\n');
          for await (const result of stream) {
            if (!(await write(res, event('next', formatResult(result))))) break;
          }
        } finally {
          clearInterval(ping);
          streams.delete(handle);
          res.off('close', handle.end);
          await stream.return();
        }
        if (!res.destroyed) {
          await write(res, event('complete'));
          res.end();
        }
        return;
      }
    }
  }

  return {
    upgrade(req, socket, head) {
      const url = new URL(req.url ?? '/', 'http://gateway');
      if (url.pathname !== '/graphql') return refuseUpgrade(socket, 404, 'Not Found');
      if (closing) return refuseUpgrade(socket, 503, 'Service Unavailable');
      wss.handleUpgrade(req, socket, head, (client: WebSocket) => wss.emit('connection', client, req));
    },
    wantsEventStream(req) {
      return String(req.headers.accept ?? '').includes('text/event-stream');
    },
    sse,
    stats() {
      return { websockets: wss.clients.size, eventStreams: streams.size, subscriptions: execution.open, subgraphConnections: upstream.size };
    },
    async close(graceMs = 1000) {
      closing = true;
      for (const s of [...streams]) s.end();
      for (const client of wss.clients) client.close(CloseCode.GOING_AWAY, 'Going away');
      // Clients that do not answer the close handshake are cut after the grace period.
      const cut = setTimeout(() => {
        for (const client of wss.clients) client.terminate();
      }, graceMs);
      await ws.dispose();
      clearTimeout(cut);
      await upstream.close();
    },
  };
}
