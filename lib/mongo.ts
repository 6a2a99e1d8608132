/**
 * MongoDB access shared by the subgraphs: one client per process, capability detection (MongoDB
 * and FerretDB differ), and idempotent index creation from declarations kept next to each
 * collection.
 */
import type { Db, IndexDescription, MongoClient, MongoClientOptions } from 'mongodb';
import { isDuplicateKey, mongodb } from './drivers.ts';

/** What the connected server can do; FerretDB 1.x has no `$lookup`, change streams or transactions. */
export interface Capabilities {
  readonly server: 'mongodb' | 'ferretdb';
  readonly version: string;
  readonly replicaSet: boolean;
  readonly changeStreams: boolean;
  readonly transactions: boolean;
  readonly lookup: boolean;
}

/** A collection with the indexes it needs, declared where the collection is. */
export interface CollectionSpec {
  readonly name: string;
  readonly indexes: readonly IndexDescription[];
}

/** Connects with the options every service uses: Int64 money read back as exact `bigint`. */
export async function connect(uri: string, options: MongoClientOptions = {}): Promise<MongoClient> {
  const client = new (mongodb().MongoClient)(uri, {
    useBigInt64: true,
    serverSelectionTimeoutMS: 10_000,
    appName: 'ali-graph',
    ...options,
  });
  await client.connect();
  return client;
}

export async function detectCapabilities(db: Db): Promise<Capabilities> {
  const admin = db.admin();
  const [build, hello] = await Promise.all([admin.command({ buildInfo: 1 }), admin.command({ hello: 1 })]);
  const ferret = typeof build.ferretdbVersion === 'string';
  const replicaSet = typeof hello.setName === 'string';
  return {
    server: ferret ? 'ferretdb' : 'mongodb',
    version: ferret ? String(build.ferretdbVersion) : String(build.version),
    replicaSet,
    changeStreams: !ferret && replicaSet,
    transactions: !ferret && replicaSet,
    lookup: !ferret,
  };
}

/**
 * Creates the declared indexes that do not exist yet, one per command. Existing indexes are not
 * re-declared: FerretDB 1.24 panics on a createIndexes naming several existing indexes, and a
 * createIndexes of an existing index can leave its SQLite backend waiting on a lock so that the
 * next write to that database never returns (both seen here on every restart).
 */
export async function ensureIndexes(db: Db, specs: readonly CollectionSpec[]): Promise<void> {
  for (const spec of specs) {
    if (spec.indexes.length === 0) continue;
    const collection = db.collection(spec.name);
    const existing = new Set(
      (await collection.listIndexes().toArray().catch(() => [] as { name?: string }[])).map((i) => i.name),
    );
    for (const index of spec.indexes) {
      if (!index.name) throw new Error(`index on ${spec.name} needs a name`);
      if (!existing.has(index.name)) await collection.createIndexes([index]);
    }
  }
}

/** How many seed records were new and how many were already there. */
export interface SeedCount {
  readonly collection: string;
  readonly inserted: number;
  readonly existing: number;
}

/**
 * Inserts the documents whose `_id` is not there yet and leaves existing ones untouched, so a
 * second run changes nothing and never overwrites records edited through the API. Reads the
 * existing ids, then inserts the rest: a bulk of upserts that match existing documents hangs
 * FerretDB 1.24 past a couple of hundred documents (seen here).
 */
export async function insertMissing<T extends { _id: string }>(db: Db, collection: string, docs: readonly T[]): Promise<SeedCount> {
  if (docs.length === 0) return { collection, inserted: 0, existing: 0 };
  const coll = db.collection<T>(collection);
  const ids = docs.map((d) => d._id);
  const found = await coll.find({ _id: { $in: ids } } as never, { projection: { _id: 1 }, batchSize: ids.length + 1 }).toArray();
  const present = new Set<unknown>(found.map((d) => d._id));
  const missing = docs.filter((d) => !present.has(d._id));
  let inserted = 0;
  if (missing.length > 0) {
    try {
      inserted = (await coll.insertMany(missing as never[], { ordered: false })).insertedCount;
    } catch (err) {
      // A concurrent seed inserted some of them first: those count as existing.
      const e = err as { insertedCount?: number; result?: { insertedCount?: number } };
      if (!isDuplicateKey(err)) throw err;
      inserted = e.result?.insertedCount ?? e.insertedCount ?? 0;
    }
  }
  return { collection, inserted, existing: docs.length - inserted };
}
