/**
 * GET /metrics: the Prometheus text exposition (gateway/metrics.ts), where METRICS_PORT says:
 *
 * - on a port of its own that serves nothing else (the production default, 9464): the
 *   Prometheus convention of a metrics listener apart from the API, reachable by the scraper
 *   and kept off the public network, so it needs no credentials;
 * - or on the gateway's port (`gateway`, the development default), to anyone (`METRICS_ACCESS=open`)
 *   or to admin keys only (`admin`, the production default there), since the metrics name the
 *   operations callers run and the state of every subgraph.
 */
import http from 'node:http';
import { AccessCode } from '../../lib/access.ts';
import { listen } from '../../lib/http.ts';
import type { GatewayMetrics } from '../metrics.ts';
import type { Admit } from '../http/admission.ts';
import type { Handler } from '../http/handler.ts';
import { httpError } from '../http/responses.ts';

async function expose(metrics: GatewayMetrics, res: http.ServerResponse): Promise<void> {
  const { contentType, body } = await metrics.render();
  res.writeHead(200, { 'content-type': contentType });
  res.end(body);
}

export interface MetricsRouteDeps {
  readonly metrics: GatewayMetrics;
  /** METRICS_ACCESS. */
  readonly access: 'open' | 'admin';
  readonly admit: Admit;
}

/** /metrics on the gateway's port. */
export function metricsRoute(deps: MetricsRouteDeps): Handler {
  return async (req, res) => {
    if (deps.access === 'open') return expose(deps.metrics, res);
    const admitted = await deps.admit(req, res);
    if (!admitted) return;
    if (admitted.caller.role !== 'admin') {
      const anonymous = admitted.caller.role === 'anonymous';
      return httpError(res, anonymous ? 401 : 403, anonymous ? AccessCode.UNAUTHENTICATED : AccessCode.FORBIDDEN, 'Metrics need an admin key');
    }
    return expose(deps.metrics, res);
  };
}

/** /metrics on the gateway's port when it is served on a port of its own: as unknown as any other path. */
export const metricsElsewhere: Handler = (_req, res) => httpError(res, 404, 'NOT_FOUND', 'No route /metrics; GraphQL is at /graphql');

export interface MetricsListener {
  /** Where /metrics is served. */
  readonly url: string;
  close(): Promise<void>;
}

/** A listener on `port` (0: any free one) serving GET /metrics and nothing else. */
export async function listenMetrics(metrics: GatewayMetrics, port: number, host: string): Promise<MetricsListener> {
  const server = http.createServer((req, res) => {
    const { pathname } = new URL(req.url ?? '/', 'http://metrics');
    if (pathname !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) return httpError(res, 404, 'NOT_FOUND', 'This port serves GET /metrics only');
    expose(metrics, res).catch(() => {
      if (!res.headersSent) httpError(res, 500, 'INTERNAL_SERVER_ERROR', 'Internal server error');
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 5000;
  const url = await listen(server, port, host);
  return {
    url: `${url}metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
