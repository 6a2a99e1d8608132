/**
 * Composition and code generation stay in step with the SDL: the committed supergraph is what
 * `npm run compose` produces, `--check` fails on a stale file or a composition error, and the
 * generated resolver types are current.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, cp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { generate } from '@graphql-codegen/cli';
import { describe, expect, it } from 'vitest';
import { composeSupergraph } from '../../lib/composition.ts';
import { SUBGRAPH_NAMES } from '../../lib/config.ts';
import codegenConfig from '../../codegen.ts';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '..', '..');
const compose = (...args: string[]) =>
  run(path.join(root, 'node_modules', '.bin', 'tsx'), ['scripts/compose.ts', ...args], { cwd: root }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => e,
  );

describe('composition', () => {
  it('composes the four subgraphs into the committed supergraph', async () => {
    const result = composeSupergraph();
    expect(result.ok).toBe(true);
    const committed = await readFile(path.join(root, 'schema', 'supergraph.graphql'), 'utf8');
    expect(result.ok && result.supergraphSdl).toBe(committed);
    for (const name of SUBGRAPH_NAMES) expect(committed).toContain(`@join__graph(name: "${name}"`);
    const ok = await compose('--check');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('up to date');
  });

  it('fails --check on a stale supergraph and on composition errors', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ali-compose-'));
    try {
      const stale = path.join(dir, 'supergraph.graphql');
      await writeFile(stale, 'type Query { stale: Int }\n');
      const staleRun = await compose('--check', '--out', stale);
      expect(staleRun.code).toBe(1);
      expect(staleRun.stderr).toContain('out of date');

      // The same shareable field typed differently in two subgraphs does not compose.
      await cp(path.join(root, 'schema'), path.join(dir, 'schema'), { recursive: true });
      const funding = path.join(dir, 'schema', 'funding.graphql');
      const sdl = await readFile(funding, 'utf8');
      await writeFile(funding, sdl.replace('type PageInfo @shareable {\n  hasNextPage: Boolean!', 'type PageInfo @shareable {\n  hasNextPage: String!'));
      const broken = await compose('--check', '--schema-dir', path.join(dir, 'schema'), '--out', stale);
      expect(broken.code).toBe(1);
      expect(broken.stderr).toMatch(/Composition failed with \d+ error/);
      expect(broken.stderr).toContain('PageInfo.hasNextPage');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('fails when one of our list fields declares no size (@listSize)', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ali-compose-'));
    try {
      await cp(path.join(root, 'schema'), path.join(dir, 'schema'), { recursive: true });
      const alliances = path.join(dir, 'schema', 'alliances.graphql');
      const sdl = await readFile(alliances, 'utf8');
      const unsized = sdl.replace(/(\n  provinces: \[Province!\]!) @listSize\([^)]*\)/, '$1');
      expect(unsized).not.toBe(sdl);
      await writeFile(alliances, unsized);
      const out = path.join(dir, 'supergraph.graphql');
      for (const args of [[], ['--check']]) {
        const run = await compose(...args, '--schema-dir', path.join(dir, 'schema'), '--out', out);
        expect(run.code, args.join(' ')).toBe(1);
        expect(run.stderr).toContain('Query.provinces');
        expect(run.stderr).toMatch(/@listSize/);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('has current generated resolver types (npm run codegen)', async () => {
    const outputs = await generate({ ...codegenConfig, cwd: root, silent: true }, false);
    expect(outputs).toHaveLength(SUBGRAPH_NAMES.length);
    for (const out of outputs) {
      const committed = await readFile(path.resolve(root, out.filename), 'utf8');
      expect(committed, `${out.filename} is stale: run npm run codegen`).toBe(out.content);
    }
  });
});
