/**
 * Global Object Identification (`Node`, `Query.node(id:)`, `Query.nodes(ids:)`, `nodeId` on every
 * entity) for whatever supergraph the gateway serves: {@link GlobalObjects.prepare} composes the
 * node subgraph onto each supergraph before Apollo Gateway sees it (./augment.ts), and
 * {@link GlobalObjects.dataSource} is the data source `buildService` returns for it
 * (./dataSource.ts), over the data sources of the real subgraphs it tracks.
 */
import type { GraphQLDataSource } from '@apollo/gateway';
import type { Logger } from 'pino';
import type { GatewayContext } from '../context.ts';
import { augmentSupergraph, NODE_GRAPH, type Augmentation } from './augment.ts';
import { NodeDataSource, type NodeSourceDeps } from './dataSource.ts';

export { NODE_GRAPH, augmentSupergraph } from './augment.ts';
export { decodeGlobalId, encodeGlobalId } from './globalId.ts';

export interface GlobalObjects {
  /** The SDL to hand Apollo Gateway for a supergraph: augmented, or as it is (with the reason logged). */
  prepare(sdl: string): string;
  /** Records the data source of a real subgraph, which node lookups go through. */
  track<T extends GraphQLDataSource<GatewayContext>>(name: string, source: T): T;
  /** The node subgraph's data source for the supergraph prepared last. */
  dataSource(): GraphQLDataSource<GatewayContext>;
}

export function createGlobalObjects(opts: { readonly log: Logger; readonly view: NodeSourceDeps['view'] }): GlobalObjects {
  let current: Augmentation | undefined;
  const sources = new Map<string, GraphQLDataSource<GatewayContext>>();
  return {
    prepare(sdl) {
      try {
        current = augmentSupergraph(sdl);
      } catch (err) {
        current = { kind: 'unchanged', reason: `failed: ${(err as Error).message}` };
      }
      if (current.kind === 'unchanged') {
        opts.log.warn({ reason: current.reason }, 'global object identification (Query.node) is off for this supergraph');
        return sdl;
      }
      opts.log.info({ types: current.nodeTypes.size }, 'global object identification on: node subgraph composed');
      return current.sdl;
    },
    track(name, source) {
      sources.set(name, source);
      return source;
    },
    dataSource() {
      if (current?.kind !== 'augmented') throw new Error(`${NODE_GRAPH} is in no supergraph this gateway prepared`);
      return new NodeDataSource({ nodeSdl: current.nodeSdl, nodeTypes: current.nodeTypes, source: (name) => sources.get(name), view: opts.view });
    },
  };
}
