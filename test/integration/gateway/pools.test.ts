/**
 * The subgraph connection pools (gateway/transport/pools.ts) against a real HTTP server on port 0,
 * one behaviour each: the answer read whole (a body in many chunks, an informational answer
 * before the final one, header names and values as sent), the caller's signal aborting a request
 * before it is sent, while it waits for headers and mid-body (the budget's case: the chunk that
 * spends it stops the rest), undici's header timeout, and a query sent once more, a mutation never,
 * when the subgraph drops a kept-alive socket as the request arrives.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isUndiciTimeout, SubgraphPools, type SubgraphRequest } from '../../../gateway/transport/pools.ts';

type Respond = (req: IncomingMessage, res: ServerResponse, body: string) => void;

let server: Server;
let origin: string;
/** How the server answers the next requests. */
let respond: Respond;
/** Every request body received, in order. */
const received: string[] = [];
/** Sockets the server closed before the whole answer was written. */
let cut = 0;
const sockets = new Set<Socket>();

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      received.push(body);
      respond(req, res, body);
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function request(overrides: Partial<SubgraphRequest> = {}): SubgraphRequest {
  return {
    origin,
    path: '/graphql',
    connections: 4,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"query":"{ a }"}',
    signal: new AbortController().signal,
    timeoutMs: 5_000,
    retryable: true,
    ...overrides,
  };
}

async function withPools<T>(run: (pools: SubgraphPools) => Promise<T>): Promise<T> {
  const pools = new SubgraphPools();
  try {
    return await run(pools);
  } finally {
    await pools.close().catch(() => {});
  }
}

describe('SubgraphPools.send', () => {
  it('reads the whole answer: a body in many chunks, after an informational answer, with the headers as sent', async () => {
    const text = JSON.stringify({ data: { names: Array.from({ length: 2000 }, (_, i) => `Comune di Sant'Antonino n. ${i} — è`) } });
    respond = (_req, res) => {
      res.writeEarlyHints({ link: '</style.css>; rel=preload' });
      res.writeHead(200, 'Fine', { 'content-type': 'application/json', 'X-Trace': 'abc', 'cache-control': 'max-age=30' });
      // Written in pieces, chunked: the gateway reads more than one chunk.
      const bytes = Buffer.from(text);
      let at = 0;
      const next = () => {
        if (at >= bytes.length) return void res.end();
        res.write(bytes.subarray(at, (at += 7000)));
        setImmediate(next);
      };
      next();
    };
    const counted: number[] = [];
    const answer = await withPools((pools) => pools.send(request({ onBytes: (n) => counted.push(n) })));
    expect(answer.status).toBe(200);
    expect(answer.statusText).toBe('Fine');
    expect(answer.body).toBe(text);
    expect(counted.length).toBeGreaterThan(1);
    expect(counted.reduce((a, b) => a + b, 0)).toBe(Buffer.byteLength(text));
    expect(answer.headers).toContainEqual(['x-trace', 'abc']);
    expect(answer.headers).toContainEqual(['cache-control', 'max-age=30']);
    expect(answer.headers).toContainEqual(['content-type', 'application/json']);
  });

  it('gives the status text of the code when the subgraph sends none', async () => {
    respond = (_req, res) => {
      res.statusMessage = '';
      res.writeHead(503, { 'content-type': 'text/plain' });
      res.end('down');
    };
    const answer = await withPools((pools) => pools.send(request()));
    expect(answer).toMatchObject({ status: 503, body: 'down' });
    expect(answer.statusText).toBe('Service Unavailable');
  });

  it('does not send a request whose signal is already aborted', async () => {
    const before = received.length;
    const controller = new AbortController();
    const reason = new Error('budget spent');
    controller.abort(reason);
    await expect(withPools((pools) => pools.send(request({ signal: controller.signal })))).rejects.toBe(reason);
    expect(received.length).toBe(before);
  });

  it('aborts a request waiting for its headers when its signal fires', async () => {
    let waiting!: () => void;
    const arrived = new Promise<void>((resolve) => (waiting = resolve));
    respond = () => waiting(); // never answers
    const controller = new AbortController();
    const reason = new Error('deadline');
    const sent = withPools((pools) => pools.send(request({ signal: controller.signal })));
    await arrived;
    const started = Date.now();
    controller.abort(reason);
    await expect(sent).rejects.toBe(reason);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('stops reading mid-body once a chunk spends the budget: the rest is never read', async () => {
    const chunk = 'x'.repeat(16 * 1024);
    let written = 0;
    let finished = false;
    respond = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const next = () => {
        if (res.destroyed || written >= 200) return void (finished = written >= 200);
        written++;
        res.write(chunk, () => setTimeout(next, 2));
      };
      res.on('close', () => void (cut += res.writableFinished ? 0 : 1));
      next();
    };
    const controller = new AbortController();
    const reason = new Error('response too large');
    let bytes = 0;
    const cutBefore = cut;
    const sent = withPools((pools) =>
      pools.send(
        request({
          signal: controller.signal,
          onBytes: (n) => {
            bytes += n;
            if (bytes > 64 * 1024) controller.abort(reason);
          },
        }),
      ),
    );
    await expect(sent).rejects.toBe(reason);
    // The gateway closed the connection: the server could not finish writing.
    await expect.poll(() => cut - cutBefore, { timeout: 5_000 }).toBe(1);
    expect(finished).toBe(false);
    expect(written).toBeLessThan(200);
  });

  it('runs out of undici’s header timeout on a subgraph that does not answer', async () => {
    respond = () => {};
    const err = await withPools((pools) => pools.send(request({ timeoutMs: 200 }))).catch((e: unknown) => e);
    expect(isUndiciTimeout(err)).toBe(true);
  });

  it('sends a query once more, and a mutation never, when the subgraph drops a kept-alive socket as the request arrives', async () => {
    await withPools(async (pools) => {
      let drop = false;
      respond = (req, res, body) => {
        if (drop) {
          drop = false;
          return void req.socket.destroy();
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ data: { echo: body.length } }));
      };
      // A first answer leaves a kept-alive socket in the pool.
      await pools.send(request({ connections: 1 }));
      const before = received.length;
      drop = true;
      const answer = await pools.send(request({ connections: 1 }));
      expect(answer.status).toBe(200);
      expect(received.length - before).toBe(2);

      drop = true;
      const mutation = request({ connections: 1, retryable: false, body: '{"query":"mutation { b }"}' });
      const err = await pools.send(mutation).catch((e: unknown) => e as { code?: string });
      expect(err).toMatchObject({ code: expect.stringMatching(/UND_ERR_SOCKET|ECONNRESET/) });
      expect(received.length - before).toBe(3);
    });
  });
});
