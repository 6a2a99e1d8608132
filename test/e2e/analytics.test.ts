/**
 * Analytics through the gateway: funding breakdowns, membership coverage and adoption statistics
 * reconcile with the published facts (member-comuni, small-member-comuni, fourth-act-totals) and
 * with the rest of the graph, every breakdown's rows sum to its total, each query costs a small
 * fixed number of MongoDB commands, and the CSV/JSON exports at /analytics/ carry the same figures.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandSummary, startStack, type Stack } from '../helpers/stack.ts';
import { parseCsv } from '../helpers/csv.ts';
import { adoptionDocs } from '../../subgraphs/reuse/data/seed.ts';

/**
 * The seed's sample adoptions: the adoption counts below are derived from them. Broken once to
 * prove it: with the reuse seed inserting all but the first adoption, the adoption tests fail.
 */
const SEEDED_ADOPTIONS = adoptionDocs();

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});


/** Runs `query`, fails on errors, and returns the data with the MongoDB commands it cost. */
async function measured<T = any>(query: string, variables?: Record<string, unknown>): Promise<{ data: T; commands: Record<string, number> }> {
  stack.resetCounters();
  const { status, body } = await stack.query<T>(query, variables);
  expect(body.errors).toBeUndefined();
  expect(status).toBe(200);
  return { data: body.data!, commands: commandSummary(stack.commands) };
}

const cents = (money: string) => BigInt(money.replace('.', ''));
const money = (c: bigint) => `${c / 100n}.${(c % 100n).toString().padStart(2, '0')}`;

interface FundingRow {
  key: string;
  label: string;
  projectCount: number;
  totalValue: string;
  cofinancing: string;
  otherFunding: string;
  cofinancingPercent: string | null;
  sourceAmount: string | null;
  provenance: string;
  provenanceNote: string | null;
}

const ROW = 'key label projectCount totalValue cofinancing otherFunding cofinancingPercent sourceAmount provenance provenanceNote';
const BREAKDOWN = `query ($by: FundingDimension!) { fundingBreakdown(by: $by) { dimension rows { ${ROW} } total { ${ROW} } } }`;

async function breakdown(by: string) {
  const { data, commands } = await measured<{ fundingBreakdown: { dimension: string; rows: FundingRow[]; total: FundingRow } }>(BREAKDOWN, { by });
  return { ...data.fundingBreakdown, commands };
}

const DIMENSIONS = ['ALLIANCE', 'PROVINCE', 'FUNDING_SOURCE', 'AGREEMENT', 'CALL'] as const;

describe('fundingBreakdown', () => {
  it('reconciles every dimension with fourth-act-totals, and its rows sum exactly to the total', async () => {
    for (const by of DIMENSIONS) {
      const b = await breakdown(by);
      expect(b.dimension).toBe(by);
      // All projects of the 4th Supplementary Act: €8,350,550 / €5,019,177 (fact fourth-act-totals).
      expect(b.total).toMatchObject({
        key: 'total',
        projectCount: 10,
        totalValue: '8350550.00',
        cofinancing: '5019177.00',
        otherFunding: '3331373.00',
        cofinancingPercent: '60.106',
        sourceAmount: null,
        // The 8 estimated parts are all in the total: their sum is the published fact ali-projects-funded.
        provenance: 'DERIVED',
      });
      expect(b.total.provenanceNote).toMatch(/all 8 parts/);
      const sum = (f: 'totalValue' | 'cofinancing' | 'otherFunding') => money(b.rows.reduce((s, r) => s + cents(r[f]), 0n));
      expect(sum('totalValue'), by).toBe(b.total.totalValue);
      expect(sum('cofinancing'), by).toBe(b.total.cofinancing);
      expect(sum('otherFunding'), by).toBe(b.total.otherFunding);
      expect(b.rows.reduce((s, r) => s + r.projectCount, 0), by).toBe(10);
      expect(new Set(b.rows.map((r) => r.key)).size).toBe(b.rows.length);
      for (const r of b.rows) {
        expect(cents(r.otherFunding)).toBe(cents(r.totalValue) - cents(r.cofinancing));
        if (r.projectCount === 0) expect(r).toMatchObject({ totalValue: '0.00', cofinancingPercent: null, provenance: 'DERIVED' });
      }
    }
  });

  it('by ALLIANCE: 8 ESTIMATED ALI rows that match their projects, and the reuse projects acquisti-on-line-project and sigma-ter-project exactly', async () => {
    const b = await breakdown('ALLIANCE');
    const ali = b.rows.filter((r) => r.key.startsWith('ali-'));
    expect(ali.map((r) => r.key)).toEqual(['ali-to', 'ali-vc', 'ali-no', 'ali-cn', 'ali-at', 'ali-al', 'ali-bi', 'ali-vb']);
    expect(ali.map((r) => r.label)).toContain('ALI Cuneo');
    for (const r of ali) {
      expect(r).toMatchObject({ projectCount: 1, provenance: 'ESTIMATED' });
      expect(r.provenanceNote).toMatch(/1 of the 8 estimated parts/);
    }
    expect(b.rows.find((r) => r.key === 'acquisti-on-line-piemonte')).toMatchObject({
      label: expect.stringContaining('Acquisti On Line Piemonte'),
      projectCount: 1,
      totalValue: '1249769.00',
      cofinancing: '499908.00',
      cofinancingPercent: '40.000',
      provenance: 'DERIVED',
    });
    expect(b.rows.find((r) => r.key === 'sigma-ter-piemonte')).toMatchObject({
      projectCount: 1,
      totalValue: '3248935.00',
      cofinancing: '1299390.00',
      cofinancingPercent: '39.994',
      provenance: 'DERIVED',
    });
    expect(b.rows).toHaveLength(10);
    // The same amounts the graph gives for each ALI's project.
    const { body } = await stack.query(`{ alliances { id fundedProjects { totalValue cofinancing } } }`);
    for (const a of body.data.alliances as { id: string; fundedProjects: { totalValue: string; cofinancing: string }[] }[]) {
      expect(b.rows.find((r) => r.key === a.id)).toMatchObject(a.fundedProjects[0]!);
    }
    expect(b.commands).toEqual({ 'funding.aggregate:funded_projects': 3 });
  });

  it('by PROVINCE: the ALI projects by their province (ESTIMATED), the reuse projects region-wide', async () => {
    const b = await breakdown('PROVINCE');
    expect(b.rows.map((r) => r.key)).toEqual(['001', '002', '003', '004', '005', '006', '096', '103', 'region']);
    expect(b.rows.slice(0, 8).every((r) => r.provenance === 'ESTIMATED' && r.projectCount === 1)).toBe(true);
    expect(b.rows.find((r) => r.key === '004')!.label).toBe('Cuneo');
    expect(b.rows.at(-1)).toMatchObject({
      key: 'region',
      projectCount: 2,
      totalValue: '4498704.00',
      cofinancing: '1799298.00',
      provenance: 'DERIVED',
    });
    const byAlliance = await breakdown('ALLIANCE');
    expect(b.rows.find((r) => r.key === '001')!.totalValue).toBe(byAlliance.rows.find((r) => r.key === 'ali-to')!.totalValue);
    expect(b.commands).toEqual({ 'funding.aggregate:funded_projects': 3 });
  });

  it('by FUNDING_SOURCE: through the call; the CIPE funds with their amount and no project, finanziaria-2003-funds unknown, the reuse call unattributed', async () => {
    const b = await breakdown('FUNDING_SOURCE');
    expect(b.rows.map((r) => r.key)).toEqual(['cipe-19-2004', 'finanziaria-2003', 'unattributed']);
    expect(b.rows[0]).toMatchObject({
      sourceAmount: '3890700.00', // cipe-allocation
      projectCount: 0,
      totalValue: '0.00',
      cofinancingPercent: null,
      provenance: 'DERIVED',
    });
    expect(b.rows[1]).toMatchObject({
      sourceAmount: null, // finanziaria-2003-funds: not defined, never 0
      projectCount: 8,
      totalValue: '3851846.00',
      cofinancing: '3219879.00',
      provenance: 'DERIVED',
    });
    expect(b.rows[2]).toMatchObject({ sourceAmount: null, projectCount: 2, totalValue: '4498704.00', cofinancing: '1799298.00' });
    expect(b.commands).toEqual({
      'funding.aggregate:funded_projects': 3,
      'funding.find:calls': 1,
      'funding.find:funding_sources': 1,
    });
  });

  it('by CALL and by AGREEMENT: the ALI call is ali-projects-funded exactly (DERIVED) and the 4th Act agrees with projectTotals', async () => {
    const calls = await breakdown('CALL');
    const { body } = await stack.query(`{
      call(id: "cnipa-2007-ali-cofinancing") { publishedTotals { totalValue cofinancing } }
      agreement(id: "apq-act-4") { projectTotals { projectCount totalValue cofinancing provenance } }
    }`);
    expect(calls.rows.find((r) => r.key === 'cnipa-2007-ali-cofinancing')).toMatchObject({
      projectCount: 8,
      totalValue: '3851846.00',
      cofinancing: '3219879.00',
      cofinancingPercent: '83.593',
      provenance: 'DERIVED',
      ...body.data.call.publishedTotals,
    });
    expect(calls.rows.find((r) => r.key === 'cnipa-cst-prequalification')).toMatchObject({ projectCount: 0, cofinancingPercent: null });
    expect(calls.commands).toEqual({ 'funding.aggregate:funded_projects': 3, 'funding.find:calls': 1 });

    const acts = await breakdown('AGREEMENT');
    expect(acts.rows.map((r) => r.key)).toEqual(['apq-egov-piemonte', 'apq-act-1', 'apq-act-4']);
    expect(acts.rows[2]).toMatchObject(body.data.agreement.projectTotals);
    expect(acts.commands).toEqual({ 'funding.aggregate:funded_projects': 3, 'funding.find:agreements': 1 });
  });

  it('computes rates at the requested precision and rejects an impossible one', async () => {
    const { data } = await measured(`{ fundingBreakdown(by: CALL) { total { cofinancingPercent(decimals: 6) } } }`);
    expect(data.fundingBreakdown.total.cofinancingPercent).toBe('60.105945');
    const bad = await stack.query(`{ fundingBreakdown(by: CALL) { total { cofinancingPercent(decimals: 9) } } }`);
    expect(bad.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});

describe('membershipCoverage', () => {
  const COLUMNS =
    'provinceCode label municipalityCount memberCount smallMunicipalityCount smallMemberCount population memberPopulation memberShare smallMemberShare populationShare provenance';

  it('reproduces member-comuni and small-member-comuni, sums its rows to the total, and agrees with the alliances', async () => {
    const { data, commands } = await measured(`{
      membershipCoverage { rows { ${COLUMNS} } total { ${COLUMNS} memberShare3: memberShare(decimals: 3) } }
    }`);
    const { rows, total } = data.membershipCoverage;
    expect(total).toMatchObject({
      provinceCode: 'all',
      municipalityCount: 1181,
      memberCount: 1072, // member-comuni
      smallMemberCount: 1004, // small-member-comuni
      memberShare: '90.8',
      memberShare3: '90.771',
      provenance: 'DERIVED',
    });
    expect(rows.map((r: { provinceCode: string }) => r.provinceCode)).toEqual(['001', '002', '003', '004', '005', '006', '096', '103']);
    for (const f of ['municipalityCount', 'memberCount', 'smallMunicipalityCount', 'smallMemberCount', 'population', 'memberPopulation']) {
      expect(rows.reduce((s: number, r: Record<string, number>) => s + r[f]!, 0), f).toBe(total[f]);
    }
    expect(commands).toEqual({ 'alliances.aggregate:municipalities': 2, 'alliances.find:provinces': 1 });

    const { body } = await stack.query(`{
      networkSummary { municipalityCount smallMunicipalityCount memberCount smallMemberCount }
      alliances { memberCount smallMemberCount province { code name municipalities(first: 1) { totalCount } } }
    }`);
    expect(total).toMatchObject(body.data.networkSummary);
    for (const a of body.data.alliances) {
      expect(rows.find((r: { provinceCode: string }) => r.provinceCode === a.province.code)).toMatchObject({
        label: a.province.name,
        memberCount: a.memberCount,
        smallMemberCount: a.smallMemberCount,
        municipalityCount: a.province.municipalities.totalCount,
      });
    }
  });
});

describe('adoptionStats', () => {
  it('counts the sample adoptions by any combination of dimensions, with one aggregation', async () => {
    const { body } = await stack.query(`{ adoptions(first: 1) { totalCount } }`);
    const adoptions = body.data.adoptions.totalCount as number;
    expect(adoptions).toBe(SEEDED_ADOPTIONS.length);
    const groupings = [[], ['SOLUTION'], ['PROVINCE'], ['STATUS'], ['SOLUTION', 'STATUS'], ['SOLUTION', 'PROVINCE', 'STATUS'], ['STATUS', 'STATUS']];
    for (const groupBy of groupings) {
      const { data, commands } = await measured(
        `query ($g: [AdoptionDimension!]!) { adoptionStats(groupBy: $g) { solution { id } provinceCode status count provenance } }`,
        { g: groupBy },
      );
      const rows = data.adoptionStats as { solution: { id: string } | null; provinceCode: string | null; status: string | null; count: number; provenance: string }[];
      expect(rows.reduce((s, r) => s + r.count, 0), groupBy.join()).toBe(adoptions);
      expect(rows.every((r) => r.provenance === 'SAMPLE')).toBe(true);
      expect(rows.every((r) => (r.solution !== null) === groupBy.includes('SOLUTION'))).toBe(true);
      expect(rows.every((r) => (r.provinceCode !== null) === groupBy.includes('PROVINCE'))).toBe(true);
      expect(rows.every((r) => (r.status !== null) === groupBy.includes('STATUS'))).toBe(true);
      const keys = rows.map((r) => JSON.stringify([r.solution?.id, r.provinceCode, r.status]));
      expect(new Set(keys).size).toBe(rows.length);
      // The solution's id needs no lookup beyond the batched solution loader.
      expect(commands).toEqual({
        'reuse.aggregate:adoptions': 1,
        ...(groupBy.includes('SOLUTION') ? { 'reuse.find:reuse_solutions': 1 } : {}),
      });
    }
  });

  it('agrees with the filtered adoption lists, and names solutions and provinces across subgraphs', async () => {
    const { data, commands } = await measured(`{
      bySolutionStatus: adoptionStats(groupBy: [SOLUTION, STATUS]) { solution { id name } status count }
      byProvince: adoptionStats(groupBy: [PROVINCE]) { provinceCode province { name } count }
      all: adoptionStats(groupBy: []) { count provenance }
    }`);
    expect(data.all).toEqual([{ count: SEEDED_ADOPTIONS.length, provenance: 'SAMPLE' }]);
    const cell = data.bySolutionStatus.find((r: { solution: { id: string }; status: string }) => r.solution.id === 'sigma-ter-piemonte' && r.status === 'ACTIVE');
    expect(cell.solution.name).toBe('SIGMA TER Piemonte');
    const vb = data.byProvince.find((r: { provinceCode: string }) => r.provinceCode === '103');
    expect(vb.province.name).toBe('Verbano-Cusio-Ossola');
    const { body } = await stack.query(`{
      a: adoptions(filter: { solutionId: "sigma-ter-piemonte", status: ACTIVE }) { totalCount }
      b: adoptions(filter: { provinceCode: "103" }) { totalCount }
    }`);
    expect(cell.count).toBe(body.data.a.totalCount);
    expect(vb.count).toBe(body.data.b.totalCount);
    // Three aggregations (one per field), one batched solution lookup, one province lookup in alliances.
    expect(commands).toEqual({ 'reuse.aggregate:adoptions': 3, 'reuse.find:reuse_solutions': 1, 'alliances.find:provinces': 1 });
  });
});

// ---------------------------------------------------------------------------------------------
// Exports


const REPORTS = [
  'funding-by-alliance',
  'funding-by-province',
  'funding-by-source',
  'funding-by-agreement',
  'funding-by-call',
  'coverage-by-province',
  'adoption-by-solution',
  'adoption-by-province',
  'adoption-by-status',
];

interface ReportJson {
  report: string;
  description: string;
  columns: string[];
  labels: string[];
  rows: Record<string, string | number | null>[];
  total: Record<string, string | number | null> | null;
}

describe('exports at /analytics/', () => {
  it('lists the reports', async () => {
    for (const path of ['analytics/', 'analytics/index.json']) {
      const res = await fetch(`${stack.gatewayUrl}${path}`);
      expect(res.status).toBe(200);
      const body = (await res.json()) as { reports: { name: string; description: string; json: string; csv: string }[] };
      expect(body.reports.map((r) => r.name).sort()).toEqual([...REPORTS].sort());
      for (const r of body.reports) {
        expect(r.description.length).toBeGreaterThan(10);
        expect(r).toMatchObject({ json: `/analytics/${r.name}.json`, csv: `/analytics/${r.name}.csv` });
      }
    }
  });

  it('serves every report as JSON and as RFC 4180 CSV with the same values', async () => {
    for (const name of REPORTS) {
      const jsonRes = await fetch(`${stack.gatewayUrl}analytics/${name}.json`);
      expect(jsonRes.status, name).toBe(200);
      expect(jsonRes.headers.get('content-type')).toMatch(/^application\/json/);
      const json = (await jsonRes.json()) as ReportJson;
      expect(json.report).toBe(name);
      expect(json.columns).toContain(name.startsWith('adoption') ? 'count' : name.startsWith('coverage') ? 'memberCount' : 'totalValue');
      expect(json.columns).toContain('provenance');
      expect(json.rows.length).toBeGreaterThan(0);

      const csvRes = await fetch(`${stack.gatewayUrl}analytics/${name}.csv`);
      expect(csvRes.status, name).toBe(200);
      expect(csvRes.headers.get('content-type')).toBe('text/csv; charset=utf-8; header=present');
      expect(csvRes.headers.get('content-disposition')).toBe(`attachment; filename="${name}.csv"`);
      const bytes = Buffer.from(await csvRes.arrayBuffer());
      const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
      const [header, ...records] = parseCsv(text);
      // Headed in the reader's language (Italian when the request states none), one per field.
      expect(csvRes.headers.get('content-language')).toBe('it');
      expect(header).toEqual(json.labels);
      expect(header).toHaveLength(json.columns.length);
      const expected = [...json.rows, ...(json.total ? [json.total] : [])].map((r) => json.columns.map((c) => (r[c] == null ? '' : String(r[c]))));
      expect(records, name).toEqual(expected);
    }
  });

  it('exports exact amounts, provenance and the reconciled totals', async () => {
    const res = await fetch(`${stack.gatewayUrl}analytics/funding-by-call.csv`);
    const [, ...records] = parseCsv(await res.text());
    // CSV columns are in the order of the JSON's field names.
    const { columns } = (await (await fetch(`${stack.gatewayUrl}analytics/funding-by-call.json`)).json()) as ReportJson;
    const at = (row: string[], column: string) => row[columns.indexOf(column)];
    const ali = records.find((r) => at(r, 'key') === 'cnipa-2007-ali-cofinancing')!;
    expect([at(ali, 'totalValue'), at(ali, 'cofinancing'), at(ali, 'provenance')]).toEqual(['3851846.00', '3219879.00', 'DERIVED']);
    const total = records.at(-1)!;
    expect([at(total, 'key'), at(total, 'totalValue'), at(total, 'cofinancing')]).toEqual(['total', '8350550.00', '5019177.00']);
    // Notes hold commas and quotes: quoted, quotes doubled.
    expect(await (await fetch(`${stack.gatewayUrl}analytics/funding-by-call.csv`)).text()).toContain('""apq-act-4-ali-projects""');

    const coverage = (await (await fetch(`${stack.gatewayUrl}analytics/coverage-by-province.json`)).json()) as ReportJson;
    expect(coverage.total).toMatchObject({ provinceCode: 'all', memberCount: 1072, smallMemberCount: 1004, municipalityCount: 1181 });
    const bySolution = (await (await fetch(`${stack.gatewayUrl}analytics/adoption-by-solution.json`)).json()) as ReportJson;
    expect(bySolution.columns).toEqual(['solution.id', 'solution.name', 'count', 'provenance']);
    expect(bySolution.rows.map((r) => [r['solution.id'], Number(r.count)]).sort()).toEqual(
      [...new Set(SEEDED_ADOPTIONS.map((a) => a.solutionId))].sort().map((id) => [id, SEEDED_ADOPTIONS.filter((a) => a.solutionId === id).length]),
    );
    const byAlliance = (await (await fetch(`${stack.gatewayUrl}analytics/funding-by-alliance.json`)).json()) as ReportJson;
    expect(byAlliance.rows.filter((r) => r.provenance === 'ESTIMATED')).toHaveLength(8);
  });

  it('heads the CSV in the language asked for (lang, then Accept-Language, Italian by default) and keeps machine-readable values', async () => {
    const csv = async (query: string, headers: Record<string, string> = {}) => {
      const res = await fetch(`${stack.gatewayUrl}analytics/funding-by-source.csv${query}`, { headers });
      expect(res.status).toBe(200);
      expect(res.headers.get('vary')).toContain('Accept-Language');
      return { language: res.headers.get('content-language'), rows: parseCsv(await res.text()) };
    };
    const italian = await csv('');
    const english = await csv('?lang=en');
    expect(italian.language).toBe('it');
    expect(english.language).toBe('en');
    expect(italian.rows[0]!.slice(0, 4)).toEqual(['Identificativo', 'Fonte di finanziamento', 'Importo messo a disposizione (€)', 'Progetti']);
    expect(english.rows[0]!.slice(0, 4)).toEqual(['Id', 'Funding source', 'Amount made available (€)', 'Projects']);
    // The values are the same in both: exact decimals with a point, enum codes, whatever the language.
    expect(italian.rows.slice(1)).toEqual(english.rows.slice(1));
    expect(italian.rows.find((r) => r[0] === 'cipe-19-2004')![2]).toBe('3890700.00');
    expect((await csv('', { 'accept-language': 'en-GB,en;q=0.9' })).rows[0]![1]).toBe('Funding source');
    expect((await csv('?lang=it', { 'accept-language': 'en' })).rows[0]![1]).toBe('Fonte di finanziamento');
    const json = (await (await fetch(`${stack.gatewayUrl}analytics/funding-by-source.json?lang=en`)).json()) as ReportJson;
    expect(json.columns.slice(0, 2)).toEqual(['key', 'label']);
    expect(json.labels.slice(0, 2)).toEqual(['Id', 'Funding source']);

    // An unsupported language is a client's mistake: 400 with a code, and no operation runs.
    stack.resetCounters();
    const bad = await fetch(`${stack.gatewayUrl}analytics/funding-by-source.csv?lang=fr`);
    expect(bad.status).toBe(400);
    const body = (await bad.json()) as { errors: { extensions: { code: string; languages: string[] } }[] };
    expect(body.errors[0]!.extensions).toEqual({ code: 'UNSUPPORTED_LANGUAGE', languages: ['it', 'en'] });
    expect(stack.subgraphCalls).toEqual([]);
  });

  it('answers 404 with a code for an unknown report or format, and 405 for other methods', async () => {
    for (const path of ['analytics/no-such-report.csv', 'analytics/funding-by-call.xml', 'analytics/funding-by-call', 'analytics/a/b.json']) {
      const res = await fetch(`${stack.gatewayUrl}${path}`);
      expect(res.status, path).toBe(404);
      const body = (await res.json()) as { errors: { extensions: { code: string; reports: string[] } }[] };
      expect(body.errors[0]!.extensions.code).toBe('REPORT_NOT_FOUND');
      expect(body.errors[0]!.extensions.reports).toContain('funding-by-call');
    }
    const post = await fetch(`${stack.gatewayUrl}analytics/funding-by-call.csv`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    const head = await fetch(`${stack.gatewayUrl}analytics/funding-by-call.csv`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-disposition')).toContain('funding-by-call.csv');
  });

  it('answers 502 with the GraphQL errors when the operation fails', async () => {
    // A gateway whose funding subgraph cannot be reached.
    const gateway = await stack.startGateway({ urlOverrides: { ...stack.subgraphUrls, funding: 'http://127.0.0.1:1/graphql' } });
    const res = await fetch(`${gateway.url}analytics/funding-by-call.csv`);
    expect(res.status).toBe(502);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const body = (await res.json()) as { errors: { message: string; extensions?: { code?: string } }[] };
    expect(body.errors[0]!.extensions?.code).toBe('REPORT_FAILED');
    expect(body.errors.length).toBeGreaterThan(1);
    // The reports of the other subgraphs still work.
    expect((await fetch(`${gateway.url}analytics/coverage-by-province.csv`)).status).toBe(200);
  });

  it('runs the operations the report files hold', async () => {
    const query = readFileSync(new URL('../../gateway/analytics/funding-by-source.graphql', import.meta.url), 'utf8');
    const { data, commands } = await measured(query);
    expect(data.fundingBreakdown.rows[0]).toMatchObject({ key: 'cipe-19-2004', sourceAmount: '3890700.00', projectCount: 0 });
    expect(commands).toEqual({ 'funding.aggregate:funded_projects': 3, 'funding.find:calls': 1, 'funding.find:funding_sources': 1 });
  });
});
