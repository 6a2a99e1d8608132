/**
 * Hive Gateway's configuration for the benchmark (`hive-gateway supergraph FILE -c this file`).
 * Defaults everywhere except one: in-flight de-duplication of identical subgraph requests is
 * switched off, because the benchmark sends the same operation from every client at once and the
 * comparison counts no merging of concurrent requests (our gateway runs with
 * DEDUPE_SUBGRAPH_QUERIES=false for the same reason; stock @apollo/gateway has no such feature).
 * No usage reporting or tracing is configured, so nothing leaves the machine.
 */
import { defineConfig } from '@graphql-hive/gateway';

export const gatewayConfig = defineConfig({
  transportEntries: {
    '*.http': { options: { deduplicateInflightRequests: false } as Record<string, unknown> },
  },
});
