/**
 * npm run build:ui — bundles every page under ui/<page>/ (index.html + main.tsx) with esbuild
 * into ui/dist/<page>/ (index.html, main.js and, when the page imports CSS, main.css), so the
 * gateway serves the explorer and the dashboard with no request to any other host: fonts and
 * images referenced by CSS are inlined as data: URLs, `.graphql` files are imported as text.
 * Runs on `npm install` (prepare) and before `npm start`/`npm test` when stale.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { build } from 'esbuild';

const root = path.resolve(import.meta.dirname, '..');
const uiDir = path.join(root, 'ui');
const outRoot = path.join(uiDir, 'dist');

export const pages = (): string[] =>
  existsSync(uiDir)
    ? readdirSync(uiDir).filter((d) => d !== 'dist' && existsSync(path.join(uiDir, d, 'index.html')) && existsSync(path.join(uiDir, d, 'main.tsx')))
    : [];

/**
 * Builds every page. Safe to run while a gateway serves ui/dist and while another build runs (two
 * browser test files build in parallel): every file is written to a temporary name and renamed
 * into place, so a reader sees either the old or the new file, never none; files no longer
 * produced are removed afterwards.
 */
export async function buildUi(): Promise<string[]> {
  const built: string[] = [];
  for (const page of pages()) {
    const out = path.join(outRoot, page);
    await mkdir(out, { recursive: true });
    const result = await build({
      entryPoints: [path.join(uiDir, page, 'main.tsx')],
      bundle: true,
      minify: true,
      sourcemap: false,
      format: 'esm',
      target: 'es2020',
      outfile: path.join(out, 'main.js'),
      write: false,
      loader: { '.svg': 'dataurl', '.woff': 'dataurl', '.woff2': 'dataurl', '.ttf': 'dataurl', '.png': 'dataurl', '.graphql': 'text' },
      charset: 'utf8',
      define: { 'process.env.NODE_ENV': '"production"' },
      jsx: 'automatic',
      logLevel: 'warning',
    });
    const files = [
      ...result.outputFiles.map((f) => ({ file: f.path, contents: f.contents })),
      { file: path.join(out, 'index.html'), contents: await readFile(path.join(uiDir, page, 'index.html')) },
    ];
    // A gzip copy of every large file, which gateway/routes/ui.ts sends to browsers that accept it.
    for (const { file, contents } of [...files]) {
      if (contents.length >= GZIP_MIN_BYTES) files.push({ file: `${file}.gz`, contents: await gzip(contents, { level: 9 }) });
    }
    for (const { file, contents } of files) await writeAtomically(file, contents);
    const produced = new Set(files.map((f) => path.basename(f.file)));
    for (const name of await readdir(out)) {
      if (!produced.has(name) && !name.includes(TMP_MARK)) await rm(path.join(out, name), { recursive: true, force: true });
    }
    built.push(page);
  }
  for (const name of existsSync(outRoot) ? await readdir(outRoot) : []) {
    if (!built.includes(name)) await rm(path.join(outRoot, name), { recursive: true, force: true });
  }
  return built;
}

const TMP_MARK = '.tmp-';
const GZIP_MIN_BYTES = 1024;
const gzip = promisify(zlib.gzip);

async function writeAtomically(file: string, contents: Uint8Array): Promise<void> {
  const tmp = `${file}${TMP_MARK}${process.pid}-${randomBytes(4).toString('hex')}`;
  await writeFile(tmp, contents);
  await rename(tmp, file);
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  const t = Date.now();
  const built = await buildUi();
  // Bytes a browser receives: every file as is, and with the gzip copy where there is one.
  const size = (p: string, gzipped: boolean) =>
    readdirSync(path.join(outRoot, p))
      .filter((f) => !f.endsWith('.gz'))
      .map((f) => path.join(outRoot, p, f))
      .reduce((n, f) => n + statSync(gzipped && existsSync(`${f}.gz`) ? `${f}.gz` : f).size, 0);
  const kib = (bytes: number) => `${Math.round(bytes / 1024)} KiB`;
  console.log(
    `built ui/dist: ${built.map((p) => `${p} (${kib(size(p, false))}, ${kib(size(p, true))} gzipped)`).join(', ') || 'no pages'} in ${Date.now() - t} ms`,
  );
}
