/**
 * GraphQL subscriptions through the federated gateway, on the gateway's `/graphql`, over two
 * transports:
 *
 * - GraphQL over WebSocket (graphql-ws, subprotocol `graphql-transport-ws`): ./ws.ts, with its
 *   close codes and the errors that do not close a connection.
 * - GraphQL over Server-Sent Events, "distinct connections" mode of the graphql-sse protocol:
 *   ./sse.ts, with its HTTP answers.
 *
 * Every operation on both goes through the request pipeline of every transport (gateway/pipeline/):
 * the same keys, trusted documents, CSRF rules, parsing, validation, subgraph scopes, operation
 * limits and error masking as over HTTP. Queries and mutations get their one result, then
 * complete; a subscription that passed the pipeline goes to ./execution.ts, which routes it to the
 * subgraph that owns its root field and completes every event with what other subgraphs
 * contribute through the normal query plan. Both transports rate-limit and format errors the same
 * way (./shared.ts).
 *
 * Delivery: every event a subgraph publishes while the subscription is open reaches the client once,
 * in order. While the gateway reconnects to a restarting subgraph, events published in between are
 * lost (at most once); when it cannot reconnect, the subscription ends with an error.
 *
 * Keep-alive: the gateway pings every WebSocket client (`keepAliveMs`, WebSocket ping frames; a
 * client that does not answer within as long is dropped), writes an SSE comment line as often,
 * and pings each subgraph connection with graphql-ws `ping` messages (no `pong` within
 * `keepAliveMs`: that connection is closed and re-established).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { GraphQLFormattedError } from 'graphql';
import type { Logger } from 'pino';
import type { ApolloGateway } from '@apollo/gateway';
import type { Caller } from '../../lib/access.ts';
import { configDefault } from '../../lib/config.ts';
import type { Identify } from '../access/callers.ts';
import type { Signer } from '../access/signer.ts';
import type { SpendBudget } from '../http/admission.ts';
import type { ExecutionLimits } from '../operationLimits.ts';
import type { PipelineRequest, RequestPipeline } from '../pipeline/index.ts';
import { SubscriptionExecution } from './execution.ts';
import { createSseTransport } from './sse.ts';
import { createTransportShared } from './shared.ts';
import { backoff, SubgraphConnections } from './upstream.ts';
import { createWebSocketTransport } from './ws.ts';
import { subscribeInternally, type InternalOutcome, type InternalSubscription } from './internal.ts';

export { isPosition, positionId, eventOf, type ResultEvent } from './stream.ts';
export type { InternalOutcome } from './internal.ts';

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

/** What the gateway gives the subscription transports (wired in gateway/runtime.ts). */
export interface SubscriptionDeps {
  readonly gateway: ApolloGateway;
  /** The request pipeline of every transport: every operation goes through it. */
  readonly pipeline: RequestPipeline;
  readonly identify: Identify;
  readonly sign?: Signer | undefined;
  /** Spends one request of the caller's rate-limit budget. */
  readonly rateLimit?: SpendBudget | undefined;
  /** The quota key of a caller (rateLimitKey in gateway/access/callers.ts). */
  readonly quotaKey: (caller: Caller, ip: string | undefined) => string;
  /** The gateway's error formatting (client codes, masking in production). */
  readonly formatError: (error: GraphQLFormattedError) => GraphQLFormattedError;
  readonly bodyLimitBytes: number;
  /** The ceilings each event of a caller's subscription is held to (its role's execution limits). */
  readonly executionLimits?: (caller: Caller) => ExecutionLimits;
  readonly log: Logger;
}

export interface SubscriptionServer {
  /** The http server's `upgrade` handler: graphql-ws on `/graphql`, anything else refused. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Does this `/graphql` request ask for an event stream (`Accept: text/event-stream`)? */
  wantsEventStream(req: IncomingMessage): boolean;
  /** Serves one admitted SSE request (distinct connections mode), read as every GraphQL request is (gateway/routes/graphql.ts). */
  sse(req: IncomingMessage, res: ServerResponse, request: PipelineRequest): Promise<void>;
  /** Subscribes as a key, through the pipeline and execution of every client subscription (webhooks). */
  subscribeAs(request: InternalSubscription): Promise<InternalOutcome>;
  /** Open WebSocket connections, SSE streams, subscriptions and subgraph connections. */
  stats(): { websockets: number; eventStreams: number; subscriptions: number; subgraphConnections: number };
  /** Closes every client connection (1001 / SSE `complete`) and every subgraph connection. */
  close(graceMs?: number): Promise<void>;
}

/** {@link SubscriptionOptions} with every default filled. */
export type ResolvedSubscriptionOptions = Required<SubscriptionOptions>;

export function resolveSubscriptionOptions(options: SubscriptionOptions = {}): ResolvedSubscriptionOptions {
  return {
    perConnection: options.perConnection ?? configDefault('SUBSCRIPTIONS_PER_CONNECTION'),
    perKey: options.perKey ?? configDefault('SUBSCRIPTIONS_PER_KEY'),
    keepAliveMs: options.keepAliveMs ?? 12_000,
    maxQueuedEvents: options.maxQueuedEvents ?? 100,
    maxBufferedBytes: options.maxBufferedBytes ?? 4 * 1024 * 1024,
    upstreamRetryAttempts: options.upstreamRetryAttempts ?? 5,
    upstreamRetryDelayMs: options.upstreamRetryDelayMs ?? backoff,
    connectionInitTimeoutMs: options.connectionInitTimeoutMs ?? 3000,
  };
}

export function createSubscriptionServer(deps: SubscriptionDeps, options: ResolvedSubscriptionOptions): SubscriptionServer {
  const upstream = new SubgraphConnections({
    sign: deps.sign,
    keepAliveMs: options.keepAliveMs,
    retryAttempts: options.upstreamRetryAttempts,
    retryDelayMs: options.upstreamRetryDelayMs,
    ackTimeoutMs: 10_000,
  });
  const execution = new SubscriptionExecution({
    gateway: deps.gateway,
    upstream,
    perConnection: options.perConnection,
    perKey: options.perKey,
    maxQueued: options.maxQueuedEvents,
    ...(deps.executionLimits ? { limitsFor: deps.executionLimits } : {}),
  });
  const transport = { deps, options, execution, shared: createTransportShared(deps) };
  const ws = createWebSocketTransport(transport);
  const sse = createSseTransport(transport);
  return {
    upgrade: (req, socket, head) => ws.upgrade(req, socket, head),
    wantsEventStream(req) {
      return String(req.headers.accept ?? '').includes('text/event-stream');
    },
    sse: (req, res, request) => sse.serve(req, res, request),
    subscribeAs: (request) => subscribeInternally(transport, request),
    stats() {
      return { websockets: ws.connections, eventStreams: sse.streams, subscriptions: execution.open, subgraphConnections: upstream.size };
    },
    async close(graceMs = 1000) {
      sse.close();
      await ws.close(graceMs);
      await upstream.close();
    },
  };
}
