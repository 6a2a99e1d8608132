/**
 * Keep-alive connections to the subgraphs: one undici `Pool` per subgraph origin. A
 * `SubgraphPools` belongs to one gateway: it is made where the gateway is built, shared by every
 * data source the gateway builds (a supergraph reload builds new data sources for the same URLs
 * and reuses the sockets), and closed when that gateway stops, leaving other gateways in the
 * process alone.
 */
import { STATUS_CODES } from 'node:http';
import type { Dispatcher } from 'undici';
import { Pool } from './undici.ts';
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
 * One request's answer, collected by an undici dispatch handler as it arrives: no body stream and
 * no promise per chunk. The caller's signal aborts it at any point (queued, waiting for headers,
 * mid-body), and each chunk is counted against the request's budget before the next is read, so
 * that a budget spent by this answer aborts it before the rest arrives.
 */
class AnswerCollector implements Dispatcher.DispatchHandler {
  private readonly chunks: Buffer[] = [];
  private status = 0;
  private statusText = '';
  private headers: [string, string][] = [];
  private abort: ((reason: Error) => void) | undefined;
  private readonly onAbort = () => this.abort?.(this.request.signal.reason as Error);

  constructor(
    private readonly request: SubgraphRequest,
    private readonly resolve: (answer: Omit<RawResponse, 'url'>) => void,
    private readonly reject: (err: unknown) => void,
  ) {
    request.signal.addEventListener('abort', this.onAbort, { once: true });
  }

  onConnect(abort: (reason: Error) => void): void {
    if (this.request.signal.aborted) abort(this.request.signal.reason as Error);
    else this.abort = abort;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], _resume: () => void, statusText: string): boolean {
    if (statusCode < 200) return true; // an informational answer; the final one follows
    this.status = statusCode;
    this.statusText = statusText || STATUS_CODES[statusCode] || '';
    const headers: [string, string][] = [];
    for (let i = 0; i + 1 < rawHeaders.length; i += 2) headers.push([rawHeaders[i]!.toString('latin1').toLowerCase(), rawHeaders[i + 1]!.toString('latin1')]);
    this.headers = headers;
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.chunks.push(chunk);
    this.request.onBytes?.(chunk.length);
    if (!this.request.signal.aborted) return true;
    this.abort?.(this.request.signal.reason as Error);
    return false;
  }

  onComplete(): void {
    this.request.signal.removeEventListener('abort', this.onAbort);
    const chunks = this.chunks;
    const body = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8');
    this.resolve({ status: this.status, statusText: this.statusText, headers: this.headers, body });
  }

  onError(err: Error): void {
    this.request.signal.removeEventListener('abort', this.onAbort);
    this.reject(err);
  }
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
        return await this.exchange(request);
      } catch (err) {
        if (attempt === 1 && request.retryable && !request.signal.aborted && RETRYABLE_SOCKET_ERRORS.has(errorCode(err) ?? '')) continue;
        throw err;
      }
    }
  }

  private exchange(request: SubgraphRequest): Promise<Omit<RawResponse, 'url'>> {
    if (request.signal.aborted) return Promise.reject(request.signal.reason);
    return new Promise((resolve, reject) => {
      const options: Dispatcher.DispatchOptions = {
        path: request.path,
        method: request.method as 'POST',
        headers: request.headers,
        body: request.body,
        headersTimeout: request.timeoutMs,
        bodyTimeout: request.timeoutMs,
      };
      this.get(request.origin, request.connections).dispatch(options, new AnswerCollector(request, resolve, reject));
    });
  }
}
