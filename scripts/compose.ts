/**
 * npm run compose                  writes schema/supergraph.graphql from the SDL files in schema/
 * npm run compose -- --check       exits 1 with the composition errors, or if the file is out of date
 *
 * Both refuse SDL with a list field that declares no size (@listSize: a slicing argument, an
 * assumed size, or sized by the field that returns its type), which the gateway's cost analysis
 * would have to guess (gateway/cost/).
 *   --schema-dir DIR               read <subgraph>.graphql from DIR instead of schema/
 *   --out FILE                     write or check FILE instead of schema/supergraph.graphql
 */
import { readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { composeSupergraph } from '../lib/composition.ts';
import { unsizedListFields } from '../gateway/cost/directives.ts';

const root = path.resolve(import.meta.dirname, '..');
const { values } = parseArgs({
  options: { check: { type: 'boolean', default: false }, 'schema-dir': { type: 'string' }, out: { type: 'string' } },
});
const schemaDir = values['schema-dir'] ? path.resolve(values['schema-dir']) : undefined;
const target = path.resolve(values.out ?? path.join(root, 'schema', 'supergraph.graphql'));

const result = composeSupergraph({}, schemaDir ? (name) => readFileSync(path.join(schemaDir, `${name}.graphql`), 'utf8') : undefined);
if (!result.ok) {
  console.error(`Composition failed with ${result.errors.length} error(s):`);
  for (const e of result.errors) console.error(`  - ${e}`);
  process.exit(1);
}
const unsized = unsizedListFields(result.supergraphSdl);
if (unsized.length > 0) {
  console.error(`${unsized.length} list field(s) declare no size: give each a @listSize (slicingArguments or assumedSize):`);
  for (const field of unsized) console.error(`  - ${field}`);
  process.exit(1);
}
const current = await readFile(target, 'utf8').catch(() => '');
const shown = path.relative(process.cwd(), target);
if (values.check) {
  if (current !== result.supergraphSdl) {
    console.error(`${shown} is out of date: run \`npm run compose\` and commit it.`);
    process.exit(1);
  }
  console.log(`${shown} is up to date.`);
} else {
  await writeFile(target, result.supergraphSdl);
  console.log(current === result.supergraphSdl ? `${shown} unchanged.` : `Wrote ${shown}.`);
}
