/**
 * Events of the subgraphs, for GraphQL subscriptions and the gateway's webhooks:
 *
 * - ./events/log.ts: the durable event log, one entry per change, written with the change itself
 *   (lib/writes.ts) in the subgraph's database; positions dense and ordered; a retention.
 * - ./events/source.ts: how a subgraph turns the audit record of a change into its event's payload.
 * - ./events/bus.ts and ./events/subscriber.ts: the live bus (in memory, or Redis pub/sub between
 *   instances), with bounded subscriber queues.
 * - ./events/stream.ts: one subscription's events: replayed from the log after a position, then
 *   live, with no gap and no duplicate.
 * - ./events/subgraphLog.ts: what a subgraph's resolvers reach as `ctx.events`.
 * - ./events/ids.ts: event ids, and the gateway ↔ subgraph protocol that carries them.
 * - ./events/changeStreams.ts: writes made outside the API (MongoDB change streams), live only.
 */
export { createEventBus, DEFAULT_CHANNEL_PREFIX, type EventBus, type LocalEventBus } from './events/bus.ts';
export { SLOW_CONSUMER, SlowConsumerError } from './events/subscriber.ts';
export { watchChanges, type ChangeFeed, type ChangeStreamMode } from './events/changeStreams.ts';
export { trimEventLog, type LogEntry } from './events/log.ts';
export type { EventSource } from './events/source.ts';
export { SubgraphEventLog, type SubgraphEvents } from './events/subgraphLog.ts';
export { createEventMetrics, type EventMetrics } from './events/metrics.ts';
export { EventIdCode, formatEventId, parseEventId, eventLogOf, resumeRequestOf, type ResumeRequest } from './events/ids.ts';
export { subscribeWithFreshContext } from './events/execute.ts';
