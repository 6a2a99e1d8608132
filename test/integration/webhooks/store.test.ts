/**
 * The webhook store on the real database: one instance's writes to one endpoint record, made at
 * once (a worker moving its cursor while it disables the endpoint), all land. FerretDB 1.24
 * rewrites the whole document on every update, so two unordered `$set`s of different fields lose
 * one of them; the store orders them.
 */
import { afterAll, beforeAll, expect, it, inject } from 'vitest';
import type { Db, MongoClient } from 'mongodb';
import { connect } from '../../../lib/mongo.ts';
import { WebhookStore, type EndpointRecord } from '../../../gateway/webhooks/store.ts';

let client: MongoClient;
let db: Db;
let store: WebhookStore;

beforeAll(async () => {
  client = await connect(inject('mongoUri'));
  db = client.db(`webhook_store_${process.pid}`);
  store = new WebhookStore(db);
  await store.init();
});
afterAll(async () => {
  await db.dropDatabase();
  await client.close();
});

function endpoint(id: string): EndpointRecord {
  const now = new Date();
  return { _id: id, key: 'k', url: 'http://127.0.0.1:1/', query: 'subscription { x }', variables: {}, operationName: null, description: null, secret: 's', state: 'active', disabledReason: null, createdAt: now, updatedAt: now, cursor: null, failingSince: null };
}

it('keeps every field of writes made at once to one endpoint', async () => {
  const ids = Array.from({ length: 20 }, (_, i) => `wh_store_${i}`);
  for (const id of ids) await store.addEndpoint(endpoint(id));
  await Promise.all(
    ids.flatMap((id) => [
      store.updateEndpoint(id, { cursor: `reuse.${id}` }),
      store.updateEndpoint(id, { state: 'disabled', disabledReason: 'test' }),
      store.updateEndpoint(id, { failingSince: new Date(0) }),
    ]),
  );
  const records = await store.endpoints.find({ _id: { $in: ids } }).toArray();
  expect(records.map((r) => [r._id, r.cursor, r.state, r.failingSince?.getTime()])).toEqual(ids.map((id) => [id, `reuse.${id}`, 'disabled', 0]));
});

it('goes on after a write that failed', async () => {
  await store.addEndpoint(endpoint('wh_store_fail'));
  // An update the database refuses ($set of _id), then one that must still land.
  await expect(store.updateEndpoint('wh_store_fail', { _id: 'other' } as never)).rejects.toThrow();
  await store.updateEndpoint('wh_store_fail', { cursor: 'reuse.1' });
  expect((await store.getEndpoint('wh_store_fail'))?.cursor).toBe('reuse.1');
});
