/**
 * Prometheus metrics of a subgraph's event log, on a registry of the subgraph's own (served at the
 * subgraph's GET /metrics):
 *
 * | series | type | labels |
 * |---|---|---|
 * | `ali_subgraph_events_appended_total` | counter | `topic`: events this instance wrote to the log (counted when it publishes them) |
 * | `ali_subgraph_events_replayed_total` | counter | `topic`: events delivered to a subscription from the log rather than the bus |
 */
import { Counter, Registry } from 'prom-client';

export interface EventMetrics {
  appended(topic: string): void;
  replayed(topic: string): void;
  /** The exposition text and its content type. */
  scrape(): Promise<{ contentType: string; body: string }>;
}

export function createEventMetrics(subgraph: string): EventMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ subgraph });
  const appended = new Counter({ name: 'ali_subgraph_events_appended_total', help: 'Events this instance appended to the event log', labelNames: ['topic'], registers: [registry] });
  const replayed = new Counter({ name: 'ali_subgraph_events_replayed_total', help: 'Events delivered from the event log rather than the bus', labelNames: ['topic'], registers: [registry] });
  return {
    appended: (topic) => appended.inc({ topic }),
    replayed: (topic) => replayed.inc({ topic }),
    scrape: async () => ({ contentType: registry.contentType, body: await registry.metrics() }),
  };
}
