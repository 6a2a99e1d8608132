/**
 * npm run schema:client                       writes schema/client/<view>.graphql (gateway/clientSchema.ts)
 * npm run schema:client -- --check            exits 1 if a committed file is out of date
 * npm run schema:client -- --role partner:a,b prints one view (api, frontend or partner:<subgraphs>) to stdout
 *   --supergraph FILE                         read FILE instead of schema/supergraph.graphql
 */
import { readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { inspectSupergraph } from '../gateway/supergraph.ts';
import { printClientSchemas, viewOfRole } from '../gateway/clientSchema.ts';

const root = path.resolve(import.meta.dirname, '..');
const { values } = parseArgs({ options: { check: { type: 'boolean', default: false }, role: { type: 'string' }, supergraph: { type: 'string' } } });
const sdl = readFileSync(path.resolve(values.supergraph ?? path.join(root, 'schema', 'supergraph.graphql')), 'utf8');

if (values.role) {
  const view = viewOfRole(values.role, inspectSupergraph(sdl).map((s) => s.name));
  if (!view) {
    console.error(`--role: api, frontend or partner:<subgraphs> (of ${inspectSupergraph(sdl).map((s) => s.name).join(', ')}), not ${values.role}`);
    process.exit(2);
  }
  process.stdout.write(printClientSchemas(sdl, [view]).get(view.name)!);
  process.exit(0);
}

const dir = path.join(root, 'schema', 'client');
const schemas = printClientSchemas(sdl);
await mkdir(dir, { recursive: true });
const stale: string[] = [];
for (const [name, text] of schemas) {
  const file = path.join(dir, `${name}.graphql`);
  const current = await readFile(file, 'utf8').catch(() => '');
  if (current === text) continue;
  stale.push(path.relative(process.cwd(), file));
  if (!values.check) await writeFile(file, text);
}
const extra = (await readdir(dir)).filter((f) => f.endsWith('.graphql') && !schemas.has(f.replace(/\.graphql$/, '')));
if (values.check) {
  if (stale.length > 0 || extra.length > 0) {
    console.error(`Out of date: ${[...stale, ...extra.map((f) => `schema/client/${f} (no such view)`)].join(', ')}: run \`npm run schema:client\` and commit.`);
    process.exit(1);
  }
  console.log(`schema/client/ is up to date (${schemas.size} views).`);
} else {
  console.log(stale.length ? `Wrote ${stale.join(', ')}.` : 'schema/client/ unchanged.');
}
