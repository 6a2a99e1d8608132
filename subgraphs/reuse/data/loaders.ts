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
import { adoptionPagesBySolution, countAdoptionsBySolution, type SolutionCountKey, type SolutionPageKey } from './queries.ts';

export function createLoaders(db: Db, limits: PageLimits) {
  const adoptionCounts = new DataLoader<SolutionCountKey, number, string>((keys) => countAdoptionsBySolution(db, keys), {
    cacheKeyFn: (k) => JSON.stringify(k),
  });
  return {
    solution: entityLoader<ReuseSolutionDoc>(db.collection(REUSE_SOLUTIONS)),
    adoption: entityLoader<AdoptionDoc>(db.collection(ADOPTIONS)),
    /**
     * Adoptions of many Comuni, keyed by ISTAT code: one `find({istatCode: {$in}})` for a whole
     * `_entities` fetch of Municipality representations, in the list ordering (Comune, then id).
     */
    adoptionsByMunicipality: groupLoader<AdoptionDoc>(db.collection(ADOPTIONS), 'istatCode', { istatCode: 1, _id: 1 }),
    /** Pages of adoptions of many solutions in one find per argument set. */
    adoptionPages: new DataLoader<SolutionPageKey, Connection<AdoptionDoc>, string>(
      (keys) => adoptionPagesBySolution(db, limits, keys, (k) => adoptionCounts.load(k)),
      { cacheKeyFn: (k) => JSON.stringify(k) },
    ),
    /** Adoption totals of many solutions in one aggregation per filter. */
    adoptionCounts,
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
export type Context = SubgraphContext<Loaders>;
