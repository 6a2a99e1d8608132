/**
 * The event log (lib/events/) on a real database, through the reuse data layer and without a
 * server: positions stay dense and ordered under concurrent writers of two "instances"; a stream
 * replays then goes live with no gap and no duplicate while writes keep coming; a reader settles a
 * pending entry whose writer died (rolls its change forward, or voids it when its claim is gone);
 * the retention trims a prefix and keeps the newest entry; positions it cannot serve are refused.
 */
import { afterAll, expect, it } from 'vitest';
import { MongoClient } from 'mongodb';
import { inject } from 'vitest';
import { piedmontMunicipalities } from '../../../lib/domain/registry.ts';
import { createEventBus, SubgraphEventLog, trimEventLog, type LogEntry } from '../../../lib/events.ts';
import { appendPending, checkPosition, positionKey, EVENT_LOG } from '../../../lib/events/log.ts';
import { isStartMarker } from '../../../lib/events/source.ts';
import { connect } from '../../../lib/mongo.ts';
import { AUDIT, writer } from '../../../lib/writes.ts';
import { reuse } from '../../../subgraphs/reuse/server.ts';
import { adoptionEvents } from '../../../subgraphs/reuse/data/events.ts';
import { changeAdoptionStatus, registerAdoption } from '../../../subgraphs/reuse/data/mutations.ts';
import { adoptionDocs } from '../../../subgraphs/reuse/data/seed.ts';
import { useSeededDb } from '../../helpers/db.ts';

const t = useSeededDb(reuse);
const bus = createEventBus();
const clients: MongoClient[] = [];
afterAll(async () => {
  await bus.close();
  for (const c of clients) await c.close();
});

const seeded = new Set(adoptionDocs().map((a) => a._id));
const free = piedmontMunicipalities().filter((m) => !seeded.has(`sigma-ter-piemonte:${m.istatCode}`)).map((m) => m.istatCode);
const register = (db = t.db, istat = free.shift()!) =>
  registerAdoption(writer({ ...t.scope(), db }, 'reuse', 'registerAdoption'), { solutionId: 'sigma-ter-piemonte', municipalityIstatCode: istat, provenance: 'SAMPLE' });
const log = () => new SubgraphEventLog({ db: t.db, subgraph: 'reuse', sources: [adoptionEvents], bus, retentionMs: 86_400_000 });
const entries = () => t.db.collection<LogEntry>(EVENT_LOG).find().sort({ _id: 1 }).toArray();
const head = async () => Number((await entries()).at(-1)?._id ?? 0);

/** Reads `n` payloads from a stream (with a deadline), as a subscription's consumer would; the start marker is not one. */
async function take(stream: AsyncIterator<unknown>, n: number): Promise<any[]> {
  const out: any[] = [];
  const deadline = Date.now() + 10_000;
  while (out.length < n) {
    if (Date.now() > deadline) throw new Error(`only ${out.length} of ${n} events`);
    const r = await stream.next();
    if (r.done) break;
    if (!isStartMarker(r.value)) out.push(r.value);
  }
  return out;
}

it('keeps positions dense and in order when two instances write at once', async () => {
  // A second client: another process's view, with its own idea of the log's head.
  const other = await connect(inject('mongoUri'));
  clients.push(other);
  const otherDb = other.db(t.db.databaseName);
  const before = await head();
  const changes = await Promise.all(Array.from({ length: 12 }, (_, i) => register(i % 2 === 0 ? t.db : otherDb)));
  const log = (await entries()).filter((e) => Number(e._id) > before);
  expect(log.map((e) => Number(e._id))).toEqual(Array.from({ length: 12 }, (_, i) => before + 1 + i));
  expect(log.every((e) => e.state === 'applied')).toBe(true);
  expect(new Set(log.map((e) => e.audit))).toEqual(new Set(changes.map((c) => c.event.record._id)));
  // Each change knows its position, and its audit record is the event's.
  for (const c of changes) expect(log.find((e) => Number(e._id) === c.event.position)?.audit).toBe(c.event.record._id);
});

it('replays after a position, then goes live: every event once, in order, while writes keep coming', async () => {
  const events = log();
  const from = await head();
  const early = [await register(), await register()];
  const stream = await events.forRequest({ after: `reuse.${from}` }).subscribe('reuse.adoptionChanged');
  // Live ones are published on the bus too, as a mutation's resolver does.
  const live = [await register(), await register()];
  for (const c of live) await events.publish(c);
  const got = await take(stream, 4);
  await stream.return!();
  expect(got.map((p) => p.adoption._id)).toEqual([...early, ...live].map((c) => c.after._id));
  // Replayed and live payloads are built alike: the same shape, time of the change included.
  expect(got[0]).toEqual({ kind: 'REGISTERED', adoption: JSON.parse(JSON.stringify(early[0]!.after)), previousStatus: null, at: early[0]!.event.record.at.toISOString() });
});

it('settles an entry whose writer died: rolls its change forward, or voids it when its claim is gone', async () => {
  const adoption = (await register()).after;
  const from = await head();
  const old = new Date(Date.now() - 60_000);
  // A writer that died after its claim and log entry, before the document write.
  const after = { ...adoption, status: 'IN_PROGRESS', version: 2 };
  const claim = { ...(await t.db.collection(AUDIT).findOne({ _id: `adoptions/${adoption._id}@1` } as never))!, _id: `adoptions/${adoption._id}@2`, at: old, before: adoption, after, version: 2 };
  await t.db.collection(AUDIT).insertOne(claim as never);
  const fields = { collection: 'adoptions', documentId: adoption._id, state: 'pending', at: old };
  await t.db.collection(EVENT_LOG).insertOne({ _id: positionKey(from + 1), audit: claim._id, version: 2, ...fields } as never);
  // One whose claim was removed (its write failed) but which was never voided.
  await t.db.collection(EVENT_LOG).insertOne({ _id: positionKey(from + 2), audit: `adoptions/${adoption._id}@9`, version: 9, ...fields } as never);
  const next = await register();
  const got = await take(await log().forRequest({ after: `reuse.${from}` }).subscribe('reuse.adoptionChanged'), 2);
  expect(got.map((p) => [p.kind, p.adoption._id, p.adoption.status])).toEqual([
    ['STATUS_CHANGED', adoption._id, 'IN_PROGRESS'],
    ['REGISTERED', next.after._id, 'PLANNED'],
  ]);
  expect(await t.db.collection('adoptions').findOne({ _id: adoption._id } as never)).toMatchObject({ status: 'IN_PROGRESS', version: 2 });
  expect((await entries()).filter((e) => Number(e._id) > from).map((e) => e.state)).toEqual(['applied', 'void', 'applied']);
  // The next writer of the adoption carries on from the rolled-forward version.
  const w = writer(t.scope(), 'reuse', 'changeAdoptionStatus');
  expect((await changeAdoptionStatus(w, { id: adoption._id, status: 'ACTIVE', expectedVersion: 2 })).after).toMatchObject({ version: 3 });
});

it('a stream started afresh delivers nothing from before it, and what comes after', async () => {
  const events = log();
  await register();
  const stream = await events.forRequest(undefined).subscribe('reuse.adoptionChanged');
  const after = await register();
  await events.publish(after);
  const [got] = await take(stream, 1);
  await stream.return!();
  expect(got.adoption._id).toBe(after.after._id);
});

it('never refuses the head of an empty log as expired when the first entry is appended during the check', async () => {
  // Resuming from the start position of an empty log as the first write lands (a webhook's cursor,
  // a client's Last-Event-ID). The database the check reads appends the first entry right after
  // the check's first read, whichever it is: the interleaving that once made the head look expired.
  const empty = t.db.client.db(`${t.db.databaseName}_empty`);
  let appended = false;
  const afterFirstRead = async <T>(read: Promise<T>): Promise<T> => {
    const result = await read;
    if (!appended) {
      appended = true;
      await appendPending(empty, { collection: 'adoptions', audit: 'adoptions/x@1' } as never);
    }
    return result;
  };
  const interleaved = new Proxy(empty, {
    get(db, prop, receiver) {
      if (prop !== 'collection') return Reflect.get(db, prop, receiver);
      return (name: string) =>
        new Proxy(db.collection(name), {
          get(c, p, r) {
            if (p === 'findOne') return (...args: unknown[]) => afterFirstRead((c.findOne as (...a: unknown[]) => Promise<unknown>)(...args));
            if (p !== 'find') return Reflect.get(c, p, r);
            return (...args: unknown[]) => {
              const cursor = (c.find as (...a: unknown[]) => ReturnType<typeof c.find>)(...args);
              return new Proxy(cursor, {
                get(cur, q, rr) {
                  const v = Reflect.get(cur, q, rr) as unknown;
                  if (q === 'toArray') return () => afterFirstRead(cur.toArray());
                  return typeof v === 'function' ? (...a: unknown[]) => {
                    const out = (v as (...x: unknown[]) => unknown).apply(cur, a);
                    return out === cur ? rr : out;
                  } : v;
                },
              });
            };
          },
        });
    },
  });
  try {
    expect(await checkPosition(interleaved, 0)).toBe('ok');
    expect(appended).toBe(true);
  } finally {
    await empty.dropDatabase();
  }
});

it('trims a prefix older than the retention, never the newest entry, and refuses what it cannot serve', async () => {
  const newest = await head();
  expect(await checkPosition(t.db, 1)).toBe('ok');
  expect(await trimEventLog(t.db, 0)).toBe(newest - 1);
  expect((await entries()).map((e) => Number(e._id))).toEqual([newest]);
  expect(await checkPosition(t.db, newest - 2)).toBe('expired');
  expect(await checkPosition(t.db, newest)).toBe('ok');
  expect(await checkPosition(t.db, newest + 5)).toBe('unknown');
  await expect(log().forRequest({ after: 'reuse.1' }).subscribe('reuse.adoptionChanged')).rejects.toMatchObject({ extensions: { code: 'EVENT_ID_EXPIRED' } });
  await expect(log().forRequest({ after: 'funding.1' }).subscribe('reuse.adoptionChanged')).rejects.toMatchObject({ extensions: { code: 'EVENT_ID_UNKNOWN' } });
  // Appending after a trim goes on from the head, never below it.
  expect((await register()).event.position).toBe(newest + 1);
});
