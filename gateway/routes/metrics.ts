/** GET /metrics: the Prometheus text exposition (gateway/metrics.ts). */
import type { GatewayMetrics } from '../metrics.ts';
import type { Handler } from '../http/handler.ts';

export function metricsRoute(deps: { readonly metrics: GatewayMetrics }): Handler {
  return async (_req, res) => {
    const { contentType, body } = await deps.metrics.render();
    res.writeHead(200, { 'content-type': contentType });
    res.end(body);
  };
}
