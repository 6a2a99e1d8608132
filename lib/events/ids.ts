/**
 * Event ids, and the small protocol between the gateway and a subgraph that carries them.
 *
 * An event id names a position in one subgraph's event log (./log.ts): `<subgraph>.<position>`,
 * e.g. `reuse.42`. Positions increase by one with every change the subgraph makes, so ids of one
 * subgraph are ordered; clients must treat them as opaque strings and only hand them back (SSE
 * `Last-Event-ID`, graphql-ws `extensions.lastEventId`). Position 0 is "before the first event".
 *
 * Gateway ↔ subgraph, over the subgraph's graphql-ws (the gateway's own connection):
 * - `subscribe` payload `extensions.eventLog = { after: <event id> | null }` asks for the event-log
 *   protocol: replay after that id (null: start at the log's head);
 * - the subgraph's first `next` is then `{ extensions: { eventLog: { position } } }` (no data): the
 *   position the subscription starts from;
 * - every event's `next` carries `extensions.eventLog = { id, entity, replayed }`.
 * A subscriber that does not ask gets plain results, as before.
 */
import { ErrorCode } from '../errors.ts';

/** What a subscription asks for in `extensions.eventLog`. */
export interface ResumeRequest {
  /** Replay the events after this id; null: start at the head. */
  readonly after: string | null;
}

/** What an event's `next` carries in `extensions.eventLog` (and the start marker: `position` only). */
export interface EventLogExtension {
  readonly id?: string;
  /** "<collection>/<document id>": the record the event is about (webhook ordering per entity). */
  readonly entity?: string;
  /** Read from the log rather than received live. */
  readonly replayed?: boolean;
  /** The start marker: the position the subscription starts from. */
  readonly position?: string;
}

export const EVENT_LOG_EXTENSION = 'eventLog';

/** The codes of refused resume positions (lib/errors.ts). */
export const EventIdCode = { EVENT_ID_UNKNOWN: ErrorCode.EVENT_ID_UNKNOWN, EVENT_ID_EXPIRED: ErrorCode.EVENT_ID_EXPIRED } as const;

const ID_RE = /^([a-z][a-z0-9_-]{0,62})\.(0|[1-9][0-9]{0,15})$/;

export function formatEventId(subgraph: string, position: number): string {
  return `${subgraph}.${position}`;
}

/** The subgraph and position of an id, or null for anything that is not an event id. */
export function parseEventId(id: unknown): { readonly subgraph: string; readonly position: number } | null {
  if (typeof id !== 'string') return null;
  const m = ID_RE.exec(id);
  if (!m) return null;
  const position = Number(m[2]);
  return Number.isSafeInteger(position) ? { subgraph: m[1]!, position } : null;
}

/** The `extensions.eventLog` of a subscribe payload, if it asks for the protocol. */
export function resumeRequestOf(extensions: unknown): ResumeRequest | undefined {
  if (typeof extensions !== 'object' || extensions === null) return undefined;
  const value = (extensions as Record<string, unknown>)[EVENT_LOG_EXTENSION];
  if (typeof value !== 'object' || value === null) return undefined;
  const after = (value as Record<string, unknown>)['after'];
  return { after: typeof after === 'string' ? after : null };
}

/** The `extensions.eventLog` of a result a subgraph sent, if any. */
export function eventLogOf(result: { readonly extensions?: unknown }): EventLogExtension | undefined {
  const ext = result.extensions;
  if (typeof ext !== 'object' || ext === null) return undefined;
  const value = (ext as Record<string, unknown>)[EVENT_LOG_EXTENSION];
  return typeof value === 'object' && value !== null ? (value as EventLogExtension) : undefined;
}
