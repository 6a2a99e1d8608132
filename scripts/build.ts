/**
 * npm run build — the production build: every service compiled to JavaScript in dist/, so that
 * production runs `node dist/gateway/index.js` (and `dist/subgraphs/<name>/index.js`,
 * `dist/scripts/seed.js`, `dist/scripts/keys.js`) with no TypeScript compiler at run time.
 *
 * tsc compiles the entry points listed in tsconfig.build.json and everything they import, one
 * .js file per .ts file, with `.ts` import specifiers rewritten to `.js`. The layout under dist/
 * mirrors the sources, so the files the services read next to their modules at start-up (the
 * subgraph SDL in schema/, gateway/access/admin.graphql, the reports in gateway/analytics/, the
 * web pages in ui/dist/) are copied to the same relative places. Nothing is bundled: the
 * OpenTelemetry instrumentations patch modules as Node loads them from node_modules.
 *
 * The new tree is built beside dist/ and swapped in at the end, so a build that fails leaves the
 * previous dist/ as it was.
 */
import { execFile } from 'node:child_process';
import { cp, mkdir, readdir, rename, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { buildUi } from './build-ui.ts';

const root = path.resolve(import.meta.dirname, '..');
/** Folders compiled by tsc whose `.graphql` files the services read at run time. */
const SOURCE_DIRS = ['gateway', 'lib', 'subgraphs'];

async function graphqlFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(path.join(root, dir), { withFileTypes: true })) {
    const rel = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await graphqlFiles(rel)));
    else if (entry.name.endsWith('.graphql')) out.push(rel);
  }
  return out;
}

export interface BuildOptions {
  /** Where the tree goes (default dist/); it must be inside the repository, so that Node finds node_modules from it. */
  readonly outDir?: string;
  /** The tsc project whose `files` are the entry points (default tsconfig.build.json). */
  readonly project?: string;
}

export async function build(options: BuildOptions = {}): Promise<string> {
  const dist = options.outDir ?? path.join(root, 'dist');
  const tmp = `${dist}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  try {
    await buildUi();
    const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    await promisify(execFile)(process.execPath, [tsc, '-p', options.project ?? 'tsconfig.build.json', '--outDir', tmp], { cwd: root }).catch(
      (err: Error & { stdout?: string }) => {
        throw new Error(`tsc failed:\n${err.stdout?.trim() || err.message}`);
      },
    );
    const assets = ['schema', ...SOURCE_DIRS].map(async (dir) => {
      for (const file of await graphqlFiles(dir)) {
        await mkdir(path.dirname(path.join(tmp, file)), { recursive: true });
        await cp(path.join(root, file), path.join(tmp, file));
      }
    });
    await Promise.all(assets);
    await cp(path.join(root, 'ui', 'dist'), path.join(tmp, 'ui', 'dist'), { recursive: true });
    const old = `${dist}.old-${process.pid}`;
    if (existsSync(dist)) await rename(dist, old);
    await rename(tmp, dist);
    await rm(old, { recursive: true, force: true });
    return dist;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  const t = Date.now();
  await build();
  console.log(`built dist/ in ${Date.now() - t} ms: node dist/gateway/index.js, node dist/subgraphs/<name>/index.js`);
}
