/**
 * What the gateway's and the subgraphs' node:http fronts share around Apollo Server: listening,
 * reading a request body within a limit, and converting requests and answers between node's
 * shapes and Apollo's (`HeaderMap`, `HTTPGraphQLResponse`).
 */
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HeaderMap, type HTTPGraphQLResponse } from '@apollo/server';

/** Listens on `port` (0: any free one); the base URL, ending in `/`, with `localhost` for a wildcard address. */
export async function listen(server: Server, port: number, host: string): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const shownHost = host === '0.0.0.0' || host === '::' ? 'localhost' : host;
  return `http://${shownHost}:${(server.address() as AddressInfo).port}/`;
}

/** The request body is larger than the limit (whether it said so in `content-length` or not). */
export class BodyTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`Request body larger than ${limit} bytes`);
  }
}

/** The client closed its connection before its whole body arrived: nobody is left to answer, and nothing went wrong here. */
export class ClientAborted extends Error {
  constructor() {
    super('The client closed the connection before sending its whole request body');
  }
}

/**
 * The whole request body; throws {@link BodyTooLarge} as soon as it exceeds `limit` bytes, before
 * reading anything when `content-length` already says so, and {@link ClientAborted} when the
 * client goes away mid-body. Stopping at the limit leaves the connection open (what arrives after
 * is not kept), so the 413 can still be written.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) return Promise.reject(new BodyTooLarge(limit));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const settle = (outcome: () => void) => {
      req.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
      outcome();
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) return settle(() => reject(new BodyTooLarge(limit)));
      chunks.push(chunk);
    };
    const onEnd = () => settle(() => resolve(Buffer.concat(chunks)));
    const onError = (err: NodeJS.ErrnoException) => settle(() => reject(req.destroyed || err.code === 'ECONNRESET' ? new ClientAborted() : err));
    // The client went away before the end of its body.
    const onClose = () => settle(() => reject(new ClientAborted()));
    req.on('data', onData).on('end', onEnd).on('error', onError).on('close', onClose);
  });
}

export type GraphQLBody =
  | { readonly ok: true; readonly body: unknown }
  | { readonly ok: false; readonly status: 400 | 413; readonly code: 'BAD_REQUEST' | 'PAYLOAD_TOO_LARGE'; readonly message: string };

/**
 * A GraphQL POST body as Apollo Server takes it: parsed JSON (`{}` when empty) when the content
 * type starts with one of `jsonTypes`, the text otherwise; or why it cannot be read (413, 400).
 */
export async function readGraphQLBody(req: IncomingMessage, limit: number, jsonTypes: readonly string[] = ['application/json']): Promise<GraphQLBody> {
  let raw: Buffer;
  try {
    raw = await readBody(req, limit);
  } catch (err) {
    if (err instanceof BodyTooLarge) return { ok: false, status: 413, code: 'PAYLOAD_TOO_LARGE', message: err.message };
    throw err;
  }
  const type = String(req.headers['content-type'] ?? '');
  if (!jsonTypes.some((t) => type.startsWith(t))) return { ok: true, body: raw.toString('utf8') };
  try {
    return { ok: true, body: raw.length === 0 ? {} : JSON.parse(raw.toString('utf8')) };
  } catch {
    return { ok: false, status: 400, code: 'BAD_REQUEST', message: 'The request body is not valid JSON' };
  }
}

/** A request's headers as Apollo Server takes them (repeated headers joined with `, `). */
export function toHeaderMap(headers: IncomingHttpHeaders): HeaderMap {
  const map = new HeaderMap();
  for (const [key, value] of Object.entries(headers)) {
    if (value !== undefined) map.set(key, Array.isArray(value) ? value.join(', ') : value);
  }
  return map;
}

/** Apollo Server's response headers as a record for `writeHead`. */
function headerRecord(headers: HeaderMap): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of headers) out[k] = v;
  return out;
}

/**
 * Writes Apollo Server's answer: a complete body through `complete` (default: as it is), a
 * chunked one (incremental delivery) chunk by chunk.
 */
export async function sendHTTPGraphQLResponse(
  res: ServerResponse,
  response: HTTPGraphQLResponse,
  complete: (status: number, headers: Record<string, string>, body: string) => void | Promise<void> = (status, headers, body) => {
    res.writeHead(status, headers);
    res.end(body);
  },
): Promise<void> {
  const status = response.status ?? 200;
  const headers = headerRecord(response.headers);
  if (response.body.kind === 'complete') return complete(status, headers, response.body.string);
  res.writeHead(status, headers);
  for await (const chunk of response.body.asyncIterator) res.write(chunk);
  res.end();
}
