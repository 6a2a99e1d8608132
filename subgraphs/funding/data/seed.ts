/**
 * Seed of the funding database: the published funding facts (cipe-allocation to sigma-ter-project
 * in docs/data.md), and the split of the 8 ALI projects' published totals (fact
 * ali-projects-funded) into estimated parts proportional to each ALI's member count, in whole
 * cents summing exactly to the totals.
 */
import type { Db } from 'mongodb';
import { allocate, euros, type Cents } from '../../../lib/money.ts';
import { insertMissing, type SeedCount } from '../../../lib/mongo.ts';
import { PROVINCES, memberCounts } from '../../../lib/domain/registry.ts';
import {
  AGREEMENTS,
  CALLS,
  FUNDED_PROJECTS,
  FUNDING_SOURCES,
  type AgreementDoc,
  type CallDoc,
  type FundedProjectDoc,
  type FundingSourceDoc,
} from './collections.ts';

/** Fact ali-projects-funded: the 8 ALI projects of the 4th Supplementary Act. */
export const ALI_PROJECTS_TOTAL: Cents = euros(3_851_846);
export const ALI_PROJECTS_COFINANCING: Cents = euros(3_219_879);
const ALI_SPLIT_GROUP = 'apq-act-4-ali-projects';

const ALI_SPLIT_NOTE =
  'Estimate: the source gives only the total of the 8 ALI projects (€3,851,846, CNIPA co-financing €3,219,879) ' +
  'and says project values reflect the number of member Comuni; each part is the total split in proportion to ' +
  "the ALI's member count, in whole cents (largest remainder), so the parts sum exactly to the published totals.";

export const fundingSources: FundingSourceDoc[] = [
  {
    _id: 'cipe-19-2004',
    name: 'CIPE resolution no. 19/2004 funds',
    italianName: 'Fondi ex delibera CIPE n. 19/2004',
    legalBasis: 'CIPE resolution no. 19/2004',
    amount: euros(3_890_700),
    providedBy: 'regione-piemonte',
    purpose: 'Allocated by Regione Piemonte to set up the CST/ALI',
    channelAgreementId: 'apq-act-1',
    callIds: [],
    provenance: 'PUBLISHED',
  },
  {
    _id: 'finanziaria-2003',
    name: '2003 Finance Act funds',
    italianName: 'Fondi ex finanziaria 2003',
    legalBasis: '2003 Finance Act (finanziaria 2003)',
    amount: null,
    providedBy: 'cnipa',
    purpose:
      'Made available by CNIPA through a prequalification call for CSTs and a later call for services built by the ALI for small Comuni; amount not defined in the source',
    channelAgreementId: null,
    callIds: ['cnipa-cst-prequalification', 'cnipa-2007-ali-cofinancing'],
    provenance: 'PUBLISHED',
  },
];

const APQ_TITLE = 'Framework Programme Agreement on eGovernment and the Information Society in Regione Piemonte';

export const agreements: AgreementDoc[] = [
  {
    _id: 'apq-egov-piemonte',
    kind: 'FRAMEWORK_AGREEMENT',
    title: APQ_TITLE,
    italianTitle: "Accordo di Programma Quadro in materia di E-government e Società dell'Informazione nella Regione Piemonte",
    ordinal: null,
    signedOn: null,
    signatoryIds: [],
    approvedBy: null,
    frameworkId: null,
    statedTotalLabel: null,
    statedTotalLowerBound: null,
    respondsToCallIds: [],
    provenance: 'PUBLISHED',
  },
  {
    _id: 'apq-act-1',
    kind: 'SUPPLEMENTARY_ACT',
    title: `1st Supplementary Act of the ${APQ_TITLE}`,
    italianTitle: "I Atto Integrativo dell'Accordo di Programma Quadro",
    ordinal: 1,
    signedOn: '2005-06-27',
    signatoryIds: ['regione-piemonte', 'mit', 'mef'],
    approvedBy: null,
    frameworkId: 'apq-egov-piemonte',
    statedTotalLabel: null,
    statedTotalLowerBound: null,
    respondsToCallIds: [],
    provenance: 'PUBLISHED',
  },
  {
    _id: 'apq-act-4',
    kind: 'SUPPLEMENTARY_ACT',
    title: `4th Supplementary Act of the ${APQ_TITLE}`,
    italianTitle: "IV Atto Integrativo dell'APQ in materia di E-government e Società dell'Informazione",
    ordinal: 4,
    signedOn: '2009-12-22',
    signatoryIds: ['regione-piemonte', 'mise', 'cnipa'],
    approvedBy: { reference: 'D.G.R. n. 46-12881', date: '2009-12-21', issuedBy: 'regione-piemonte' },
    frameworkId: 'apq-egov-piemonte',
    statedTotalLabel: 'over €8 million',
    statedTotalLowerBound: euros(8_000_000),
    respondsToCallIds: ['cnipa-2007-ali-cofinancing', 'cnipa-2007-reuse'],
    provenance: 'PUBLISHED',
  },
];

export const calls: CallDoc[] = [
  {
    _id: 'cnipa-cst-prequalification',
    kind: 'PREQUALIFICATION',
    title: 'CNIPA prequalification call for the CSTs',
    italianTitle: 'Bando di prequalifica dei CST sul territorio',
    issuedBy: 'cnipa',
    year: null,
    fundingSourceId: 'finanziaria-2003',
    submissions: [],
    publishedTotals: null,
    provenance: 'PUBLISHED',
    provenanceNote: null,
  },
  {
    _id: 'cnipa-2007-ali-cofinancing',
    kind: 'ALI_PROJECT_COFINANCING',
    title: 'CNIPA call for the co-financing of projects proposed by the ALI',
    italianTitle: "Avviso per il cofinanziamento di progetti proposti dalle Alleanze Locali per l'Innovazione (ALI)",
    issuedBy: 'cnipa',
    year: 2007,
    fundingSourceId: 'finanziaria-2003',
    submissions: [
      {
        submittedBy: 'regione-piemonte',
        month: '2007-10',
        projectCount: 8,
        statedTotalLabel: 'over €6 million',
        totalValueLowerBound: euros(6_000_000),
        provenance: 'PUBLISHED',
      },
    ],
    publishedTotals: {
      projectCount: 8,
      totalValue: ALI_PROJECTS_TOTAL,
      cofinancing: ALI_PROJECTS_COFINANCING,
      provenance: 'PUBLISHED',
    },
    provenance: 'PUBLISHED',
    provenanceNote:
      'Linked to the 2003 Finance Act funds (DERIVED): the source says those funds were made available through ' +
      '"a later call for services built by the ALI", which this call is taken to be.',
  },
  {
    _id: 'cnipa-2007-reuse',
    kind: 'REUSE_PROJECTS',
    title: 'CNIPA call for the realisation of reuse projects',
    italianTitle: 'Avviso per la realizzazione dei progetti di riuso',
    issuedBy: 'cnipa',
    year: 2007,
    fundingSourceId: null,
    submissions: [],
    publishedTotals: null,
    provenance: 'PUBLISHED',
    provenanceNote: null,
  },
];

function titleKey(title: string): string {
  return title.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}

/** The 8 ALI projects with estimated amounts, in ISTAT province order. */
export function aliProjects(): FundedProjectDoc[] {
  const counts = memberCounts();
  const weights = PROVINCES.map((p) => BigInt(counts.get(p.allianceId) ?? 0));
  const totals = allocate(ALI_PROJECTS_TOTAL, weights);
  const cofinancing = allocate(ALI_PROJECTS_COFINANCING, weights);
  return PROVINCES.map((p, i) => {
    const title = `ALI ${p.name} project (4th Supplementary Act)`;
    return {
      _id: `apq-act-4-${p.allianceId}`,
      title,
      titleKey: titleKey(title),
      agreementId: 'apq-act-4',
      callId: 'cnipa-2007-ali-cofinancing',
      beneficiaryType: 'Alliance',
      allianceId: p.allianceId,
      reuseSolutionId: null,
      totalValue: totals[i]!,
      cofinancing: cofinancing[i]!,
      cofinancedBy: 'cnipa',
      statedRateLabel: null,
      provenance: 'ESTIMATED',
      provenanceNote: ALI_SPLIT_NOTE,
      estimateGroup: { id: ALI_SPLIT_GROUP, size: PROVINCES.length },
    };
  });
}

function reuseProject(solutionId: string, name: string, total: number, cofinancing: number): FundedProjectDoc {
  const title = `${name} reuse project (4th Supplementary Act)`;
  return {
    _id: `apq-act-4-${solutionId}`,
    title,
    titleKey: titleKey(title),
    agreementId: 'apq-act-4',
    callId: 'cnipa-2007-reuse',
    beneficiaryType: 'ReuseSolution',
    allianceId: null,
    reuseSolutionId: solutionId,
    totalValue: euros(total),
    cofinancing: euros(cofinancing),
    cofinancedBy: 'cnipa',
    statedRateLabel: '40%',
    provenance: 'PUBLISHED',
    provenanceNote: null,
    estimateGroup: null,
  };
}

/** Facts acquisti-on-line-project and sigma-ter-project. */
export function reuseProjects(): FundedProjectDoc[] {
  return [
    reuseProject('acquisti-on-line-piemonte', 'Acquisti On Line Piemonte', 1_249_769, 499_908),
    reuseProject('sigma-ter-piemonte', 'Sigma Ter Piemonte', 3_248_935, 1_299_390),
  ];
}

export async function seed(db: Db): Promise<SeedCount[]> {
  return [
    await insertMissing(db, FUNDING_SOURCES, fundingSources),
    await insertMissing(db, AGREEMENTS, agreements),
    await insertMissing(db, CALLS, calls),
    await insertMissing(db, FUNDED_PROJECTS, [...aliProjects(), ...reuseProjects()]),
  ];
}
