/**
 * Keep-alive connections to the subgraphs: one undici `Pool` per subgraph origin. A
 * `SubgraphPools` belongs to one gateway: it is made where the gateway is built, shared by every
 * data source the gateway builds (a supergraph reload builds new data sources for the same URLs
 * and reuses the sockets), and closed when that gateway stops, leaving other gateways in the
 * process alone.
 */
import { STATUS_CODES } from 'node:http';
import type { Readable } from 'node:stream';
import { Pool } from 'undici';
import type { RawResponse } from './response.ts';

/** One HTTP request to a subgraph. */
export interface SubgraphRequest {
  readonly origin: string;
  /** Path and query of the subgraph's URL. */
  readonly path: string;
  /** Keep-alive connections to the origin, at most (applies when its pool is opened). */
  readonly connections: number;
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly body: string;
  readonly signal: AbortSignal;
  /** Longest wait for the answer's headers, and between body chunks. */
  readonly timeoutMs: number;
  /** Whether it may be sent once more after a stale socket (queries; other operations are not idempotent). */
  readonly retryable: boolean;
  /** Called with the size of each chunk of the answer's body as it arrives (the request's budget: ./budget.ts). */
  readonly onBytes?: (bytes: number) => void;
}

// Connection errors after which a query is sent once more: the subgraph closed a kept-alive
// socket as the request was written. Refused connections and timeouts are not retried.
const RETRYABLE_SOCKET_ERRORS = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE']);
const UNDICI_TIMEOUTS = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);

function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Whether a failed request ran out of one of undici's timeouts. */
export function isUndiciTimeout(err: unknown): boolean {
  return UNDICI_TIMEOUTS.has(errorCode(err) ?? '');
}

/**
 * An answer's body as text, read chunk by chunk as it arrives (events, not an async iterator: a
 * promise less per chunk), so that a budget spent by this answer aborts it before the rest arrives.
 */
function readBody(body: Readable, request: SubgraphRequest): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    body.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      request.onBytes?.(chunk.length);
      if (request.signal.aborted) {
        body.destroy();
        reject(request.signal.reason);
      }
    });
    body.on('end', () => resolve(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8')));
    body.on('error', reject);
  });
}

export class SubgraphPools {
  private readonly pools = new Map<string, Pool>();

  /** The pool of an origin, opened on first use. */
  get(origin: string, connections: number): Pool {
    let pool = this.pools.get(origin);
    if (!pool) {
      pool = new Pool(origin, {
        connections,
        pipelining: 1, // POSTs are not idempotent: never queue one behind another on a socket
        // Below Node's default server keepAliveTimeout (5 s), so the gateway drops an idle socket
        // before the subgraph does and never writes into a socket being closed. A server's
        // `Keep-Alive: timeout=N` hint overrides it (minus 1 s), up to keepAliveMaxTimeout.
        keepAliveTimeout: 4_000,
        keepAliveMaxTimeout: 60_000,
      });
      this.pools.set(origin, pool);
    }
    return pool;
  }

  /** Closes every pool, letting requests in flight finish (graceful shutdown). */
  async close(): Promise<void> {
    const closing = [...this.pools.values()];
    this.pools.clear(); // a request arriving after this opens a fresh pool rather than failing
    await Promise.all(closing.map((pool) => pool.close()));
  }

  /** Sends a request and reads its whole answer. */
  async send(request: SubgraphRequest): Promise<Omit<RawResponse, 'url'>> {
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await this.get(request.origin, request.connections).request({
          path: request.path,
          method: request.method as 'POST',
          headers: request.headers,
          body: request.body,
          signal: request.signal,
          headersTimeout: request.timeoutMs,
          bodyTimeout: request.timeoutMs,
        });
        const text = await readBody(res.body, request);
        const pairs: [string, string][] = [];
        for (const [name, value] of Object.entries(res.headers)) {
          for (const v of Array.isArray(value) ? value : [value ?? '']) pairs.push([name, v]);
        }
        return {
          status: res.statusCode,
          statusText: res.statusText || STATUS_CODES[res.statusCode] || '',
          headers: pairs,
          body: text,
        };
      } catch (err) {
        if (attempt === 1 && request.retryable && !request.signal.aborted && RETRYABLE_SOCKET_ERRORS.has(errorCode(err) ?? '')) continue;
        throw err;
      }
    }
  }
}
