/**
 * Graceful shutdown of the HTTP server: once draining, new requests get 503 SHUTTING_DOWN (and
 * `connection: close`), for `listenMs` on connections still being accepted; then the server stops
 * listening, requests in flight may finish within the grace period, and every connection is closed.
 */
import type { Server, ServerResponse } from 'node:http';
import { httpError } from './responses.ts';

export interface Drain {
  /** Counts a request in flight until its response closes. */
  track(res: ServerResponse): void;
  /** Once draining, answers 503 SHUTTING_DOWN and returns true. */
  refuse(res: ServerResponse): boolean;
  /** From now on, new requests are refused. */
  begin(): void;
  /**
   * Keeps listening for `listenMs` (requests are refused meanwhile), then stops accepting, waits
   * for the requests in flight (at most `graceMs`), and closes every connection.
   */
  close(server: Server, graceMs: number, listenMs?: number): Promise<void>;
}

export function createDrain(): Drain {
  let inFlight = 0;
  let draining = false;
  const idle: (() => void)[] = [];
  return {
    track(res) {
      inFlight++;
      res.once('close', () => {
        inFlight--;
        if (inFlight === 0) for (const done of idle.splice(0)) done();
      });
    },
    refuse(res) {
      if (!draining) return false;
      res.setHeader('connection', 'close');
      httpError(res, 503, 'SHUTTING_DOWN', 'The gateway is shutting down');
      return true;
    },
    begin() {
      draining = true;
    },
    async close(server, graceMs, listenMs = 0) {
      // A load balancer still sending here gets a 503 it may send elsewhere (the request was not
      // executed), rather than a connection closed under a request it already sent.
      if (listenMs > 0) await new Promise((r) => setTimeout(r, listenMs).unref());
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      if (inFlight > 0) {
        await Promise.race([new Promise<void>((resolve) => idle.push(resolve)), new Promise((r) => setTimeout(r, graceMs).unref())]);
      }
      server.closeAllConnections();
      await closed;
    },
  };
}
