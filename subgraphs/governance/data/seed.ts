/**
 * Seed of the governance database. PUBLISHED: the seven institutions the source names and the two
 * governance committees with their mandates (fact governance-committees). SAMPLE (the source names none): committee
 * members, meetings and RUPAR facilitators (fact rupar-facilitators), each labelled as sample in its text.
 */
import type { Db } from 'mongodb';
import { insertMissing, type SeedCount } from '../../../lib/mongo.ts';
import { PROVINCES, piedmontMunicipalities } from '../../../lib/domain/registry.ts';
import {
  COMMITTEE_MEMBERS,
  COMMITTEES,
  FACILITATORS,
  INSTITUTIONS,
  MEETINGS,
  type CommitteeDoc,
  type CommitteeMemberDoc,
  type FacilitatorDoc,
  type InstitutionDoc,
  type MeetingDoc,
} from './collections.ts';

export const STEERING_COMMITTEE_ID = 'steering-committee';
export const GUIDANCE_COMMITTEE_ID = 'regional-guidance-committee';

type InstitutionSeed = Omit<InstitutionDoc, 'position' | 'provenance'>;

/** The institutions, in the order the source names them (domain brief, "Institutions named in the source"). */
const INSTITUTION_SEEDS: readonly InstitutionSeed[] = [
  {
    _id: 'regione-piemonte',
    name: 'Piedmont Region',
    italianName: 'Regione Piemonte',
    acronym: null,
    kind: 'REGION',
    role:
      'Promotes the ALI network. Allocated the CIPE resolution no. 19/2004 funds (€3,890,700.00) to setting up the CST/ALI ' +
      'and signed the Supplementary Acts of the Framework Programme Agreement (APQ): the 1st (2005-06-27, with MIT and MEF) ' +
      'and the 4th (2009-12-22, with MiSE and CNIPA). In October 2007 it sent 8 ALI projects to the CNIPA call for co-financing.',
  },
  {
    _id: 'mit',
    name: 'Ministry for Innovation and Technologies',
    italianName: "Ministero per l'Innovazione e le Tecnologie",
    acronym: 'MIT',
    kind: 'MINISTRY',
    role: 'Signed with Regione Piemonte and MEF the 1st Supplementary Act of the Framework Programme Agreement (APQ) on 2005-06-27.',
  },
  {
    _id: 'mef',
    name: 'Ministry of Economy and Finance',
    italianName: "Ministero dell'Economia e delle Finanze",
    acronym: 'MEF',
    kind: 'MINISTRY',
    role: 'Signed with Regione Piemonte and MIT the 1st Supplementary Act of the Framework Programme Agreement (APQ) on 2005-06-27.',
  },
  {
    _id: 'mise',
    name: 'Ministry of Economic Development',
    italianName: 'Ministero per lo Sviluppo Economico',
    acronym: 'MiSE',
    kind: 'MINISTRY',
    role:
      'Signed with Regione Piemonte and CNIPA the 4th Supplementary Act of the Framework Programme Agreement (APQ) ' +
      'on eGovernment and the Information Society on 2009-12-22.',
  },
  {
    _id: 'cnipa',
    name: 'National Centre for Information Technology in Public Administration',
    italianName: "Centro Nazionale per l'Informatica nella Pubblica Amministrazione",
    acronym: 'CNIPA',
    kind: 'NATIONAL_AGENCY',
    role:
      'Made 2003 Finance Act funds available through a prequalification call for CSTs and a later call for services built ' +
      'by the ALI for small Comuni; issued the 2007 calls for co-financing ALI projects and for reuse projects; co-finances ' +
      'the projects of the 4th Supplementary Act of the APQ, which it signed on 2009-12-22 with Regione Piemonte and MiSE.',
  },
  {
    _id: 'cipe',
    name: 'Interministerial Committee for Economic Planning',
    italianName: 'Comitato Interministeriale per la Programmazione Economica',
    acronym: 'CIPE',
    kind: 'INTERMINISTERIAL_COMMITTEE',
    role: 'Its resolution no. 19/2004 provided the funds (€3,890,700.00) that Regione Piemonte allocated to setting up the CST/ALI.',
  },
  {
    _id: 'citta-di-torino',
    name: 'City of Turin',
    italianName: 'Città di Torino',
    acronym: null,
    kind: 'MUNICIPALITY',
    role: 'Built ATOC Comune Facile (online services for citizens) in the first eGovernment phase; a reuse solution promoted through the ALI.',
  },
];

export function institutionDocs(): InstitutionDoc[] {
  return INSTITUTION_SEEDS.map((s, i) => ({ ...s, position: i + 1, provenance: 'PUBLISHED' }));
}

/** The two committees of fact governance-committees, with the mandate the source gives each. */
export function committeeDocs(): CommitteeDoc[] {
  return [
    {
      _id: STEERING_COMMITTEE_ID,
      kind: 'STEERING',
      name: 'Steering Committee',
      italianName: 'Comitato di Pilotaggio',
      mandate: 'Made up of representatives of the small Comuni; states the needs of the Entities.',
      position: 1,
      provenance: 'PUBLISHED',
    },
    {
      _id: GUIDANCE_COMMITTEE_ID,
      kind: 'REGIONAL_GUIDANCE',
      name: 'Regional Guidance Committee',
      italianName: 'Comitato Guida Regionale',
      mandate: 'Keeps the initiatives undertaken consistent with regional planning.',
      position: 2,
      provenance: 'PUBLISHED',
    },
  ];
}

/**
 * SAMPLE seats. Steering Committee: one small member Comune per ALI, the first in ISTAT-code
 * order. Regional Guidance Committee: Regione Piemonte as chair.
 */
export function committeeMemberDocs(): CommitteeMemberDoc[] {
  const municipalities = piedmontMunicipalities();
  const steering = PROVINCES.map((p): CommitteeMemberDoc => {
    const m = municipalities.find((c) => c.small && c.allianceId === p.allianceId);
    if (!m) throw new Error(`no small member Comune in ${p.allianceId}`);
    return {
      _id: `${STEERING_COMMITTEE_ID}:${m.istatCode}`,
      committeeId: STEERING_COMMITTEE_ID,
      memberType: 'Municipality',
      memberId: m.istatCode,
      role: `Representative of the small Comuni of ALI ${p.name}`,
      provenance: 'SAMPLE',
    };
  });
  return [
    ...steering,
    {
      _id: `${GUIDANCE_COMMITTEE_ID}:regione-piemonte`,
      committeeId: GUIDANCE_COMMITTEE_ID,
      memberType: 'Institution',
      memberId: 'regione-piemonte',
      role: 'Chair (sample)',
      provenance: 'SAMPLE',
    },
  ];
}

function meeting(committeeId: string, date: string, topic: string, decisions: readonly string[]): MeetingDoc {
  return {
    _id: `${committeeId}:${date}`,
    committeeId,
    date,
    title: `Sample meeting: ${topic}`,
    decisions: decisions.map((summary, i) => ({ number: i + 1, summary: `Sample decision: ${summary}` })),
    provenance: 'SAMPLE',
  };
}

/** SAMPLE meetings: the source records none. */
export function meetingDocs(): MeetingDoc[] {
  return [
    meeting(STEERING_COMMITTEE_ID, '2008-03-12', 'needs of the small Comuni for online services', [
      'each ALI collects the online services its small Comuni need most',
      'the collected needs are presented at the next meeting',
    ]),
    meeting(STEERING_COMMITTEE_ID, '2009-02-18', 'eGovernment help desks', [
      'each ALI proposes where to open its eGovernment help desk',
    ]),
    meeting(STEERING_COMMITTEE_ID, '2010-01-27', 'projects of the 4th Supplementary Act', [
      'each ALI names a contact person for its project',
      'progress is reviewed at every meeting',
    ]),
    meeting(GUIDANCE_COMMITTEE_ID, '2008-04-09', 'consistency of the ALI initiatives with regional planning', [
      'the ALI work plans are reviewed against regional planning once a year',
    ]),
    meeting(GUIDANCE_COMMITTEE_ID, '2010-02-10', 'reuse solutions promoted through the ALI', [
      'the reuse of ATOC Comune Facile and SIGMA TER Piemonte is followed in the work plans',
    ]),
  ];
}

/**
 * SAMPLE RUPAR facilitators: one per ALI, and one more serving two small provinces (Biella and
 * Vercelli) to show that a facilitator may serve several ALI.
 */
export function facilitatorDocs(): FacilitatorDoc[] {
  return [
    ...PROVINCES.map((p): FacilitatorDoc => ({
      _id: `facilitator-${p.abbreviation.toLowerCase()}`,
      name: `RUPAR facilitator ${p.abbreviation} (sample)`,
      allianceIds: [p.allianceId],
      provenance: 'SAMPLE',
    })),
    { _id: 'facilitator-bi-vc', name: 'RUPAR facilitator BI-VC (sample)', allianceIds: ['ali-bi', 'ali-vc'], provenance: 'SAMPLE' },
  ];
}

export async function seed(db: Db): Promise<SeedCount[]> {
  return [
    await insertMissing(db, INSTITUTIONS, institutionDocs()),
    await insertMissing(db, COMMITTEES, committeeDocs()),
    await insertMissing(db, COMMITTEE_MEMBERS, committeeMemberDocs()),
    await insertMissing(db, MEETINGS, meetingDocs()),
    await insertMissing(db, FACILITATORS, facilitatorDocs()),
  ];
}
