/**
 * Where the gateway's supergraph comes from: a fixed SDL, or a file that is watched. A valid new
 * file is handed to Apollo Gateway, which swaps schema and query planner atomically (requests in
 * flight finish on the plan they started with); an invalid one is refused with a logged reason
 * and the previous supergraph keeps serving.
 */
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { SupergraphManager } from '@apollo/gateway';
import { Supergraph } from '@apollo/federation-internals';
import { parse, type DocumentNode } from 'graphql';
import type { Logger } from 'pino';
import { holdOneByteNames, type HeldNames } from '../lib/oneByteNames.ts';

export type SupergraphSource = { readonly sdl: string } | { readonly path: string; readonly watch: boolean };

export interface SubgraphEndpoint {
  readonly name: string;
  readonly url: string;
}

/** What the gateway serves now; a discriminated union rather than flags. */
export type SupergraphState =
  | { readonly phase: 'loading' }
  | { readonly phase: 'loaded'; readonly sdl: string; readonly subgraphs: readonly SubgraphEndpoint[]; readonly loadedAt: Date; readonly swaps: number }
  | { readonly phase: 'stopped' };

/**
 * Parses and validates a Federation 2 supergraph; throws with the reason if it is not one.
 * Returns its subgraphs as the `join__graph` definitions name them.
 */
export function inspectSupergraph(sdl: string): SubgraphEndpoint[] {
  const document = parse(sdl);
  holdNames(document);
  const supergraph = Supergraph.build(document, { validateSupergraph: true });
  return supergraph.subgraphsMetadata().map((s) => ({ name: s.name, url: s.url }));
}

/** One-byte copies of the names of the last two supergraphs validated (during a swap both are in use): lib/oneByteNames.ts. */
let heldNames: readonly HeldNames[] = [];

function holdNames(document: DocumentNode): void {
  heldNames = [heldNames.at(-1) ?? {}, holdOneByteNames(document)];
}

export interface SupergraphSourceManager extends SupergraphManager {
  readonly state: () => SupergraphState;
}

/**
 * A SupergraphManager for Apollo Gateway over `source`. `onChange` is told of every successful
 * swap and every refused file; `prepare` turns each valid supergraph into the SDL Apollo Gateway
 * gets (the gateway composes its node subgraph onto it: gateway/node/), while the state keeps the
 * supergraph as given.
 */
export function supergraphManager(
  source: SupergraphSource,
  log: Logger,
  onChange?: (event: { kind: 'loaded' | 'swapped'; subgraphs: SubgraphEndpoint[] } | { kind: 'refused'; reason: string }) => void,
  prepare: (sdl: string) => string = (sdl) => sdl,
): SupergraphSourceManager {
  let state: SupergraphState = { phase: 'loading' };
  let watcher: FSWatcher | undefined;
  let timer: NodeJS.Timeout | undefined;

  const read = async () => ('sdl' in source ? source.sdl : readFile(source.path, 'utf8'));

  return {
    state: () => state,
    async initialize({ update }: Parameters<SupergraphManager['initialize']>[0]) {
      const sdl = await read();
      const subgraphs = inspectSupergraph(sdl);
      state = { phase: 'loaded', sdl, subgraphs, loadedAt: new Date(), swaps: 0 };
      onChange?.({ kind: 'loaded', subgraphs });
      if ('path' in source && source.watch) {
        const reload = async () => {
          if (state.phase !== 'loaded') return;
          let next: string;
          try {
            next = await read();
          } catch (err) {
            const reason = `cannot read ${source.path}: ${(err as Error).message}`;
            log.error({ reason }, 'supergraph refused; the previous one keeps serving');
            onChange?.({ kind: 'refused', reason });
            return;
          }
          if (state.phase !== 'loaded' || next === state.sdl) return;
          try {
            const nextSubgraphs = inspectSupergraph(next);
            update(prepare(next));
            state = { phase: 'loaded', sdl: next, subgraphs: nextSubgraphs, loadedAt: new Date(), swaps: state.swaps + 1 };
            log.info({ subgraphs: nextSubgraphs.map((s) => s.name), swaps: state.swaps }, 'supergraph swapped');
            onChange?.({ kind: 'swapped', subgraphs: nextSubgraphs });
          } catch (err) {
            const reason = (err as Error).message.split('\n').slice(0, 5).join(' ');
            log.error({ reason }, 'supergraph refused; the previous one keeps serving');
            onChange?.({ kind: 'refused', reason });
          }
        };
        // Editors and `mv` produce bursts of events and replace the file (a new inode): watch the
        // folder for the file's name, and debounce. A Kubernetes ConfigMap volume never touches
        // the file's name (a symlink into `..data`): the kubelet renames a new `..data` into place.
        const file = path.basename(source.path);
        watcher = watch(path.dirname(path.resolve(source.path)), { persistent: false }, (_event, name) => {
          if (name !== null && name !== file && name !== '..data') return;
          clearTimeout(timer);
          timer = setTimeout(() => void reload(), 100);
        });
        watcher.on('error', (err) => log.error({ err }, 'supergraph watcher failed'));
      }
      return {
        supergraphSdl: prepare(sdl),
        cleanup: async () => {
          clearTimeout(timer);
          watcher?.close();
          state = { phase: 'stopped' };
        },
      };
    },
  };
}
