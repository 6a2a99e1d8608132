/**
 * The alliances subgraph's per-request DataLoaders. `createLoaders` is called for every request by
 * `createData` (context.ts), never at module scope.
 */
import DataLoader from 'dataloader';
import type { Db } from 'mongodb';
import { entityLoader, parentPageLoader } from '../../../lib/loaders.ts';
import type { PageLimits } from '../../../lib/pagination.ts';
import { ALLIANCES, MUNICIPALITIES, PROVINCES, type AllianceDoc, type MunicipalityDoc, type ProvinceDoc } from './collections.ts';
import { countMembers, municipalityList, type ListArgs, type MemberCounts } from './queries.ts';

export function createLoaders(db: Db, limits: PageLimits) {
  const municipalities = db.collection<MunicipalityDoc>(MUNICIPALITIES);
  return {
    province: entityLoader<ProvinceDoc>(db.collection(PROVINCES)),
    alliance: entityLoader<AllianceDoc>(db.collection(ALLIANCES)),
    municipality: entityLoader<MunicipalityDoc>(municipalities),
    /** Member totals of many alliances in one aggregation. */
    memberCounts: new DataLoader<string, MemberCounts>((ids) => countMembers(db, ids)),
    /** Members of many alliances, and Comuni of many provinces: one find per argument set. */
    membersPages: parentPageLoader<MunicipalityDoc, ListArgs>(municipalities, 'allianceId', limits, municipalityList),
    provinceMunicipalityPages: parentPageLoader<MunicipalityDoc, ListArgs>(municipalities, 'provinceCode', limits, municipalityList),
  };
}
