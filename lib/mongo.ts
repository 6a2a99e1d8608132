/**
 * MongoDB access shared by the subgraphs: one client per process, capability detection (MongoDB
 * and FerretDB differ), and idempotent index creation from declarations kept next to each
 * collection.
 */
import { MongoClient, type Db, type IndexDescription, type MongoClientOptions } from 'mongodb';

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
  const client = new MongoClient(uri, {
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

/** Creates the declared indexes; a no-op when they exist (createIndexes is idempotent). */
export async function ensureIndexes(db: Db, specs: readonly CollectionSpec[]): Promise<void> {
  for (const spec of specs) {
    if (spec.indexes.length > 0) await db.collection(spec.name).createIndexes([...spec.indexes]);
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
 * second run changes nothing and never overwrites records edited through the API.
 */
export async function insertMissing<T extends { _id: string }>(db: Db, collection: string, docs: readonly T[]): Promise<SeedCount> {
  if (docs.length === 0) return { collection, inserted: 0, existing: 0 };
  const res = await db.collection<T>(collection).bulkWrite(
    docs.map((doc) => ({
      updateOne: { filter: { _id: doc._id } as never, update: { $setOnInsert: doc } as never, upsert: true },
    })),
    { ordered: false },
  );
  return { collection, inserted: res.upsertedCount, existing: docs.length - res.upsertedCount };
}
