/**
 * The gateway's graphql-ws connections to subgraphs. A subgraph authenticates a connection once,
 * on `connection_init`, with the caller's signed `x-ali-gateway-token`, so connections are per
 * subgraph and caller: every subscription of one key to one subgraph shares one socket, which
 * opens with the first and closes with the last.
 *
 * A subgraph closes a connection when its token expires (4403, lib/subgraphWebSocket.ts), so each
 * connection renews its token in place before then: at three quarters of the token's lifetime it
 * sends a graphql-ws `ping` whose payload carries a fresh token of the same caller, which moves
 * the subgraph's deadline; subscriptions go on without a reconnection or a lost event.
 *
 * Each connection pings the subgraph every `keepAliveMs` and reconnects when no pong comes back
 * within as long, or when the socket drops (a subgraph restart, or an expiry the renewal did not
 * prevent): up to `retryAttempts` times, re-signing the token and re-sending every active
 * subscription (events published while disconnected are not replayed). After the last attempt,
 * or when the subgraph refuses the connection (4401) or a subscription (an `error` message), each
 * affected subscription's sink gets `error` exactly once.
 */
import { createClient, type Client, type FormattedExecutionResult, type SubscribePayload } from 'graphql-ws';
import { decodeJwt } from 'jose';
import WebSocket from 'ws';
import { GATEWAY_TOKEN_HEADER, type Caller } from '../../lib/access.ts';
import type { Signer } from '../access/signer.ts';

export interface UpstreamOptions {
  /** Signs the caller for the subgraph; unset: `connection_init` carries no token. */
  readonly sign?: Signer | undefined;
  /** Ping interval and pong deadline on every subgraph connection, in ms. */
  readonly keepAliveMs: number;
  /** Reconnection attempts after a connection drops, before its subscriptions end with an error. */
  readonly retryAttempts: number;
  /** Wait before reconnection attempt `n` (0-based), in ms. */
  readonly retryDelayMs: (attempt: number) => number;
  /** Longest wait for the subgraph's `connection_ack`, in ms. */
  readonly ackTimeoutMs: number;
}

/** What the subgraph sends for one subscription. */
export interface UpstreamSink {
  next(result: FormattedExecutionResult<Record<string, unknown>, unknown>): void;
  /**
   * The subscription cannot go on: the subgraph's GraphQL errors (an `error` message), or the
   * close event / socket error after which no reconnection was possible.
   */
  error(reason: unknown): void;
  /** The subgraph completed the subscription. */
  complete(): void;
}

interface Connection {
  readonly client: Client;
  users: number;
}

/**
 * When to renew a connection's `token`, in ms from now: at three quarters of its lifetime, when
 * the signer (which reuses a token for half of it) hands out a fresh one; undefined for a token
 * without `iat` and `exp`.
 */
function renewalDelay(token: string, now = Date.now()): number | undefined {
  const { iat, exp } = decodeJwt(token);
  if (typeof iat !== 'number' || typeof exp !== 'number') return undefined;
  return Math.max(1000, (exp - (exp - iat) / 4) * 1000 - now);
}

/** The default wait before reconnection attempt `n`: 0.5 s, 1 s, 2 s, 4 s, then 8 s, each plus up to 250 ms. */
export function backoff(attempt: number): number {
  return Math.min(500 * 2 ** attempt, 8000) + Math.floor(Math.random() * 250);
}

export class SubgraphConnections {
  private readonly connections = new Map<string, Connection>();

  constructor(private readonly opts: UpstreamOptions) {}

  /** Open subgraph connections (or connections being opened). */
  get size(): number {
    return this.connections.size;
  }

  /**
   * Subscribes `payload` on `subgraph` (its GraphQL URL, http: or https:) for `caller`; returns
   * the function that ends it (idempotent; not needed after the sink's `error` or `complete`).
   */
  subscribe(subgraph: string, url: string, caller: Caller, payload: SubscribePayload, sink: UpstreamSink): () => void {
    const key = `${url}\u0000${caller.role}\u0000${caller.sub}\u0000${String(caller.read)}\u0000${caller.write.join(',')}`;
    let connection = this.connections.get(key);
    if (!connection) {
      connection = { client: this.connect(subgraph, url, caller), users: 0 };
      this.connections.set(key, connection);
    }
    const conn = connection;
    conn.users++;
    let active = true;
    const release = () => {
      if (!active) return;
      active = false;
      conn.users--;
      if (conn.users === 0 && this.connections.get(key) === conn) {
        this.connections.delete(key);
        // Let graphql-ws send `complete` and close the lazy socket first; dispose stops retries.
        setImmediate(() => void conn.client.dispose()?.catch(() => {}));
      }
    };
    const unsubscribe = conn.client.subscribe<Record<string, unknown>, unknown>(payload, {
      next: (result) => {
        if (active) sink.next(result);
      },
      error: (reason) => {
        if (!active) return;
        release();
        sink.error(reason);
      },
      complete: () => {
        if (!active) return;
        release();
        sink.complete();
      },
    });
    return () => {
      if (!active) return;
      unsubscribe();
      release();
    };
  }

  /** Closes every subgraph connection (gateway shutdown); their sinks get nothing more. */
  async close(): Promise<void> {
    const all = [...this.connections.values()];
    this.connections.clear();
    await Promise.all(all.map((c) => Promise.resolve(c.client.dispose()).catch(() => {})));
  }

  private connect(subgraph: string, url: string, caller: Caller): Client {
    const { sign, keepAliveMs } = this.opts;
    const wsUrl = url.replace(/^http/, 'ws');
    let socket: WebSocket | undefined;
    let pongDeadline: NodeJS.Timeout | undefined;
    /** The token of the connection being opened. */
    let token: string | undefined;
    const renewal = sign ? this.renewal(() => sign(caller, subgraph)) : undefined;
    return createClient({
      url: wsUrl,
      webSocketImpl: WebSocket,
      lazy: true,
      // Re-signed on every (re)connection: a token is valid for 60 s, a connection for much longer.
      ...(sign ? { connectionParams: async () => ({ [GATEWAY_TOKEN_HEADER]: (token = await sign(caller, subgraph)) }) } : {}),
      keepAlive: keepAliveMs,
      connectionAckWaitTimeout: this.opts.ackTimeoutMs,
      retryAttempts: this.opts.retryAttempts,
      retryWait: (attempt) => new Promise((resolve) => setTimeout(resolve, this.opts.retryDelayMs(attempt))),
      // Socket errors (a refused connection while the subgraph restarts) are retried like closes.
      shouldRetry: () => true,
      on: {
        connected: (s) => {
          socket = s as WebSocket;
          if (token) renewal?.start(socket, token);
        },
        ping: (received) => {
          if (received) return;
          clearTimeout(pongDeadline);
          pongDeadline = setTimeout(() => {
            // No pong: the subgraph (or the network) is stuck. 4408 is retried by graphql-ws.
            if (socket?.readyState === WebSocket.OPEN) socket.close(4408, 'Ping timeout');
          }, keepAliveMs);
        },
        pong: (received) => {
          if (received) clearTimeout(pongDeadline);
        },
        closed: () => {
          clearTimeout(pongDeadline);
          renewal?.stop();
          socket = undefined;
        },
      },
    });
  }

  /**
   * Renews the token of one connection at a time in place: `start` on each connection with its
   * token, `stop` when it closes. A renewal that cannot be signed or sent is left to the
   * subgraph's expiry, after which the connection is re-established with a fresh token.
   */
  private renewal(fresh: () => string | Promise<string>): { start(socket: WebSocket, token: string): void; stop(): void } {
    let timer: NodeJS.Timeout | undefined;
    const schedule = (socket: WebSocket, token: string) => {
      const delay = renewalDelay(token);
      if (delay === undefined) return;
      timer = setTimeout(() => {
        void (async () => {
          const next = await fresh();
          if (socket.readyState !== WebSocket.OPEN) return;
          socket.send(JSON.stringify({ type: 'ping', payload: { [GATEWAY_TOKEN_HEADER]: next } }));
          schedule(socket, next);
        })().catch(() => {});
      }, delay);
      timer.unref();
    };
    return {
      start(socket, token) {
        clearTimeout(timer);
        schedule(socket, token);
      },
      stop: () => clearTimeout(timer),
    };
  }
}
