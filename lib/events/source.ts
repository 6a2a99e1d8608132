/**
 * How a subgraph's changes become events: each subgraph declares, per collection, the topic and
 * the payload of the event of one audited change (subgraphs/<name>/data/events.ts). The payload is
 * derived from the audit record alone, so the live event (built by the writer from the record it
 * just inserted) and the replayed one (built by a reader from the record as stored) are the same:
 * both go through BSON as the database stores it and JSON as the bus carries it.
 *
 * What a log stream yields (./stream.ts) is the payload, with the event's id attached under a
 * symbol ({@link eventMetaOf}), or, first when asked, a start marker ({@link isStartMarker}).
 */
import type { Document } from 'mongodb';
import type { AuditDoc } from '../writes.ts';
import { encodeEvent } from './bus.ts';
import { mongodb } from '../drivers.ts';

/** One collection's audited changes as events of one topic. */
export interface EventSource<T = Document> {
  /** "<subgraph>.<Subscription field>", e.g. "reuse.adoptionChanged". */
  readonly topic: string;
  readonly collection: string;
  /** The payload of the event of one change, from its audit record (whole document before and after). */
  payload(change: AuditDoc<T>): object;
}

/** What travels on the bus for one logged event: its position, the record it is about, the payload. */
export interface Envelope {
  /** Absent for changes made outside the API (change streams): delivered live, never replayed. */
  readonly position?: number;
  readonly entity?: string;
  readonly payload: unknown;
}

/** What a stream attaches to each payload it yields. */
export interface EventMeta {
  readonly id: string;
  readonly entity: string;
  readonly replayed: boolean;
}

const META = Symbol('ali-graph.event');
const START = Symbol('ali-graph.start');

/** The record an event is about: "<collection>/<document id>". */
export function entityOf(record: Pick<AuditDoc<unknown>, 'collection' | 'documentId'>): string {
  return `${record.collection}/${record.documentId}`;
}

/** The payload of a change's event, exactly as a subscriber receives it (BSON, then JSON). */
export function payloadOf(source: EventSource, record: AuditDoc<Document>, stored: boolean): unknown {
  // A record read back from the database has been through BSON already; one just written has not
  // (undefined becomes null, numbers keep their BSON type), so the live payload goes through it too.
  const asStored = stored ? record : (mongodb().BSON.deserialize(mongodb().BSON.serialize(record), { useBigInt64: true }) as AuditDoc<Document>);
  return JSON.parse(encodeEvent(source.payload(asStored)));
}

/** A shallow copy of `payload` carrying `meta` (the bus shares one payload object between local subscribers). */
export function withMeta(payload: unknown, meta: EventMeta): unknown {
  if (typeof payload !== 'object' || payload === null) return payload;
  return Object.defineProperty({ ...payload }, META, { value: meta, enumerable: false });
}

export function eventMetaOf(value: unknown): EventMeta | undefined {
  return typeof value === 'object' && value !== null ? ((value as Record<symbol, EventMeta | undefined>)[META] ?? undefined) : undefined;
}

/** The first item of a stream opened with `announce`: the id of the position it starts from. */
export function startMarker(id: string): object {
  return { [START]: id };
}

export function isStartMarker(value: unknown): value is Record<typeof START, string> {
  return typeof value === 'object' && value !== null && START in value;
}

export function startMarkerId(value: Record<typeof START, string>): string {
  return value[START];
}
