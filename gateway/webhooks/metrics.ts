/**
 * Prometheus series of the webhooks, on the gateway's registry (gateway/metrics.ts):
 *
 * | series | type | labels |
 * |---|---|---|
 * | `ali_gateway_webhook_deliveries_total` | counter | – : deliveries that succeeded (a 2xx answer) |
 * | `ali_gateway_webhook_retries_total` | counter | – : failed attempts followed by a retry |
 * | `ali_gateway_webhook_dead_letters_total` | counter | – : deliveries dead-lettered after the retry period |
 * | `ali_gateway_webhook_delivery_latency_seconds` | histogram | – : from the event's intake to its successful delivery |
 * | `ali_gateway_webhook_endpoints` | gauge | `state` (`active`, `disabled`): endpoints, from the database |
 * | `ali_gateway_webhook_endpoints_disabled_total` | counter | – : endpoints this instance disabled after sustained failure |
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { EndpointState } from './store.ts';

export interface WebhookMetrics {
  delivered(latencyMs: number): void;
  retried(): void;
  deadLettered(): void;
  disabled(): void;
  endpoints(counts: Readonly<Record<EndpointState, number>>): void;
}

export function createWebhookMetrics(registry: Registry, prefix = 'ali_gateway_'): WebhookMetrics {
  const registers = [registry];
  const delivered = new Counter({ name: `${prefix}webhook_deliveries_total`, help: 'Webhook deliveries that succeeded', registers });
  const retries = new Counter({ name: `${prefix}webhook_retries_total`, help: 'Failed webhook attempts followed by a retry', registers });
  const dead = new Counter({ name: `${prefix}webhook_dead_letters_total`, help: 'Webhook deliveries dead-lettered after the retry period', registers });
  const latency = new Histogram({
    name: `${prefix}webhook_delivery_latency_seconds`,
    help: 'From an event taken in to its successful webhook delivery',
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120, 600, 3600, 21600, 86400],
    registers,
  });
  const endpoints = new Gauge({ name: `${prefix}webhook_endpoints`, help: 'Webhook endpoints by state', labelNames: ['state'], registers });
  const disabled = new Counter({ name: `${prefix}webhook_endpoints_disabled_total`, help: 'Webhook endpoints disabled after sustained failure', registers });
  return {
    delivered: (ms) => {
      delivered.inc();
      latency.observe(ms / 1000);
    },
    retried: () => retries.inc(),
    deadLettered: () => dead.inc(),
    disabled: () => disabled.inc(),
    endpoints: (counts) => {
      for (const [state, n] of Object.entries(counts)) endpoints.set({ state }, n);
    },
  };
}
