/**
 * npm run seed              loads the published facts, the ISTAT registry and the marked sample
 *                           data into every subgraph's database; running it again changes nothing
 * npm run seed -- --reset   drops the four databases first (loses every change made through the API)
 *
 * Uses MONGODB_URI, or the embedded FerretDB that `npm start` uses (same DATA_DIR).
 */
import { loadConfig, subgraphDbName, SUBGRAPH_NAMES } from '../lib/config.ts';
import { startDbServer } from '../lib/dbServer.ts';
import { connect, ensureIndexes } from '../lib/mongo.ts';
import { subgraphModules } from '../subgraphs/index.ts';

const cfg = loadConfig();
const reset = process.argv.includes('--reset');
const server = await startDbServer({ uri: cfg.MONGODB_URI, dataDir: cfg.DATA_DIR, ferretdbBin: cfg.FERRETDB_BIN });
const client = await connect(server.uri);
try {
  for (const name of SUBGRAPH_NAMES) {
    const mod = subgraphModules[name];
    const db = client.db(subgraphDbName(cfg, name));
    if (reset) await db.dropDatabase();
    await ensureIndexes(db, mod.collections);
    const counts = await mod.seed(db);
    console.log(
      `${name.padEnd(10)} ${counts.map((c) => `${c.collection}: ${c.inserted} inserted, ${c.existing} already there`).join('; ')}`,
    );
  }
} finally {
  await client.close();
  await server.stop();
}
