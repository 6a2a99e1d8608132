/**
 * npm run compose            writes schema/supergraph.graphql from the subgraph SDLs
 * npm run compose -- --check exits 1 with the composition errors, or if the file is out of date
 */
import { readFile, writeFile } from 'node:fs/promises';
import { composeSupergraph } from '../lib/composition.ts';

const target = new URL('../schema/supergraph.graphql', import.meta.url);
const check = process.argv.includes('--check');
const result = composeSupergraph();
if (!result.ok) {
  console.error(`Composition failed with ${result.errors.length} error(s):`);
  for (const e of result.errors) console.error(`  - ${e}`);
  process.exit(1);
}
const current = await readFile(target, 'utf8').catch(() => '');
if (check) {
  if (current !== result.supergraphSdl) {
    console.error('schema/supergraph.graphql is out of date: run `npm run compose` and commit it.');
    process.exit(1);
  }
  console.log('schema/supergraph.graphql is up to date.');
} else {
  await writeFile(target, result.supergraphSdl);
  console.log(current === result.supergraphSdl ? 'schema/supergraph.graphql unchanged.' : 'Wrote schema/supergraph.graphql.');
}
