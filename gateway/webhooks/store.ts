/**
 * Webhook endpoints and their deliveries, in the gateway's own database:
 *
 * - `webhookEndpoints`: one per endpoint: the key its deliveries run as, the URL, the subscription
 *   document and variables, the signing secret (Standard Webhooks `whsec_…`), its state, and its
 *   cursor, the id of the last event taken in (a delivery recorded for it): the position its
 *   subscription resumes from, on whichever gateway instance.
 * - `webhookDeliveries`: one per endpoint and event, `_id` "<endpoint>/<event id>" (so an event
 *   taken in twice, after a restart, is one delivery): the body POSTed on every attempt, the
 *   state (pending, delivered, dead), the attempts (time, status, error, latency): the delivery log.
 *
 * Only `{_id}` writes and inserts: FerretDB 1.24 applies no conditional update atomically, and none
 * is needed here, since one gateway instance at a time works for an endpoint (./lease.ts).
 */
import { randomBytes } from 'node:crypto';
import type { Collection, Db } from 'mongodb';
import { ensureIndexes, type CollectionSpec } from '../../lib/mongo.ts';
import { isDuplicateKey } from '../../lib/drivers.ts';

export type EndpointState = 'active' | 'disabled';

export interface EndpointRecord {
  /** "wh_<random>" */
  _id: string;
  /** The name of the API key the deliveries run as (its contract, its scope). */
  key: string;
  url: string;
  query: string;
  variables: Record<string, unknown>;
  operationName: string | null;
  description: string | null;
  /** Standard Webhooks secret, "whsec_<base64>". */
  secret: string;
  state: EndpointState;
  disabledReason: string | null;
  createdAt: Date;
  /** Changed by replay, enable: the instance working for the endpoint reloads it. */
  updatedAt: Date;
  /** The id of the last event taken in; the subscription resumes after it. */
  cursor: string | null;
  /** Since when every attempt has failed (null after a success). */
  failingSince: Date | null;
}

export type DeliveryState = 'pending' | 'delivered' | 'dead';

export interface Attempt {
  at: Date;
  /** The HTTP status, or null when there was none (timeout, connection refused). */
  status: number | null;
  error: string | null;
  latencyMs: number;
}

export interface DeliveryRecord {
  /** "<endpoint>/<event id>" */
  _id: string;
  endpoint: string;
  eventId: string;
  /** The event's position in its subgraph's log: the order of deliveries of one entity. */
  position: number;
  /** "<collection>/<document id>": deliveries of one entity go out in order. */
  entity: string;
  /** The JSON body, the same on every attempt. */
  body: string;
  state: DeliveryState;
  createdAt: Date;
  /** Attempts stop, and the delivery is dead-lettered, after this time. */
  retryUntil: Date;
  nextAttemptAt: Date;
  attempts: Attempt[];
  deliveredAt: Date | null;
}

const WEBHOOK_COLLECTIONS: readonly CollectionSpec[] = [
  { name: 'webhookEndpoints', indexes: [{ key: { key: 1 }, name: 'key' }] },
  { name: 'webhookDeliveries', indexes: [{ key: { endpoint: 1, state: 1, position: 1 }, name: 'endpoint_state_position' }] },
  { name: 'webhookLeases', indexes: [{ key: { endpoint: 1, term: -1 }, name: 'endpoint_term' }] },
];

export function newSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

export function newEndpointId(): string {
  return `wh_${randomBytes(12).toString('base64url')}`;
}

export class WebhookStore {
  readonly endpoints: Collection<EndpointRecord>;
  readonly deliveries: Collection<DeliveryRecord>;
  /** Per endpoint, the last of this instance's writes to it (see {@link updateEndpoint}). */
  private readonly writing = new Map<string, Promise<void>>();

  constructor(private readonly db: Db) {
    this.endpoints = db.collection<EndpointRecord>('webhookEndpoints');
    this.deliveries = db.collection<DeliveryRecord>('webhookDeliveries');
  }

  async init(): Promise<void> {
    await ensureIndexes(this.db, WEBHOOK_COLLECTIONS);
  }

  async addEndpoint(record: EndpointRecord): Promise<void> {
    await this.endpoints.insertOne(record);
  }

  listEndpoints(key?: string): Promise<EndpointRecord[]> {
    return this.endpoints.find(key === undefined ? {} : { key }).sort({ _id: 1 }).toArray();
  }

  getEndpoint(id: string): Promise<EndpointRecord | null> {
    return this.endpoints.findOne({ _id: id });
  }

  /**
   * Sets fields of an endpoint. One instance's writes to one endpoint are applied one at a time:
   * FerretDB 1.24 applies an update by rewriting the whole document, so two at once lose one
   * (a worker's cursor write undid its own `disabled`). MongoDB applies `$set` atomically.
   */
  updateEndpoint(id: string, set: Partial<Omit<EndpointRecord, '_id'>>): Promise<void> {
    const previous = this.writing.get(id) ?? Promise.resolve();
    const write = previous.then(async () => {
      await this.endpoints.updateOne({ _id: id }, { $set: set });
    });
    const settled = write.catch(() => {});
    this.writing.set(id, settled);
    void settled.then(() => {
      if (this.writing.get(id) === settled) this.writing.delete(id);
    });
    return write;
  }

  /** Removes an endpoint and its delivery log. */
  async removeEndpoint(id: string): Promise<boolean> {
    const { deletedCount } = await this.endpoints.deleteOne({ _id: id });
    await this.deliveries.deleteMany({ endpoint: id });
    return deletedCount === 1;
  }

  /** Records a delivery; false when the event was taken in before (its delivery exists). */
  async addDelivery(record: DeliveryRecord): Promise<boolean> {
    try {
      await this.deliveries.insertOne(record);
      return true;
    } catch (err) {
      if (isDuplicateKey(err)) return false;
      throw err;
    }
  }

  async saveDelivery(d: DeliveryRecord): Promise<void> {
    await this.deliveries.updateOne(
      { _id: d._id },
      { $set: { state: d.state, attempts: d.attempts, nextAttemptAt: d.nextAttemptAt, retryUntil: d.retryUntil, deliveredAt: d.deliveredAt } },
    );
  }

  pendingDeliveries(endpoint: string): Promise<DeliveryRecord[]> {
    return this.deliveries.find({ endpoint, state: 'pending' }).sort({ position: 1 }).toArray();
  }

  /** The delivery log of an endpoint, newest first. */
  listDeliveries(endpoint: string, state: DeliveryState | undefined, limit: number): Promise<DeliveryRecord[]> {
    return this.deliveries
      .find({ endpoint, ...(state ? { state } : {}) })
      .sort({ position: -1 })
      .limit(limit)
      .toArray();
  }

  /** Sends dead deliveries (all of the endpoint's, or those of `eventIds`) again: pending, a new retry period. */
  async replayDead(endpoint: string, eventIds: readonly string[] | undefined, now: Date, retryUntil: Date): Promise<number> {
    const dead = await this.deliveries.find({ endpoint, state: 'dead' }, { projection: { _id: 1, eventId: 1 } }).toArray();
    const chosen = eventIds ? dead.filter((d) => eventIds.includes(d.eventId)) : dead;
    for (const d of chosen) {
      await this.deliveries.updateOne({ _id: d._id }, { $set: { state: 'pending', nextAttemptAt: now, retryUntil } });
    }
    if (chosen.length > 0) await this.updateEndpoint(endpoint, { updatedAt: now });
    return chosen.length;
  }

  /** Deletes delivered and dead deliveries created before `before` (the log's retention). */
  async trimDeliveries(before: Date): Promise<number> {
    return (await this.deliveries.deleteMany({ state: { $in: ['delivered', 'dead'] }, createdAt: { $lt: before } })).deletedCount;
  }
}
