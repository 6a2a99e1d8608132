/**
 * npm run config:docs — rewrites .env.example and the README's configuration table from
 * lib/config.ts, the one place variables are declared (test/unit/config.test.ts checks they agree).
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { configSpec } from '../lib/config.ts';

const root = path.resolve(import.meta.dirname, '..');
const entries = Object.entries(configSpec).map(([name, spec]) => ({
  name,
  def: 'default' in spec ? spec.default : '',
  description: spec.description,
}));

const env =
  '# ALI Graph configuration. Every variable is optional; the value shown is the default.\n' +
  '# lib/config.ts reads and validates them once at start-up (test/unit/config.test.ts keeps this file in sync).\n' +
  entries.map((e) => `\n# ${e.description}\n${e.name}=${e.def}\n`).join('');
await writeFile(path.join(root, '.env.example'), env);

const table = [
  '| variable | default | description |',
  '|---|---|---|',
  ...entries.map((e) => `| \`${e.name}\` | ${e.def ? `\`${e.def}\`` : '—'} | ${e.description.replace(/\|/g, '\\|')} |`),
].join('\n');
const readmePath = path.join(root, 'README.md');
const readme = await readFile(readmePath, 'utf8');
const start = readme.indexOf('| variable | default | description |');
if (start < 0) throw new Error('README.md has no configuration table');
const end = readme.indexOf('\n\n', start);
await writeFile(readmePath, readme.slice(0, start) + table + readme.slice(end));
console.log(`Wrote .env.example and the README table (${entries.length} variables).`);
