/**
 * The supergraph file watcher against the way Kubernetes updates a mounted ConfigMap. The kubelet
 * never writes the file the gateway reads: `supergraph.graphql` is a symlink to
 * `..data/supergraph.graphql`, `..data` a symlink to a timestamped folder; an update writes a new
 * folder, points `..data_tmp` at it and renames `..data_tmp` over `..data` (one atomic rename),
 * then deletes the old folder. The folder sees events for `..data_tmp`, `..data` and the
 * timestamped folders only, never one for the file's own name.
 */
import { mkdir, mkdtemp, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { supergraphManager } from '../../gateway/supergraph.ts';

const root = path.resolve(import.meta.dirname, '..', '..');
const log = pino({ level: 'silent' });

let dir: string | undefined;
let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  await cleanup?.();
  if (dir) await rm(dir, { recursive: true, force: true });
  cleanup = dir = undefined;
});

/** Writes `sdl` as the kubelet's atomic writer does: new timestamped folder, `..data` swapped by rename. */
async function kubeletWrite(mount: string, version: string, sdl: string, previous?: string): Promise<void> {
  const folder = `..2026_12_04_12_00_00.${version}`;
  await mkdir(path.join(mount, folder));
  await writeFile(path.join(mount, folder, 'supergraph.graphql'), sdl);
  await symlink(folder, path.join(mount, '..data_tmp'));
  await rename(path.join(mount, '..data_tmp'), path.join(mount, '..data'));
  if (previous) await rm(path.join(mount, `..2026_12_04_12_00_00.${previous}`), { recursive: true });
}

async function until(condition: () => boolean, ms: number): Promise<void> {
  for (const end = Date.now() + ms; !condition() && Date.now() < end; ) await new Promise((r) => setTimeout(r, 20));
}

describe('supergraph from a Kubernetes ConfigMap volume', () => {
  it('swaps in the new supergraph when the kubelet swaps ..data, and refuses an invalid one', async () => {
    const original = await readFile(path.join(root, 'schema', 'supergraph.graphql'), 'utf8');
    dir = await mkdtemp(path.join(os.tmpdir(), 'ali-configmap-'));
    await kubeletWrite(dir, '1', original);
    await symlink('..data/supergraph.graphql', path.join(dir, 'supergraph.graphql'));

    const events: string[] = [];
    const updates: string[] = [];
    const manager = supergraphManager({ path: path.join(dir, 'supergraph.graphql'), watch: true }, log, (e) => events.push(e.kind));
    const init = await manager.initialize({
      update: (sdl: string) => void updates.push(sdl),
      healthCheck: async () => {},
      getDataSource: () => undefined,
    } as unknown as Parameters<typeof manager.initialize>[0]);
    cleanup = init.cleanup;
    expect(events).toEqual(['loaded']);

    const revised = `${original}\n# revision 2\n`;
    await kubeletWrite(dir, '2', revised, '1');
    await until(() => events.length >= 2, 5000);
    expect(events).toEqual(['loaded', 'swapped']);
    expect(updates).toEqual([revised]);
    const state = manager.state();
    expect(state.phase === 'loaded' && state.swaps).toBe(1);

    await kubeletWrite(dir, '3', 'type Query { broken: }', '2');
    await until(() => events.length >= 3, 5000);
    expect(events).toEqual(['loaded', 'swapped', 'refused']);
    expect(updates).toEqual([revised]);
  });
});
