/**
 * npm run keys -- <command>: API keys in the gateway's database (trusted documents: npm run documents).
 *
 *   create --name NAME --role ROLE [--subgraphs a,b] [--expires YYYY-MM-DD] [--documents APP]
 *          prints the new key alone on its last line (it is never shown again)
 *   list   every key: name, role, scope, status, expiry
 *   revoke --name NAME
 *   documents --app APP --manifest FILE   the same as `npm run documents -- register …`
 *
 * The database: scripts/accessDb.ts.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { GraphQLError } from 'graphql';
import { SUBGRAPH_NAMES } from '../lib/config.ts';
import { inspectSupergraph } from '../gateway/supergraph.ts';
import { KeyStore, type KeyInfo } from '../gateway/access/keys.ts';
import { DocumentStore } from '../gateway/access/documents.ts';
import { openAccessDb, registerManifest } from './accessDb.ts';

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

const { cfg, db, close } = await openAccessDb();
let known: string[];
try {
  known = inspectSupergraph(readFileSync(cfg.SUPERGRAPH_PATH, 'utf8')).map((s) => s.name);
} catch {
  known = [...SUBGRAPH_NAMES];
}

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
      console.log(await registerManifest(documents, String(values.app), String(values.manifest)));
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
  await close();
}
process.exit(exitCode);
