/**
 * The reuse subgraph's per-request DataLoaders and resolver context. `createLoaders` is called by
 * the context factory for every request, never at module scope.
 */
import DataLoader from 'dataloader';
import type { Db } from 'mongodb';
import { entityLoader, groupLoader } from '../../../lib/loaders.ts';
import type { SubgraphContext } from '../../../lib/subgraph.ts';
import type { Connection, PageLimits } from '../../../lib/pagination.ts';
import { ADOPTIONS, REUSE_SOLUTIONS, type AdoptionDoc, type ReuseSolutionDoc } from './collections.ts';
import { adoptionPagesBySolution, type SolutionPageKey } from './queries.ts';

export function createLoaders(db: Db, limits: PageLimits) {
  return {
    solution: entityLoader<ReuseSolutionDoc>(db.collection(REUSE_SOLUTIONS)),
    adoption: entityLoader<AdoptionDoc>(db.collection(ADOPTIONS)),
    /**
     * Adoptions of many Comuni, keyed by ISTAT code: one `find({istatCode: {$in}})` for a whole
     * `_entities` fetch of Municipality representations, in the list ordering (Comune, then id).
     */
    adoptionsByMunicipality: groupLoader<AdoptionDoc>(db.collection(ADOPTIONS), 'istatCode', { sort: { istatCode: 1, _id: 1 } }),
    /** Pages of adoptions of many solutions in one find per argument set (totals: one aggregation). */
    adoptionPages: new DataLoader<SolutionPageKey, Connection<AdoptionDoc>, string>((keys) => adoptionPagesBySolution(db, limits, keys), {
      cacheKeyFn: (k) => JSON.stringify(k),
    }),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
export type Context = SubgraphContext<Loaders>;
