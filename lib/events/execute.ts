/**
 * graphql-js `subscribe` as the subgraphs run it over WebSocket: every event executes with a fresh
 * context (DataLoaders cache per request, and an event is a new request: an adoption's solution may
 * have changed since the previous event), and, for a subscriber that asked for the event-log
 * protocol (./ids.ts), the start marker becomes a `next` without data and every result carries its
 * event's id. `return()` reaches the source at once, even while it waits.
 */
import { createSourceEventStream, execute, type ExecutionArgs, type ExecutionResult } from 'graphql';
import { EVENT_LOG_EXTENSION, type EventLogExtension } from './ids.ts';
import { eventMetaOf, isStartMarker, startMarkerId } from './source.ts';

function withEventLog(result: ExecutionResult, value: EventLogExtension): ExecutionResult {
  return { ...result, extensions: { ...(result.extensions ?? {}), [EVENT_LOG_EXTENSION]: value } };
}

export async function subscribeWithFreshContext(args: ExecutionArgs, fresh: () => unknown) {
  const stream = await createSourceEventStream(args);
  if (!(Symbol.asyncIterator in stream)) return stream;
  const source = stream[Symbol.asyncIterator]();
  const events: AsyncGenerator<ExecutionResult> = {
    async next() {
      const r = await source.next();
      if (r.done) return { done: true, value: undefined };
      if (isStartMarker(r.value)) return { done: false, value: { extensions: { [EVENT_LOG_EXTENSION]: { position: startMarkerId(r.value) } } } };
      const result = (await execute({ ...args, rootValue: r.value, contextValue: fresh() })) as ExecutionResult;
      const meta = eventMetaOf(r.value);
      return { done: false, value: meta ? withEventLog(result, meta) : result };
    },
    async return() {
      await source.return?.();
      return { done: true, value: undefined };
    },
    async throw(err: unknown) {
      await source.return?.();
      throw err;
    },
    [Symbol.asyncIterator]() {
      return events;
    },
  };
  return events;
}
