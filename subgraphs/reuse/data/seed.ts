/**
 * Seed of the reuse database: the three reuse solutions the source names (fact reuse-solutions, PUBLISHED) and
 * SAMPLE adoptions of them by ALI member Comuni (the source lists no adoptions).
 */
import { createHash } from 'node:crypto';
import type { Db } from 'mongodb';
import { insertMissing, type SeedCount } from '../../../lib/mongo.ts';
import { piedmontMunicipalities } from '../../../lib/domain/registry.ts';
import type { AdoptionStatus } from '../__generated__/types.ts';
import { ADOPTIONS, REUSE_SOLUTIONS, type AdoptionDoc, type ReuseSolutionDoc } from './collections.ts';

const LEGAL_BASIS = "Reuse provisions of the Digital Administration Code (Codice dell'Amministrazione Digitale)";

/** The reuse catalogue as the source gives it (fact reuse-solutions); `builtById` only where the source names the builder. */
export const SOLUTIONS: readonly ReuseSolutionDoc[] = [
  {
    _id: 'atoc-comune-facile',
    name: 'ATOC Comune Facile',
    description: 'Online services for citizens, built by the City of Turin (Città di Torino) in the first eGovernment phase.',
    builtById: 'citta-di-torino',
    legalBasis: LEGAL_BASIS,
    provenance: 'PUBLISHED',
  },
  {
    _id: 'sigma-ter-piemonte',
    name: 'SIGMA TER Piemonte',
    description: 'Computerised management of cadastral data.',
    builtById: null,
    legalBasis: LEGAL_BASIS,
    provenance: 'PUBLISHED',
  },
  {
    _id: 'acquisti-on-line-piemonte',
    name: 'Acquisti On Line Piemonte',
    description: 'Online procurement; funded as a reuse project under the 4th Supplementary Act of the APQ.',
    builtById: null,
    legalBasis: LEGAL_BASIS,
    provenance: 'PUBLISHED',
  },
];

/**
 * SAMPLE adoption rule. For every ALI member Comune and solution, SHA-256 of
 * "adoption:<solution>:<ISTAT code>" decides: bytes 0–3 whether it adopts (share below),
 * byte 4 the status, bytes 5–6 the start date. Fixed, so every seed run yields the same records.
 */
const ADOPTION_SHARE: Readonly<Record<string, number>> = {
  'atoc-comune-facile': 0.15,
  'sigma-ter-piemonte': 0.09,
  'acquisti-on-line-piemonte': 0.06,
};

/** Status by byte 4 (0–255): about 15% PLANNED, 20% IN_PROGRESS, 55% ACTIVE, 10% DISCONTINUED. */
function statusOf(byte: number): AdoptionStatus {
  if (byte < 38) return 'PLANNED';
  if (byte < 90) return 'IN_PROGRESS';
  if (byte < 230) return 'ACTIVE';
  return 'DISCONTINUED';
}

// Sample start dates fall after the 4th Supplementary Act (signed 2009-12-22): 2010-01-01 … 2013-12-31.
const FIRST_START = Date.UTC(2010, 0, 1);
const START_DAYS = 4 * 365 + 1;

function startOf(hash: Buffer): string {
  const day = hash.readUInt16BE(5) % START_DAYS;
  return new Date(FIRST_START + day * 86_400_000).toISOString().slice(0, 10);
}

export function adoptionDocs(): AdoptionDoc[] {
  const out: AdoptionDoc[] = [];
  for (const m of piedmontMunicipalities()) {
    if (!m.allianceId) continue;
    for (const s of SOLUTIONS) {
      const hash = createHash('sha256').update(`adoption:${s._id}:${m.istatCode}`).digest();
      if (hash.readUInt32BE(0) / 2 ** 32 >= ADOPTION_SHARE[s._id]!) continue;
      const status = statusOf(hash[4]!);
      out.push({
        _id: `${s._id}:${m.istatCode}`,
        solutionId: s._id,
        istatCode: m.istatCode,
        provinceCode: m.istatCode.slice(0, 3),
        status,
        startedOn: status === 'PLANNED' ? null : startOf(hash),
        provenance: 'SAMPLE',
      });
    }
  }
  return out;
}

export async function seed(db: Db): Promise<SeedCount[]> {
  return [await insertMissing(db, REUSE_SOLUTIONS, SOLUTIONS), await insertMissing(db, ADOPTIONS, adoptionDocs())];
}
