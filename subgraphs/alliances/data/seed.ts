/**
 * Seed of the alliances database: the 8 provinces and their ALI (fact ali-established) with the
 * seven tasks, and the 1,181 Comuni of the ISTAT registry with the derived membership that
 * reproduces facts member-comuni and small-member-comuni.
 */
import type { Db } from 'mongodb';
import { insertMissing, type SeedCount } from '../../../lib/mongo.ts';
import { PROVINCES as PROVINCE_REFS, piedmontMunicipalities } from '../../../lib/domain/registry.ts';
import { ALLIANCES, MUNICIPALITIES, PROVINCES, type AllianceDoc, type MunicipalityDoc, type ProvinceDoc } from './collections.ts';
import { nameKey } from './queries.ts';

/** The seven tasks of every ALI (source, "Gli obiettivi"). */
const ALLIANCE_TASKS: readonly string[] = [
  'Strategic vision of ICT use and eGovernment planning for the Comuni',
  'Skills growth: consulting, know-how transfer, collaboration with universities and technical bodies',
  'Simpler relations with ICT suppliers: pre-selection of offers, contract negotiation, price monitoring',
  'Front office of services for citizens and businesses, by reusing projects other Entities built in the first eGovernment phase',
  'Associated management of ICT functions and services, for economies of scale',
  'Data interchange, promoting administration-to-administration ("AtoA") services of the SistemaPiemonte multi-project',
  'eGovernment help desks (sportelli) where citizens and businesses of small Comuni find an intermediary for online procedures',
];

const MEMBERSHIP_NOTE =
  'The source gives only the totals (1,072 members, 1,004 small). Members are chosen by a fixed rule ' +
  '(ranking by SHA-256 of the ISTAT code) so that the published totals hold exactly.';

export function provinceDocs(): ProvinceDoc[] {
  return PROVINCE_REFS.map((p) => ({ _id: p.code, name: p.name, abbreviation: p.abbreviation, allianceId: p.allianceId }));
}

export function allianceDocs(): AllianceDoc[] {
  return PROVINCE_REFS.map((p) => ({
    _id: p.allianceId,
    name: `ALI ${p.name}`,
    provinceCode: p.code,
    tasks: ALLIANCE_TASKS.map((description, i) => ({ number: i + 1, description })),
    provenance: 'PUBLISHED',
  }));
}

export function municipalityDocs(): MunicipalityDoc[] {
  return piedmontMunicipalities().map((m) => ({
    _id: m.istatCode,
    name: m.name,
    nameKey: nameKey(m.name),
    provinceCode: m.provinceCode,
    population: m.population,
    small: m.small,
    cadastralCode: m.cadastralCode,
    postcodes: [...m.postcodes],
    allianceId: m.allianceId,
    provenance: 'PUBLISHED',
    membershipProvenance: m.allianceId ? 'DERIVED' : null,
    membershipNote: m.allianceId ? MEMBERSHIP_NOTE : null,
  }));
}

export async function seed(db: Db): Promise<SeedCount[]> {
  return [
    await insertMissing(db, PROVINCES, provinceDocs()),
    await insertMissing(db, ALLIANCES, allianceDocs()),
    await insertMissing(db, MUNICIPALITIES, municipalityDocs()),
  ];
}
