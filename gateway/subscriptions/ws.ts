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
 * | 4429 | the key's rate limit at connection time, or a second `connection_init` (graphql-ws) |
 * | 4500 | a fault of graphql-ws itself (an operation's own faults are `error` messages, below) |
 *
 * Every operation goes through the request pipeline of every transport (gateway/pipeline/). What
 * it refuses, and anything else that goes wrong with one operation, is an `error` message for that
 * operation alone, with `extensions.code`, and never closes the connection or touches its other
 * subscriptions: GRAPHQL_PARSE_FAILED, GRAPHQL_VALIDATION_FAILED, BAD_USER_INPUT, BAD_REQUEST,
 * OPERATION_RESOLUTION_FAILURE, FORBIDDEN, SUBGRAPH_NOT_SUBSCRIBED (the key's scope lacks the
 * subgraph), OPERATION_LIMIT_EXCEEDED, PERSISTED_QUERY_NOT_IN_LIST, RATE_LIMITED,
 * SUBSCRIPTION_LIMIT_EXCEEDED (SUBSCRIPTIONS_PER_CONNECTION or SUBSCRIPTIONS_PER_KEY reached),
 * INTERNAL_SERVER_ERROR. A query or mutation gets its result as one `next` message, then
 * `complete`. A subscription that had started and can no longer go on gets a `next` message with
 * the error and then `complete`: SUBGRAPH_UNAVAILABLE (the owning subgraph's connection was lost
 * and every reconnection failed, or it refused the gateway), or the subgraph's own error code.
 *
 * Keep-alive: WebSocket ping frames every `keepAliveMs`; a client that does not answer within as
 * long is dropped.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { HTTPGraphQLResponse } from '@apollo/server';
import { GraphQLBoolean, GraphQLError, GraphQLObjectType, GraphQLSchema, parse, type ExecutionArgs, type ExecutionResult, type GraphQLFormattedError } from 'graphql';
import type { Context, SubscribePayload } from 'graphql-ws';
import { useServer, type Extra } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import { AccessCode } from '../../lib/access.ts';
import { requestIdOf } from '../http/requestId.ts';
import { incrementalPayloads, webSocketRequest } from '../pipeline/index.ts';
import type { Prepared, Session } from './execution.ts';
import { FormattedError, lastEventIdOf, type GraphQLFormattedResult, type TransportDeps } from './shared.ts';

/** WebSocket close codes the gateway itself uses (see the table above). */
const CloseCode = {
  GOING_AWAY: 1001,
  UNAUTHORIZED: 4401,
  SLOW_CONSUMER: 4413,
  TOO_MANY_REQUESTS: 4429,
} as const;

interface WsSession extends Session {
  readonly documents: string | null;
  readonly ip: string | undefined;
}

type WsContext = Context<Record<string, unknown>, Extra & Partial<{ session: WsSession }>>;

/** The transport context of a graphql-ws operation: what execute/subscribe receive. */
type Operation =
  | { readonly result: GraphQLFormattedResult | AsyncGenerator<unknown, void, undefined> }
  | { readonly stream: Extract<Prepared, { kind: 'stream' }>['stream'] };

/**
 * graphql-ws chooses execute or subscribe from the operation type of the document `onSubscribe`
 * returns. A query's or mutation's result is already computed by then (Apollo Server ran it), so
 * it is returned with this one-field query, which nothing executes.
 */
const ANSWERED: Pick<ExecutionArgs, 'schema' | 'document'> = {
  schema: new GraphQLSchema({ query: new GraphQLObjectType({ name: 'Query', fields: { answered: { type: GraphQLBoolean } } }) }),
  document: parse('{ answered }'),
};

const internalError = () => new GraphQLError('Internal server error', { extensions: { code: 'INTERNAL_SERVER_ERROR' } });

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
      socket.close(CloseCode.TOO_MANY_REQUESTS, closeReason(admission.message));
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

/** Apollo Server's answer to one operation: its result for `execute`, or its errors for an `error` message. */
function answered(response: HTTPGraphQLResponse): ExecutionArgs | readonly GraphQLError[] {
  if (response.body.kind !== 'complete') return [internalError()];
  const body = JSON.parse(response.body.string) as GraphQLFormattedResult;
  if ((response.status ?? 200) === 200 && 'data' in body) return { ...ANSWERED, contextValue: { result: body } satisfies Operation };
  const errors = (body.errors ?? []) as readonly GraphQLFormattedError[];
  return errors.length > 0 ? errors.map((e) => new FormattedError(e)) : [internalError()];
}

/** `subscribe`: the operation through the request pipeline; what to execute or subscribe, or the errors that refuse it. */
async function onSubscribe({ deps, options, execution, shared }: TransportDeps, ctx: WsContext, payload: SubscribePayload): Promise<ExecutionArgs | readonly GraphQLError[]> {
  const session = ctx.extra.session;
  if (!session) return [new GraphQLError('Not acknowledged', { extensions: { code: AccessCode.UNAUTHENTICATED } })];
  const limited = await shared.spend(session.caller, session.ip);
  if (limited) return [limited];
  const { caller, requestId, log, documents } = session;
  const socket = ctx.extra.socket;
  const gone = () => socket.readyState !== socket.OPEN;
  const outcome = await deps.pipeline.run({ transport: 'ws', http: webSocketRequest(payload), context: { requestId, caller, log }, documents, gone });
  if (outcome.kind === 'response') return answered(outcome.response);
  // A result with deferred parts: graphql-ws sends each payload as a `next` message, and stops it on `complete`.
  if (outcome.kind === 'incremental') return { ...ANSWERED, contextValue: { result: incrementalPayloads(outcome) } satisfies Operation };
  const prepared = await execution.subscribe(outcome.subscription, session, {
    congested: () => socket.bufferedAmount > options.maxBufferedBytes,
    overflow: (queued) => socket.close(CloseCode.SLOW_CONSUMER, `Slow consumer: ${queued} events waiting`),
    lastEventId: lastEventIdOf(payload.extensions),
  });
  if (prepared.kind === 'refused') return prepared.errors;
  const { schema, document, operationName, variables } = outcome.subscription;
  return { schema, document, ...(operationName ? { operationName } : {}), variableValues: variables, contextValue: { stream: prepared.stream } satisfies Operation };
}

export function createWebSocketTransport(transport: TransportDeps): WebSocketTransport {
  const { deps, options, shared } = transport;
  let closing = false;
  const wss = new WebSocketServer({ noServer: true, maxPayload: deps.bodyLimitBytes });
  const server = useServer<Record<string, unknown>, { session: WsSession }>(
    {
      connectionInitWaitTimeout: options.connectionInitTimeoutMs,
      onConnect: (ctx) => onConnect(transport, ctx),
      // One operation's fault is that operation's `error` message: graphql-ws would close the
      // whole connection (4500) on anything thrown here.
      onSubscribe: (ctx, _id, payload) =>
        onSubscribe(transport, ctx, payload).catch((err: unknown) => {
          (ctx.extra.session?.log ?? deps.log).error({ err }, 'graphql-ws operation failed');
          return [internalError()];
        }),
      subscribe: (args) => (args.contextValue as Extract<Operation, { stream: unknown }>).stream,
      execute: (args) => (args.contextValue as Extract<Operation, { result: unknown }>).result as ExecutionResult, // formatted by onNext
      // Incremental payloads (`hasNext`) are formatted already (gateway/pipeline/incremental.ts).
      onNext: (_ctx, _id, _payload, _args, result) => ('hasNext' in result ? result : shared.formatResult(result)),
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
