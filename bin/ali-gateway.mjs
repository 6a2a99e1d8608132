#!/usr/bin/env node
// `ali-gateway --supergraph FILE [--port N]`: the ALI Graph gateway over any Federation 2 supergraph.
// Runs the compiled gateway (dist/, made by `npm run build`) when there is one, so that a production
// install needs no TypeScript at run time; otherwise the sources through tsx (a development checkout).
// After changing the sources, run `npm run build` again or remove dist/: a compiled gateway is
// used as it is.
import { existsSync } from 'node:fs';

const compiled = new URL('../dist/gateway/index.js', import.meta.url);
if (existsSync(compiled)) {
  await import(compiled.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../gateway/index.ts');
}
