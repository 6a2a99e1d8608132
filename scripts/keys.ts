/**
 * npm run keys -- <command>: API keys and trusted documents in the gateway's database.
 *
 *   create --name NAME --role ROLE [--subgraphs a,b] [--expires YYYY-MM-DD] [--documents APP]
 *          prints the new key alone on its last line (it is never shown again)
 *   list   every key: name, role, scope, status, expiry
 *   revoke --name NAME
 *   documents --app APP --manifest FILE   registers an app's persisted-operation manifest
 *
 * The database: MONGODB_URI; else the one a running `npm start` uses (DATA_DIR/runtime.json);
 * else the embedded FerretDB over DATA_DIR, started for this command.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { GraphQLError } from 'graphql';
import { gatewayDbName, loadConfig, SUBGRAPH_NAMES } from '../lib/config.ts';
import { startDbServer, type DbServer } from '../lib/dbServer.ts';
import { connect } from '../lib/mongo.ts';
import { readRuntime } from '../lib/runtime.ts';
import { inspectSupergraph } from '../gateway/supergraph.ts';
import { KeyStore, type KeyInfo } from '../gateway/access/keys.ts';
import { DocumentStore } from '../gateway/access/documents.ts';

const USAGE = `usage: npm run keys -- create --name NAME --role ROLE [--subgraphs a,b] [--expires YYYY-MM-DD] [--documents APP]
       npm run keys -- list
       npm run keys -- revoke --name NAME
       npm run keys -- documents --app APP --manifest FILE
roles: frontend, analyst, partner (needs --subgraphs), editor (needs --subgraphs), admin`;

function fail(message: string, code = 2): never {
  console.error(message);
  process.exit(code);
}

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    name: { type: 'string' },
    role: { type: 'string' },
    subgraphs: { type: 'string' },
    expires: { type: 'string' },
    documents: { type: 'string' },
    app: { type: 'string' },
    manifest: { type: 'string' },
  },
  strict: false,
});
const command = positionals[0];
if (!command || !['create', 'list', 'revoke', 'documents'].includes(command)) fail(USAGE);

const cfg = loadConfig();
let known: string[];
try {
  known = inspectSupergraph(readFileSync(cfg.SUPERGRAPH_PATH, 'utf8')).map((s) => s.name);
} catch {
  known = [...SUBGRAPH_NAMES];
}

let server: DbServer | undefined;
const uri = cfg.MONGODB_URI ?? (await readRuntime(cfg.DATA_DIR))?.mongoUri;
if (!uri) {
  server = await startDbServer({ dataDir: cfg.DATA_DIR, ferretdbBin: cfg.FERRETDB_BIN, log: (line) => console.error(line) });
}
const client = await connect(uri ?? server!.uri);
const db = client.db(gatewayDbName(cfg));
const keys = new KeyStore(db, { cacheMs: 0, knownSubgraphs: () => known });
const documents = new DocumentStore(db, 0);

function row(k: KeyInfo): string {
  const scope = k.subgraphs ? k.subgraphs.join(',') : '*';
  const expires = k.expiresAt ? k.expiresAt.toISOString().slice(0, 10) : '-';
  return [k.name, k.role, scope, k.status, expires, k.prefix, k.documents ?? '-'].join('\t');
}

let exitCode = 0;
try {
  await keys.init();
  await documents.init();
  switch (command) {
    case 'create': {
      if (!values.name || !values.role) fail(USAGE);
      const subgraphs = typeof values.subgraphs === 'string' ? values.subgraphs.split(',').map((s) => s.trim()).filter(Boolean) : undefined;
      const { key, info } = await keys.create({
        name: String(values.name),
        role: String(values.role),
        subgraphs,
        expires: typeof values.expires === 'string' ? values.expires : undefined,
        documents: typeof values.documents === 'string' ? values.documents : undefined,
      });
      console.log(`Created ${info.role} key "${info.name}" (scope ${info.subgraphs?.join(',') ?? '*'}, expires ${info.expiresAt?.toISOString().slice(0, 10) ?? 'never'}). Store it now: it is not shown again.`);
      console.log(key);
      break;
    }
    case 'list': {
      console.log(['name', 'role', 'subgraphs', 'status', 'expires', 'prefix', 'documents'].join('\t'));
      for (const k of await keys.list()) console.log(row(k));
      break;
    }
    case 'revoke': {
      if (!values.name) fail(USAGE);
      const info = await keys.revoke(String(values.name));
      console.log(`Revoked "${info.name}" (effective within API_KEY_CACHE_MS on running gateways).`);
      break;
    }
    case 'documents': {
      if (!values.app || !values.manifest) fail(USAGE);
      let manifest: unknown;
      try {
        manifest = JSON.parse(readFileSync(String(values.manifest), 'utf8'));
      } catch (err) {
        fail(`cannot read ${String(values.manifest)}: ${(err as Error).message}`);
      }
      const r = await documents.register(String(values.app), manifest);
      console.log(`Registered ${r.added} new operation(s) for app "${String(values.app)}" (${r.total} in all).`);
      break;
    }
  }
} catch (err) {
  if (err instanceof GraphQLError) {
    console.error(`error (${String(err.extensions['code'])}): ${err.message}`);
    exitCode = 1;
  } else {
    throw err;
  }
} finally {
  await client.close();
  await server?.stop();
}
process.exit(exitCode);
