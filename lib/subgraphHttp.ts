/**
 * A subgraph's HTTP front: liveness at `/health`, readiness at `/ready`, its event metrics at
 * `/metrics`, and GraphQL at `/` and `/graphql`, where the gateway's token is verified in full
 * (signature, audience, lifetime, read scope) from the headers alone, before a byte of the body
 * is read; then at most `bodyLimitBytes` of body. The WebSocket transport on the same server:
 * lib/subgraphWebSocket.ts.
 */
import type http from 'node:http';
import type { ApolloServer, BaseContext } from '@apollo/server';
import type { Db } from 'mongodb';
import { GATEWAY_TOKEN_HEADER, GatewayTokenError, type Caller, type GatewayToken } from './access.ts';
import type { EventMetrics } from './events.ts';
import { readGraphQLBody, sendHTTPGraphQLResponse, toHeaderMap } from './http.ts';

export interface SubgraphHttpOptions<C extends BaseContext> {
  readonly name: string;
  /** Pinged by `/ready`. */
  readonly db: Db;
  readonly metrics: EventMetrics;
  /** Verifies the gateway's token; throws {@link GatewayTokenError}. */
  readonly authenticate: (token: string | undefined) => Promise<GatewayToken>;
  /** The largest request body read, once the token is verified (413 above it). */
  readonly bodyLimitBytes: number;
  readonly server: ApolloServer<C>;
  /** The context of one request of `caller`. */
  readonly contextOf: (caller: Caller, requestId: string | undefined) => C;
  /** Where an unexpected failure of a request is told (it is answered 500). */
  readonly log?: ((line: string) => void) | undefined;
}

/** A header's value when it was sent once. */
export function headerValue(headers: Readonly<Record<string, string | string[] | undefined>>, name: string): string | undefined {
  const v = headers[name];
  return typeof v === 'string' ? v : undefined;
}

/** A JSON error answer. */
function fail(res: http.ServerResponse, status: number, code: string, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ errors: [{ message, extensions: { code } }] }));
}

/** How long the rest of a refused body is discarded before the connection is cut. */
const LINGER_MS = 1000;

/**
 * Answers a request whose body is not read (a refused token, a body over the limit). What still
 * arrives is discarded, never kept, for at most {@link LINGER_MS}, so that the client reads the
 * answer rather than a reset connection; a body still arriving then is cut off with its connection.
 */
function refuse(req: http.IncomingMessage, res: http.ServerResponse, status: number, code: string, message: string): void {
  if (!req.complete) {
    const cut = setTimeout(() => req.socket.destroy(), LINGER_MS).unref();
    req.once('end', () => clearTimeout(cut));
    req.resume();
  }
  fail(res, status, code, message);
}

/**
 * Liveness (`/health`: answering, without credentials and without touching data) and readiness
 * (`/ready`: the database answers a ping within 2 s; the driver would wait 30 s for a server).
 */
async function probe(name: string, db: Db, path: '/health' | '/ready', res: http.ServerResponse): Promise<void> {
  if (path === '/health') {
    res.writeHead(200, { 'content-type': 'application/json' });
    return void res.end(JSON.stringify({ status: 'ok', subgraph: name }));
  }
  const timeout = new Promise<false>((resolve) => setTimeout(resolve, 2000, false).unref());
  const ok = await Promise.race([db.command({ ping: 1 }).then(() => true, () => false), timeout]);
  res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ status: ok ? 'ready' : 'database unreachable', subgraph: name }));
}

/** The front's request listener; a request that fails unexpectedly gets a 500 and is logged. */
export function subgraphRequestListener<C extends BaseContext>(opts: SubgraphHttpOptions<C>): http.RequestListener {
  const handle = requestHandler(opts);
  return (req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] }));
      opts.log?.(`${opts.name}: unhandled request error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    });
  };
}

function requestHandler<C extends BaseContext>(opts: SubgraphHttpOptions<C>): (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void> {
  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://subgraph');
    if (url.pathname === '/health' || url.pathname === '/ready') return probe(opts.name, opts.db, url.pathname, res);
    if (url.pathname === '/metrics') {
      const { contentType, body } = await opts.metrics.scrape();
      return void res.writeHead(200, { 'content-type': contentType }).end(body);
    }
    if (url.pathname !== '/' && url.pathname !== '/graphql') {
      return fail(res, 404, 'NOT_FOUND', `No route ${url.pathname}; GraphQL is at /graphql`);
    }
    let caller: Caller;
    try {
      caller = (await opts.authenticate(headerValue(req.headers, GATEWAY_TOKEN_HEADER))).caller;
    } catch (err) {
      if (!(err instanceof GatewayTokenError)) throw err;
      return refuse(req, res, err.status, err.code, `${opts.name}: ${err.message}`);
    }
    const read = await readGraphQLBody(req, opts.bodyLimitBytes);
    if (!read.ok && read.status === 413) return refuse(req, res, read.status, read.code, read.message);
    if (!read.ok) return fail(res, read.status, read.code, read.message);
    const result = await opts.server.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: req.method ?? 'GET', headers: toHeaderMap(req.headers), search: url.search, body: read.body },
      context: async () => opts.contextOf(caller, headerValue(req.headers, 'x-request-id')),
    });
    await sendHTTPGraphQLResponse(res, result);
  };
}
