/** GET /health: liveness: whether a supergraph is loaded (which subgraphs, since when, how many swaps); touches no subgraph. */
import type { SupergraphSourceManager } from '../supergraph.ts';
import type { Handler } from '../http/handler.ts';
import { json } from '../http/responses.ts';

export function healthRoute(deps: { readonly supergraph: SupergraphSourceManager }): Handler {
  return (_req, res) => {
    const s = deps.supergraph.state();
    return s.phase === 'loaded'
      ? json(res, 200, { status: 'ok', subgraphs: s.subgraphs.map((g) => g.name), loadedAt: s.loadedAt, swaps: s.swaps })
      : json(res, 503, { status: s.phase });
  };
}
