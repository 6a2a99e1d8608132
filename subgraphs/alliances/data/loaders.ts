/**
 * The alliances subgraph's per-request DataLoaders and resolver context. `createLoaders` is
 * called by the context factory for every request, never at module scope.
 */
import DataLoader from 'dataloader';
import type { Db } from 'mongodb';
import { entityLoader } from '../../../lib/loaders.ts';
import type { SubgraphContext } from '../../../lib/subgraph.ts';
import type { Connection, PageLimits } from '../../../lib/pagination.ts';
import { ALLIANCES, MUNICIPALITIES, PROVINCES, type AllianceDoc, type MunicipalityDoc, type ProvinceDoc } from './collections.ts';
import { countMembers, pagesByParent, type MemberCounts, type ParentPageKey } from './queries.ts';

export function createLoaders(db: Db, limits: PageLimits) {
  return {
    province: entityLoader<ProvinceDoc>(db.collection(PROVINCES)),
    alliance: entityLoader<AllianceDoc>(db.collection(ALLIANCES)),
    municipality: entityLoader<MunicipalityDoc>(db.collection(MUNICIPALITIES)),
    /** Member totals of many alliances in one aggregation. */
    memberCounts: new DataLoader<string, MemberCounts>((ids) => countMembers(db, ids)),
    /** Pages of municipalities of many parents (alliances or provinces) in one find per argument set. */
    municipalityPages: new DataLoader<ParentPageKey, Connection<MunicipalityDoc>, string>(
      (keys) => pagesByParent(db, limits, keys),
      { cacheKeyFn: (k) => JSON.stringify(k) },
    ),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
export type Context = SubgraphContext<Loaders>;
