/**
 * npm run build:ui — bundles every page under ui/<page>/ (index.html + main.tsx) with esbuild
 * into ui/dist/<page>/, so the gateway serves the explorer and the dashboard with no request to
 * any other host. Runs on `npm install` (prepare) and before `npm start`/`npm test` when stale.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { copyFile, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { build } from 'esbuild';

const root = path.resolve(import.meta.dirname, '..');
const uiDir = path.join(root, 'ui');
const outRoot = path.join(uiDir, 'dist');

export const pages = (): string[] =>
  existsSync(uiDir)
    ? readdirSync(uiDir).filter((d) => d !== 'dist' && existsSync(path.join(uiDir, d, 'index.html')) && existsSync(path.join(uiDir, d, 'main.tsx')))
    : [];

export async function buildUi(): Promise<string[]> {
  await rm(outRoot, { recursive: true, force: true });
  const built: string[] = [];
  for (const page of pages()) {
    const out = path.join(outRoot, page);
    await mkdir(out, { recursive: true });
    await build({
      entryPoints: [path.join(uiDir, page, 'main.tsx')],
      bundle: true,
      minify: true,
      sourcemap: false,
      format: 'esm',
      target: 'es2020',
      outfile: path.join(out, 'main.js'),
      loader: { '.svg': 'dataurl', '.woff': 'dataurl', '.woff2': 'dataurl', '.ttf': 'dataurl', '.png': 'dataurl' },
      define: { 'process.env.NODE_ENV': '"production"' },
      jsx: 'automatic',
      logLevel: 'warning',
    });
    await copyFile(path.join(uiDir, page, 'index.html'), path.join(out, 'index.html'));
    built.push(page);
  }
  return built;
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  const t = Date.now();
  const built = await buildUi();
  const size = (p: string) => readdirSync(path.join(outRoot, p)).reduce((n, f) => n + statSync(path.join(outRoot, p, f)).size, 0);
  console.log(`built ui/dist: ${built.map((p) => `${p} (${Math.round(size(p) / 1024)} KiB)`).join(', ') || 'no pages'} in ${Date.now() - t} ms`);
}
