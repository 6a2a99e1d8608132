/**
 * The dashboard's cards: for each, the GraphQL operation it sends, where its numbers come from,
 * and how the answer becomes a table, a CSV file and a chart, in the reader's language. Rows
 * keep the API's values (the CSV carries them as they are: exact decimal strings, enum codes);
 * the table formats them for the language, and only the bar lengths are drawn from numbers.
 */
import type { Cell } from './csv.ts';
import type { Format, Messages } from '../i18n/index.ts';
import fundingByAllianceQuery from './queries/fundingByAlliance.graphql';
import fundingBySourceQuery from './queries/fundingBySource.graphql';
import coverageQuery from './queries/coverage.graphql';
import adoptionQuery from './queries/adoption.graphql';

export type Provenance = 'PUBLISHED' | 'DERIVED' | 'ESTIMATED' | 'SAMPLE';

/** How a table shows a column's values; the CSV always carries them as the API gave them. */
export type ColumnKind = 'text' | 'euro' | 'percent' | 'count' | 'provenance' | 'status';

/** The first column shown is each row's header; the column's header comes from the catalogue. */
export interface Column {
  /** The API field (path) the column shows, which names its header in the catalogue. */
  readonly key: string;
  readonly kind: ColumnKind;
  /** In the CSV only: ids and long notes that would crowd the table (notes are listed above it). */
  readonly csvOnly?: boolean;
}

export type Row = Readonly<Record<string, Cell>>;

export interface Dataset {
  readonly label: string;
  /** Bar lengths. */
  readonly values: readonly number[];
  /** What the tooltip shows: the API's exact value, formatted. */
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
  /** The analytics report with the same columns: names what the `label` column holds. */
  readonly report?: string;
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

const COLORS = { blue: '#1f5fa8', orange: '#c25e00', green: '#2e7d32', grey: '#6b6b6b', purple: '#7b3fa0' } as const;

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

const pickColumns = (columns: readonly Column[], r: object): Row =>
  Object.fromEntries(columns.map((c) => [c.key, (r as Record<string, Cell>)[c.key] ?? null]));

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

function fundingModel(data: FundingData, withSourceAmount: boolean, t: Messages, f: Format): CardModel {
  const columns: Column[] = [
    { key: 'key', kind: 'text', csvOnly: true },
    { key: 'label', kind: 'text' },
    { key: 'projectCount', kind: 'count' },
    { key: 'totalValue', kind: 'euro' },
    { key: 'cofinancing', kind: 'euro' },
    { key: 'otherFunding', kind: 'euro' },
    { key: 'cofinancingPercent', kind: 'percent' },
    ...(withSourceAmount ? [{ key: 'sourceAmount', kind: 'euro' } as const] : []),
    { key: 'provenance', kind: 'provenance' },
    { key: 'provenanceNote', kind: 'text', csvOnly: true },
  ];
  const { rows, total } = data.fundingBreakdown;
  const d = t.dashboard.datasets;
  const datasets: Dataset[] = [
    { label: d.totalValue, values: rows.map((r) => Number(r.totalValue)), exact: rows.map((r) => f.euro(r.totalValue)), color: COLORS.blue },
    { label: d.cofinancing, values: rows.map((r) => Number(r.cofinancing)), exact: rows.map((r) => f.euro(r.cofinancing)), color: COLORS.orange },
  ];
  if (withSourceAmount && rows.some((r) => r.sourceAmount)) {
    datasets.push({
      label: d.sourceAmount,
      values: rows.map((r) => (r.sourceAmount ? Number(r.sourceAmount) : 0)),
      exact: rows.map((r) => (r.sourceAmount ? f.euro(r.sourceAmount) : t.dashboard.notPublished)),
      color: COLORS.green,
    });
  }
  const tableRows = rows.map((r) => pickColumns(columns, r));
  const totalRow = pickColumns(columns, total);
  return {
    columns,
    rows: tableRows,
    total: totalRow,
    chart: { labels: rows.map((r) => r.label), datasets, unit: 'EUR' },
    provenance: provenanceOf(tableRows, totalRow),
    notes: notesOf([...tableRows, totalRow]),
  };
}

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

function coverageModel(data: CoverageData, t: Messages, f: Format): CardModel {
  const columns: Column[] = [
    { key: 'label', kind: 'text' },
    { key: 'provinceCode', kind: 'text' },
    { key: 'smallMunicipalityCount', kind: 'count' },
    { key: 'smallMemberCount', kind: 'count' },
    { key: 'smallMemberShare', kind: 'percent' },
    { key: 'municipalityCount', kind: 'count' },
    { key: 'memberCount', kind: 'count' },
    { key: 'memberShare', kind: 'percent' },
    { key: 'population', kind: 'count' },
    { key: 'memberPopulation', kind: 'count' },
    { key: 'populationShare', kind: 'percent' },
    { key: 'provenance', kind: 'provenance' },
  ];
  const { rows, total } = data.membershipCoverage;
  const tableRows = rows.map((r) => pickColumns(columns, r));
  const totalRow = pickColumns(columns, total);
  const share = (value: string | null, part: number, whole: number) =>
    `${value === null ? '–' : f.percent(value)} (${t.dashboard.ofTotal(f.count(part), f.count(whole))})`;
  return {
    columns,
    rows: tableRows,
    total: totalRow,
    chart: {
      labels: rows.map((r) => r.label),
      datasets: [
        {
          label: t.dashboard.datasets.smallMemberShare,
          values: rows.map((r) => Number(r.smallMemberShare ?? 0)),
          exact: rows.map((r) => share(r.smallMemberShare, r.smallMemberCount, r.smallMunicipalityCount)),
          color: COLORS.green,
        },
        {
          label: t.dashboard.datasets.memberShare,
          values: rows.map((r) => Number(r.memberShare ?? 0)),
          exact: rows.map((r) => share(r.memberShare, r.memberCount, r.municipalityCount)),
          color: COLORS.grey,
        },
      ],
      unit: 'PERCENT',
    },
    provenance: provenanceOf(tableRows, totalRow),
    notes: [],
  };
}

// --- adoption ------------------------------------------------------------------------------

const STATUSES = ['ACTIVE', 'IN_PROGRESS', 'PLANNED', 'DISCONTINUED'] as const;
type Status = (typeof STATUSES)[number];
const STATUS_COLORS: Record<Status, string> = {
  ACTIVE: COLORS.green,
  IN_PROGRESS: COLORS.blue,
  PLANNED: COLORS.orange,
  DISCONTINUED: COLORS.grey,
};

interface AdoptionData {
  reuseSolutions: { id: string; name: string }[];
  adoptionStats: { solution: { id: string; name: string } | null; status: string | null; count: number; provenance: Provenance }[];
}

function adoptionModel(data: AdoptionData, t: Messages, f: Format): CardModel {
  const columns: Column[] = [
    { key: 'solution.id', kind: 'text', csvOnly: true },
    { key: 'solution.name', kind: 'text' },
    { key: 'status', kind: 'status' },
    { key: 'count', kind: 'count' },
    { key: 'provenance', kind: 'provenance' },
  ];
  const name = new Map(data.reuseSolutions.map((s) => [s.id, s.name]));
  const order = new Map(data.reuseSolutions.map((s, i) => [s.id, i]));
  const stats = [...data.adoptionStats].sort(
    (a, b) =>
      (order.get(a.solution?.id ?? '') ?? 99) - (order.get(b.solution?.id ?? '') ?? 99) ||
      STATUSES.indexOf(a.status as Status) - STATUSES.indexOf(b.status as Status),
  );
  const rows: Row[] = stats.map((s) => ({
    'solution.id': s.solution?.id ?? null,
    'solution.name': s.solution?.name ?? (s.solution ? name.get(s.solution.id) : null) ?? null,
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
    total: {
      'solution.id': 'total',
      'solution.name': t.dashboard.allSolutions,
      status: null,
      count: stats.reduce((n, s) => n + s.count, 0),
      provenance: null,
    },
    chart: {
      labels: data.reuseSolutions.map((s) => s.name),
      datasets: statuses.map((status) => {
        const values = data.reuseSolutions.map((s) => count(s.id, status));
        return { label: t.status[status], values, exact: values.map((v) => f.count(v)), color: STATUS_COLORS[status] };
      }),
      unit: 'COUNT',
      stacked: true,
    },
    provenance: provenanceOf(rows),
    notes: [],
  };
}

// --- the cards -----------------------------------------------------------------------------

/** The cards, in the reader's language. */
export function cards(t: Messages, f: Format): readonly CardSpec[] {
  const { cards: text, provenanceText } = t.dashboard;
  return [
    {
      id: 'funding-by-alliance',
      report: 'funding-by-alliance',
      ...text.fundingByAlliance,
      query: fundingByAllianceQuery,
      provenanceText: provenanceText.funding,
      csvFile: 'ali-funding-by-alliance.csv',
      model: (data) => fundingModel(data as FundingData, false, t, f),
    },
    {
      id: 'funding-by-source',
      report: 'funding-by-source',
      ...text.fundingBySource,
      query: fundingBySourceQuery,
      provenanceText: provenanceText.funding,
      csvFile: 'ali-funding-by-source.csv',
      model: (data) => fundingModel(data as FundingData, true, t, f),
    },
    {
      id: 'coverage',
      report: 'coverage-by-province',
      ...text.coverage,
      query: coverageQuery,
      provenanceText: provenanceText.coverage,
      csvFile: 'ali-coverage-by-province.csv',
      model: (data) => coverageModel(data as CoverageData, t, f),
    },
    {
      id: 'adoption',
      ...text.adoption,
      query: adoptionQuery,
      provenanceText: provenanceText.adoption,
      csvFile: 'ali-reuse-adoption.csv',
      model: (data) => adoptionModel(data as AdoptionData, t, f),
    },
  ];
}
