/**
 * The gateway's own database for the command-line tools (npm run keys, npm run documents), and
 * what both do with it:
 * MONGODB_URI; else the one a running `npm start` uses (DATA_DIR/runtime.json); else the embedded
 * FerretDB over DATA_DIR, started for the command and stopped with it.
 */
import { readFileSync } from 'node:fs';
import type { Db } from 'mongodb';
import type { DocumentStore } from '../gateway/access/documents.ts';
import { gatewayDbName, loadConfig, type Config } from '../lib/config.ts';
import { startDbServer, type DbServer } from '../lib/dbServer.ts';
import { connect } from '../lib/mongo.ts';
import { readRuntime } from '../lib/runtime.ts';

export interface AccessDb {
  readonly cfg: Config;
  readonly db: Db;
  close(): Promise<void>;
}

export async function openAccessDb(): Promise<AccessDb> {
  const cfg = loadConfig();
  let server: DbServer | undefined;
  const uri = cfg.MONGODB_URI ?? (await readRuntime(cfg.DATA_DIR))?.mongoUri;
  if (!uri) server = await startDbServer({ dataDir: cfg.DATA_DIR, ferretdbBin: cfg.FERRETDB_BIN, log: (line) => console.error(line) });
  const client = await connect(uri ?? server!.uri);
  return {
    cfg,
    db: client.db(gatewayDbName(cfg)),
    close: async () => {
      await client.close();
      await server?.stop();
    },
  };
}

/** Registers a manifest file for an app (all or nothing); the line to print. Throws a GraphQLError (BAD_USER_INPUT) for a bad manifest. */
export async function registerManifest(documents: DocumentStore, app: string, file: string): Promise<string> {
  let manifest: unknown;
  try {
    manifest = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    console.error(`cannot read ${file}: ${(err as Error).message}`);
    process.exit(2);
  }
  const r = await documents.register(app, manifest);
  return `Registered ${r.added} new operation(s) for app "${app}" (${r.total} in all).`;
}
