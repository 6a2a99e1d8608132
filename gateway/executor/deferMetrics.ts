/**
 * The metrics of deferred answers (`@defer`, ./defer.ts): how long after execution starts a
 * client gets the initial result and the last part. Registered on the gateway's registry
 * (gateway/metrics.ts) by the composition root; observed by the execution limits' wrapper
 * (./ceilings.ts), which sees every part go by.
 */
import { Histogram, type Registry } from 'prom-client';

/** Seconds: from a few milliseconds (a part answered from the same fetches) to the longest deadline. */
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Records one deferred answer: seconds to its initial result and to its last part. */
export type DeferredTimes = (firstSeconds: number, lastSeconds: number) => void;

export function deferMetrics(registry: Registry, prefix = 'ali_gateway_'): DeferredTimes {
  const seconds = new Histogram({
    name: `${prefix}deferred_response_seconds`,
    help: 'Answers with deferred parts (@defer): seconds from the start of execution to the initial result (payload="first") and to the last part (payload="last")',
    labelNames: ['payload'] as const,
    buckets: BUCKETS,
    registers: [registry],
  });
  return (first, last) => {
    seconds.observe({ payload: 'first' }, first);
    seconds.observe({ payload: 'last' }, last);
  };
}
