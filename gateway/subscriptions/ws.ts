/**
 * GraphQL over WebSocket (graphql-ws, subprotocol `graphql-transport-ws`) on the gateway's
 * `/graphql`: upgrade `ws://gateway/graphql`, then `connection_init` with
 * `{ "authorization": "Bearer <key or JWT>" }` or `{ "x-api-key": "<key>" }` (without them, the
 * upgrade request's own `Authorization` / `x-api-key` headers count; without any, the caller is
 * anonymous). The key's rate limit is spent once at connection time and once per operation.
 *
 * Close codes (graphql-ws's own codes keep their meaning):
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
 * Keep-alive: WebSocket ping frames every `keepAliveMs`; a client that does not answer within as
 * long is dropped.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { GraphQLError, type ExecutionArgs, type ExecutionResult } from 'graphql';
import type { Context, SubscribePayload } from 'graphql-ws';
import { useServer, type Extra } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import { AccessCode } from '../../lib/access.ts';
import { requestIdOf } from '../http/requestId.ts';
import type { Prepared, RequestParams, Session } from './execution.ts';
import type { TransportDeps } from './shared.ts';

/** WebSocket close codes the gateway itself uses (see the table above). */
export const CloseCode = {
  GOING_AWAY: 1001,
  UNAUTHORIZED: 4401,
  SLOW_CONSUMER: 4413,
  TOO_MANY_SUBSCRIPTIONS: 4429,
} as const;

interface WsSession extends Session {
  readonly documents: string | null;
  readonly ip: string | undefined;
}

type WsContext = Context<Record<string, unknown>, Extra & Partial<{ session: WsSession }>>;

/** The transport context of a graphql-ws operation: what execute/subscribe receive. */
interface Operation {
  readonly prepared: Prepared;
}

export interface WebSocketTransport {
  /** The http server's `upgrade` handler: graphql-ws on `/graphql`, anything else refused. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Open WebSocket connections. */
  readonly connections: number;
  /** Refuses new connections, closes every open one with 1001 (cut after `graceMs`). */
  close(graceMs: number): Promise<void>;
}

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

function refuseUpgrade(socket: Duplex, status: number, text: string): void {
  socket.write(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  socket.destroy();
}

/** `connection_init`: admits the caller (closing with 4429 or 4401 when it may not connect) and opens its session. */
async function onConnect({ deps, shared }: TransportDeps, ctx: WsContext): Promise<boolean> {
  const { socket, request } = ctx.extra;
  const ip = request.socket.remoteAddress;
  const requestId = requestIdOf(request.headers);
  const admission = await shared.admit(credentialsOf(ctx.connectionParams) ?? request.headers, ip);
  switch (admission.outcome) {
    case 'rate_limited':
      socket.close(CloseCode.TOO_MANY_SUBSCRIPTIONS, closeReason(admission.message));
      return false;
    case 'unauthenticated':
      socket.close(CloseCode.UNAUTHORIZED, closeReason(`${AccessCode.UNAUTHENTICATED}: ${admission.message}`));
      return false;
    case 'admitted': {
      const { caller, documents } = admission;
      const log = deps.log.child({ requestId, transport: 'graphql-ws' });
      ctx.extra.session = { caller, requestId, log, quotaKey: deps.quotaKey(caller, ip), open: 0, documents, ip };
      return true;
    }
  }
}

/** `subscribe`: the operation checked and prepared for execute/subscribe, or the errors that refuse it. */
async function onSubscribe(
  { deps, options, execution, shared }: TransportDeps,
  ctx: WsContext,
  payload: SubscribePayload,
): Promise<ExecutionArgs | readonly GraphQLError[]> {
  const session = ctx.extra.session;
  if (!session) return [new GraphQLError('Not acknowledged', { extensions: { code: AccessCode.UNAUTHENTICATED } })];
  const limited = await shared.spend(session.caller, session.ip);
  if (limited) return [limited];
  const params = await shared.trustedParams(session.documents, payload as RequestParams);
  if (params instanceof GraphQLError) return [params];
  const socket = ctx.extra.socket;
  const prepared = await execution.prepare(params, session, {
    congested: () => socket.bufferedAmount > options.maxBufferedBytes,
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
}

export function createWebSocketTransport(transport: TransportDeps): WebSocketTransport {
  const { deps, options, shared } = transport;
  let closing = false;
  const wss = new WebSocketServer({ noServer: true, maxPayload: deps.bodyLimitBytes });
  const server = useServer<Record<string, unknown>, { session: WsSession }>(
    {
      connectionInitWaitTimeout: options.connectionInitTimeoutMs,
      onConnect: (ctx) => onConnect(transport, ctx),
      onSubscribe: (ctx, _id, payload) => onSubscribe(transport, ctx, payload),
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
      onNext: (_ctx, _id, _payload, _args, result) => shared.formatResult(result),
      onError: (_ctx, _id, _payload, errors) => errors.map(shared.formatError),
    },
    wss,
    options.keepAliveMs,
  );
  return {
    upgrade(req, socket, head) {
      const url = new URL(req.url ?? '/', 'http://gateway');
      if (url.pathname !== '/graphql') return refuseUpgrade(socket, 404, 'Not Found');
      if (closing) return refuseUpgrade(socket, 503, 'Service Unavailable');
      wss.handleUpgrade(req, socket, head, (client: WebSocket) => wss.emit('connection', client, req));
    },
    get connections() {
      return wss.clients.size;
    },
    async close(graceMs) {
      closing = true;
      for (const client of wss.clients) client.close(CloseCode.GOING_AWAY, 'Going away');
      // Clients that do not answer the close handshake are cut after the grace period.
      const cut = setTimeout(() => {
        for (const client of wss.clients) client.terminate();
      }, graceMs);
      await server.dispose();
      clearTimeout(cut);
    },
  };
}
