/**
 * npm run documents -- <command>: the trusted documents of front-end apps (gateway/access/documents.ts).
 *
 *   register --app APP --manifest FILE   adds a manifest's operations (Apollo's persisted-query
 *                                        manifest, or GraphQL Code Generator's persisted-documents.json)
 *   list     --app APP                   id, operation name and registration date of each document
 *   remove   --app APP [--id ID]         removes one document (by its id, bare or sha256:-prefixed) or all of them
 *
 * Keys bound to the app (`npm run keys -- create … --documents APP`) run only its documents. The
 * database: scripts/accessDb.ts.
 */
import { parseArgs } from 'node:util';
import { GraphQLError } from 'graphql';
import { DocumentStore } from '../gateway/access/documents.ts';
import { openAccessDb, registerManifest } from './accessDb.ts';

const USAGE = `usage: npm run documents -- register --app APP --manifest FILE
       npm run documents -- list --app APP
       npm run documents -- remove --app APP [--id ID]`;

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { app: { type: 'string' }, manifest: { type: 'string' }, id: { type: 'string' } },
  strict: false,
});
const command = positionals[0];
const app = typeof values.app === 'string' ? values.app : undefined;
if (!command || !['register', 'list', 'remove'].includes(command) || !app || (command === 'register' && typeof values.manifest !== 'string')) {
  console.error(USAGE);
  process.exit(2);
}

const { db, close } = await openAccessDb();
const documents = new DocumentStore(db, 0);
let exitCode = 0;
try {
  await documents.init();
  if (command === 'register') {
    console.log(await registerManifest(documents, app, String(values.manifest)));
  } else if (command === 'list') {
    console.log(['id', 'name', 'registered'].join('\t'));
    for (const d of await documents.list(app)) console.log([d.id, d.name ?? '-', d.registeredAt.toISOString()].join('\t'));
  } else {
    const id = typeof values.id === 'string' ? values.id : undefined;
    const removed = await documents.remove(app, id);
    console.log(`Removed ${removed} document(s) of app "${app}"${id ? ` with id ${id}` : ''} (effective within API_KEY_CACHE_MS on running gateways).`);
    if (id && removed === 0) exitCode = 1;
  }
} catch (err) {
  if (!(err instanceof GraphQLError)) throw err;
  console.error(`error (${String(err.extensions['code'])}): ${err.message}`);
  exitCode = 1;
} finally {
  await close();
}
process.exit(exitCode);
