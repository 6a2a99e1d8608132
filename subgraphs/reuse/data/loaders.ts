/**
 * The reuse subgraph's per-request DataLoaders. `createLoaders` is called for every request by
 * `createData` (context.ts), never at module scope.
 */
import type { Db } from 'mongodb';
import { entityLoader, groupLoader, parentPageLoader } from '../../../lib/loaders.ts';
import type { PageLimits } from '../../../lib/pagination.ts';
import { ADOPTIONS, REUSE_SOLUTIONS, type AdoptionDoc, type ReuseSolutionDoc } from './collections.ts';
import { adoptionFilter, BY_COMUNE, type AdoptionListArgs } from './queries.ts';

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
    adoptionPages: parentPageLoader<AdoptionDoc, AdoptionListArgs>(db.collection(ADOPTIONS), 'solutionId', limits, (args) => ({
      filter: adoptionFilter(args.filter),
      order: BY_COMUNE,
    })),
  };
}
