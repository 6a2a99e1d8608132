/**
 * GraphQL over WebSocket at a subgraph (graphql-ws, subprotocol `graphql-transport-ws`), on the
 * subgraph's HTTP server at `/` and `/graphql`. The gateway authenticates a connection with its
 * `connection_init`, which carries `{ "x-ali-gateway-token": <token> }` (lib/access.ts): without
 * a valid one it is closed with 4401 Unauthorized, with one whose read scope leaves the subgraph
 * out with 4403 Forbidden. Every operation of the connection runs as that caller, and every
 * subscription event executes with a fresh context (new DataLoaders), as an HTTP request would.
 *
 * A connection lives no longer than its token: when the token expires (plus the clock skew the
 * policy tolerates) the subgraph closes it with 4403, graphql-ws's code for "refresh the
 * credentials and reconnect". The gateway keeps it open by renewing the token in place before
 * then: a `ping` whose payload carries a fresh token of the same caller moves the deadline to the
 * new token's expiry, without a reconnection or a lost event; a renewal that does not verify
 * closes the connection (4401, or 4403 for another caller or scope). Stopping closes every
 * connection with 1001.
 */
import type http from 'node:http';
import type { GraphQLSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { GATEWAY_TOKEN_HEADER, GatewayTokenError, sameCaller, type Caller, type GatewayToken } from './access.ts';
import { resumeRequestOf, subscribeWithFreshContext, type ResumeRequest } from './events.ts';

/** Close code of a connection whose `connection_init` has no valid `x-ali-gateway-token`. */
export const WS_CLOSE_UNAUTHORIZED = 4401;
/** Close code of a connection whose token expired, or whose caller may not read this subgraph. */
const WS_CLOSE_FORBIDDEN = 4403;
/** Interval of the server's WebSocket pings (a peer that misses a pong for as long is dropped). */
const WS_KEEPALIVE_MS = 12_000;

export interface SubgraphWebSocketOptions<C> {
  readonly schema: GraphQLSchema;
  /** Verifies a token (connect and renewal); throws {@link GatewayTokenError}. */
  readonly authenticate: (token: string | undefined) => Promise<GatewayToken>;
  /** How long after its `exp` a token still counts (the policy's clock skew), in ms. */
  readonly graceMs: number;
  /** The context of one operation, or one subscription event, of `caller`; a subscription resumes where `resume` says (lib/events/ids.ts). */
  readonly contextOf: (caller: Caller, resume?: ResumeRequest) => C;
}

/** What graphql-ws keeps per connection (`ctx.extra`). */
interface Session extends Record<PropertyKey, unknown> {
  caller?: Caller;
  /** The timer that closes the connection when its token expires. */
  expiry?: NodeJS.Timeout;
}

type Socket = { close(code: number, reason: string): void };

/** (Re)arms the timer that closes `socket` at `expiresAt` plus the grace (never for an unsigned caller's Infinity). */
function armExpiry(session: Session, socket: Socket, expiresAt: number, graceMs: number): void {
  clearTimeout(session.expiry);
  if (!Number.isFinite(expiresAt)) return;
  session.expiry = setTimeout(() => socket.close(WS_CLOSE_FORBIDDEN, 'Gateway token expired'), Math.max(0, expiresAt + graceMs - Date.now()));
  session.expiry.unref();
}

function closeFor(socket: Socket, err: GatewayTokenError): void {
  socket.close(err.status === 401 ? WS_CLOSE_UNAUTHORIZED : WS_CLOSE_FORBIDDEN, err.status === 401 ? 'Unauthorized' : 'Forbidden');
}

/** Serves subscriptions on `httpServer`'s upgrades; `stop` closes every connection. */
export function serveSubgraphWebSocket<C>(opts: SubgraphWebSocketOptions<C>, httpServer: http.Server): { stop(): Promise<void> } {
  const wss = new WebSocketServer({ noServer: true });
  httpServer.on('upgrade', (req, socket, head) => {
    const { pathname } = new URL(req.url ?? '/', 'http://subgraph');
    if (pathname !== '/' && pathname !== '/graphql') {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (client) => wss.emit('connection', client, req));
  });
  const tokenOf = (params: Readonly<Record<string, unknown>> | undefined) => {
    const token = params?.[GATEWAY_TOKEN_HEADER];
    return typeof token === 'string' ? token : undefined;
  };
  const server = useServer<Record<string, unknown>, Session>(
    {
      schema: opts.schema,
      onConnect: async (ctx) => {
        try {
          const verified = await opts.authenticate(tokenOf(ctx.connectionParams));
          ctx.extra.caller = verified.caller;
          armExpiry(ctx.extra, ctx.extra.socket, verified.expiresAt, opts.graceMs);
          return true;
        } catch (err) {
          if (!(err instanceof GatewayTokenError)) throw err;
          // graphql-ws would close with 4403 on `false`; the contract distinguishes 4401 and 4403, sent first.
          closeFor(ctx.extra.socket, err);
          return false;
        }
      },
      onPing: async (ctx, payload) => {
        const token = tokenOf(payload);
        if (token === undefined || !ctx.extra.caller) return;
        try {
          const renewed = await opts.authenticate(token);
          if (!sameCaller(renewed.caller, ctx.extra.caller)) throw new GatewayTokenError('a renewal must carry the caller of the connection', 'out_of_scope');
          armExpiry(ctx.extra, ctx.extra.socket, renewed.expiresAt, opts.graceMs);
        } catch (err) {
          if (!(err instanceof GatewayTokenError)) throw err;
          closeFor(ctx.extra.socket, err);
        }
      },
      onClose: (ctx) => clearTimeout(ctx.extra.expiry),
      // The gateway's `extensions.eventLog` resumes the operation's subscription.
      context: (ctx, _id, payload) => opts.contextOf(ctx.extra.caller!, resumeRequestOf(payload.extensions)),
      subscribe: (args) => subscribeWithFreshContext(args, () => opts.contextOf((args.contextValue as { caller: Caller }).caller)),
    },
    wss,
    WS_KEEPALIVE_MS,
  );
  return {
    async stop() {
      const disposed = server.dispose();
      // A peer that does not answer the close handshake is cut off.
      const cutoff = setTimeout(() => {
        for (const client of wss.clients) client.terminate();
      }, 1000);
      cutoff.unref();
      await disposed;
      clearTimeout(cutoff);
    },
  };
}
