/**
 * The pure arithmetic of the analytics: rows built from aggregation cells, shares and rates,
 * provenance propagation (checked against `totalsOf` on every subset of the seeded projects),
 * the FerretDB rule of one accumulator per `$group`, and the CSV format of the exports.
 */
import { describe, expect, it } from 'vitest';
import { GraphQLError } from 'graphql';
import {
  breakdownPipelines,
  buildBreakdown,
  cofinancingRate,
  provenanceOf,
  type Cell,
  type ProvenancePart,
} from '../../subgraphs/funding/data/analytics.ts';
import { totalsOf } from '../../subgraphs/funding/data/queries.ts';
import { aliProjects, reuseProjects } from '../../subgraphs/funding/data/seed.ts';
import type { FundedProjectDoc } from '../../subgraphs/funding/data/collections.ts';
import { buildCoverage, COUNT_PIPELINE, POPULATION_PIPELINE, shareOf } from '../../subgraphs/alliances/data/analytics.ts';
import { adoptionStatsPipeline, buildAdoptionRows, countProvenance } from '../../subgraphs/reuse/data/analytics.ts';
import { loadReports, parseReport, tabulate } from '../../gateway/routes/analytics.ts';
import { csvField, toCsv } from '../../lib/csv.ts';

const FUNDING_DIMENSIONS = ['ALLIANCE', 'PROVINCE', 'FUNDING_SOURCE', 'AGREEMENT', 'CALL'] as const;

/** Every `$group` stage of a pipeline has exactly one accumulator (FerretDB computes only the first). */
function accumulatorsPerGroup(pipeline: readonly Record<string, unknown>[]): number[] {
  return pipeline.filter((s) => '$group' in s).map((s) => Object.keys(s.$group as object).filter((k) => k !== '_id').length);
}

/** The counted parts the count pipeline would return for a set of projects. */
function partsOf(projects: readonly FundedProjectDoc[]): ProvenancePart[] {
  const parts = new Map<string, ProvenancePart & { count: number }>();
  for (const p of projects) {
    const key = JSON.stringify([p.provenance, p.estimateGroup?.id ?? null]);
    const part = parts.get(key) ?? {
      provenance: p.provenance,
      estimateGroupId: p.estimateGroup?.id ?? null,
      estimateGroupSize: p.estimateGroup?.size ?? null,
      count: 0,
    };
    part.count += 1;
    parts.set(key, part);
  }
  return [...parts.values()];
}

describe('funding analytics', () => {
  const projects = [...aliProjects(), ...reuseProjects()];

  it('gives every subset of the projects the provenance totalsOf gives it', () => {
    expect(projects).toHaveLength(10);
    for (let mask = 0; mask < 1 << projects.length; mask++) {
      const subset = projects.filter((_p, i) => mask & (1 << i));
      expect(provenanceOf(partsOf(subset)).provenance, mask.toString(2)).toBe(totalsOf(subset).provenance);
    }
  });

  it('says why: a part of a split is an estimate, the whole split is not, sample data is named', () => {
    const split = { provenance: 'ESTIMATED' as const, estimateGroupId: 'g', estimateGroupSize: 8 };
    expect(provenanceOf([{ ...split, count: 3 }])).toEqual({ provenance: 'ESTIMATED', note: expect.stringContaining('3 of the 8 estimated parts') });
    expect(provenanceOf([{ ...split, count: 8 }])).toEqual({ provenance: 'DERIVED', note: expect.stringContaining('all 8 parts') });
    expect(provenanceOf([{ ...split, count: 5 }, { ...split, count: 3 }]).provenance).toBe('DERIVED');
    const lone = { provenance: 'ESTIMATED' as const, estimateGroupId: null, estimateGroupSize: null, count: 1 };
    expect(provenanceOf([lone, { ...split, count: 8 }]).provenance).toBe('ESTIMATED');
    const sample = { provenance: 'SAMPLE' as const, estimateGroupId: null, estimateGroupSize: null, count: 1 };
    expect(provenanceOf([sample, { ...split, count: 3 }]).provenance).toBe('SAMPLE');
    expect(provenanceOf([])).toEqual({ provenance: 'DERIVED', note: 'No projects in this group.' });
    const published = { provenance: 'PUBLISHED' as const, estimateGroupId: null, estimateGroupSize: null, count: 2 };
    expect(provenanceOf([published])).toEqual({ provenance: 'DERIVED', note: 'DERIVED: sum of published project amounts.' });
  });

  it('computes rates exactly, null for a zero total, and rejects an impossible precision', () => {
    expect(cofinancingRate(129939000n, 324893500n, 3)).toBe('39.994'); // sigma-ter-project: "40%" is 39.994%
    expect(cofinancingRate(49990800n, 124976900n, 3)).toBe('40.000'); // acquisti-on-line-project
    expect(cofinancingRate(501917700n, 835055000n, 6)).toBe('60.105945');
    expect(cofinancingRate(0n, 0n, 3)).toBeNull();
    expect(() => cofinancingRate(1n, 2n, 7)).toThrow(GraphQLError);
    expect(() => cofinancingRate(1n, 2n, -1)).toThrow(GraphQLError);
  });

  it('builds pipelines with one accumulator per $group for every dimension', () => {
    for (const by of FUNDING_DIMENSIONS) {
      const p = breakdownPipelines(by);
      for (const pipeline of [p.counts, p.totalValue, p.cofinancing]) expect(accumulatorsPerGroup(pipeline), by).toEqual([1]);
      // The sums group on the row key only; the count adds the provenance parts.
      expect(Object.keys(p.counts[0]!.$group._id)).toEqual(expect.arrayContaining([...Object.keys(p.totalValue[0]!.$group._id), 'p', 'e', 's']));
    }
  });

  /** Cells as the three pipelines return them for `projects`, grouped by `key`. */
  function cellsOf(list: readonly FundedProjectDoc[], key: (p: FundedProjectDoc) => Record<string, unknown>) {
    const counts = new Map<string, { _id: Record<string, unknown>; n: number }>();
    const tv = new Map<string, { _id: Record<string, unknown>; n: bigint }>();
    const cf = new Map<string, { _id: Record<string, unknown>; n: bigint }>();
    for (const p of list) {
      const k = key(p);
      // Like FerretDB, a missing estimate group leaves its fields out of the key.
      const parts = { ...k, p: p.provenance, ...(p.estimateGroup ? { e: p.estimateGroup.id, s: p.estimateGroup.size } : {}) };
      const c = counts.get(JSON.stringify(parts)) ?? { _id: parts, n: 0 };
      c.n += 1;
      counts.set(JSON.stringify(parts), c);
      const t = tv.get(JSON.stringify(k)) ?? { _id: k, n: 0n };
      t.n += p.totalValue;
      tv.set(JSON.stringify(k), t);
      const f = cf.get(JSON.stringify(k)) ?? { _id: k, n: 0n };
      f.n += p.cofinancing;
      cf.set(JSON.stringify(k), f);
    }
    return { counts: [...counts.values()] as Cell[], totalValue: [...tv.values()] as Cell[], cofinancing: [...cf.values()] as Cell[] };
  }

  it('rolls cells up into rows that sum to the total, keeping reference rows without projects', () => {
    const cells = cellsOf(projects, (p) => ({ c: p.callId }));
    const refs = {
      calls: [
        { _id: 'cnipa-2007-ali-cofinancing', fundingSourceId: 'finanziaria-2003' },
        { _id: 'cnipa-2007-reuse', fundingSourceId: null },
        { _id: 'cnipa-cst-prequalification', fundingSourceId: 'finanziaria-2003' },
      ],
      sources: [
        { _id: 'cipe-19-2004', name: 'CIPE', amount: 389070000n },
        { _id: 'finanziaria-2003', name: 'Finanziaria 2003', amount: null },
      ],
    };
    const b = buildBreakdown('FUNDING_SOURCE', cells, refs);
    expect(b.rows.map((r) => [r.key, r.projectCount, r.totalValue, r.cofinancing, r.sourceAmount, r.provenance])).toEqual([
      ['cipe-19-2004', 0, 0n, 0n, 389070000n, 'DERIVED'],
      ['finanziaria-2003', 8, 385184600n, 321987900n, null, 'DERIVED'],
      ['unattributed', 2, 449870400n, 179929800n, null, 'DERIVED'],
    ]);
    expect(b.total).toMatchObject({ key: 'total', projectCount: 10, totalValue: 835055000n, cofinancing: 501917700n, otherFunding: 333137300n });
    expect(b.total.provenance).toBe('DERIVED');
  });

  it('puts ALI rows in province order, estimated, and each reuse project in a row labelled by its title', () => {
    const b = buildBreakdown('ALLIANCE', cellsOf(projects, (p) => ({ a: p.allianceId, r: p.reuseSolutionId, t: p.title })), {});
    expect(b.rows.map((r) => r.key)).toEqual([
      'ali-to', 'ali-vc', 'ali-no', 'ali-cn', 'ali-at', 'ali-al', 'ali-bi', 'ali-vb',
      'acquisti-on-line-piemonte', 'sigma-ter-piemonte',
    ]);
    expect(b.rows.slice(0, 8).every((r) => r.provenance === 'ESTIMATED' && r.label.startsWith('ALI '))).toBe(true);
    expect(b.rows[9]).toMatchObject({ label: 'Sigma Ter Piemonte reuse project (4th Supplementary Act)', totalValue: 324893500n, provenance: 'DERIVED' });
    const byProvince = buildBreakdown('PROVINCE', cellsOf(projects, (p) => ({ a: p.allianceId })), {});
    expect(byProvince.rows.map((r) => r.key)).toEqual(['001', '002', '003', '004', '005', '006', '096', '103', 'region']);
    expect(byProvince.rows.at(-1)).toMatchObject({ label: 'Region-wide (reuse projects)', projectCount: 2 });
    // Part of the ALI split alone is an estimate; the sum of rows is the total.
    const some = buildBreakdown('CALL', cellsOf(projects.slice(0, 3), (p) => ({ c: p.callId })), { calls: [{ _id: 'cnipa-2007-ali-cofinancing', title: 'ALI call' }] });
    expect(some.rows).toHaveLength(1);
    expect(some.total).toMatchObject({ projectCount: 3, provenance: 'ESTIMATED' });
    expect(some.rows[0]!.totalValue).toBe(some.total.totalValue);
  });

  it('reads amounts the driver may return as bigint, Long or a safe integer, and refuses floating point', () => {
    const cells = (n: unknown) => ({ counts: [{ _id: { g: 'x' }, n: 1 }], totalValue: [{ _id: { g: 'x' }, n }], cofinancing: [{ _id: { g: 'x' }, n: 0 }] });
    expect(buildBreakdown('AGREEMENT', cells(12345), {}).total.totalValue).toBe(12345n);
    expect(buildBreakdown('AGREEMENT', cells(12345n), {}).total.totalValue).toBe(12345n);
    expect(() => buildBreakdown('AGREEMENT', cells(0.5), {})).toThrow(TypeError);
  });
});

describe('coverage analytics', () => {
  it('uses one accumulator per $group', () => {
    expect(accumulatorsPerGroup(COUNT_PIPELINE)).toEqual([1]);
    expect(accumulatorsPerGroup(POPULATION_PIPELINE)).toEqual([1]);
  });

  it('builds rows per province and a total from the compound-key counts', () => {
    const counts = [
      { _id: { p: '001', s: true, a: 'ali-to' }, n: 10 },
      { _id: { p: '001', s: true, a: null }, n: 2 },
      { _id: { p: '001', s: false, a: 'ali-to' }, n: 1 },
      { _id: { p: '001', s: false }, n: 3 }, // FerretDB leaves a null field out of the key
      { _id: { p: '002', s: true, a: 'ali-vc' }, n: 5n },
    ];
    const population = [
      { _id: { p: '001', a: 'ali-to' }, n: 30_000 },
      { _id: { p: '001' }, n: 70_000 },
      { _id: { p: '002', a: 'ali-vc' }, n: 4_000 },
    ];
    const c = buildCoverage(counts, population, [
      { code: '001', name: 'Torino' },
      { code: '002', name: 'Vercelli' },
      { code: '003', name: 'Novara' },
    ]);
    expect(c.rows.map((r) => [r.provinceCode, r.label, r.municipalityCount, r.memberCount, r.smallMunicipalityCount, r.smallMemberCount, r.population, r.memberPopulation])).toEqual([
      ['001', 'Torino', 16, 11, 12, 10, 100_000, 30_000],
      ['002', 'Vercelli', 5, 5, 5, 5, 4_000, 4_000],
      ['003', 'Novara', 0, 0, 0, 0, 0, 0],
    ]);
    expect(c.total).toMatchObject({ provinceCode: 'all', municipalityCount: 21, memberCount: 16, smallMemberCount: 15, population: 104_000, provenance: 'DERIVED' });
  });

  it('computes shares exactly, null for an empty denominator', () => {
    expect(shareOf(1072, 1181, 1)).toBe('90.8');
    expect(shareOf(1072, 1181, 3)).toBe('90.771');
    expect(shareOf(1004, 1046, 0)).toBe('96');
    expect(shareOf(0, 0, 1)).toBeNull();
    expect(() => shareOf(1, 2, 9)).toThrow(GraphQLError);
  });
});

describe('adoption analytics', () => {
  it('groups on the chosen dimensions and the provenance, with one accumulator', () => {
    expect(adoptionStatsPipeline(['SOLUTION', 'STATUS'])).toEqual([
      { $group: { _id: { s: '$solutionId', st: '$status', v: '$provenance' }, n: { $sum: 1 } } },
    ]);
    expect(adoptionStatsPipeline([])).toEqual([{ $group: { _id: { v: '$provenance' }, n: { $sum: 1 } } }]);
    expect(accumulatorsPerGroup(adoptionStatsPipeline(['SOLUTION', 'PROVINCE', 'STATUS']))).toEqual([1]);
  });

  it('folds provenances, orders rows by solution, province and status lifecycle, nulls the other dimensions', () => {
    const rows = buildAdoptionRows(['STATUS', 'SOLUTION'], [
      { _id: { s: 'b', st: 'ACTIVE', v: 'SAMPLE' }, n: 2 },
      { _id: { s: 'b', st: 'ACTIVE', v: 'PUBLISHED' }, n: 1 },
      { _id: { s: 'a', st: 'DISCONTINUED', v: 'PUBLISHED' }, n: 4 },
      { _id: { s: 'a', st: 'PLANNED', v: 'PUBLISHED' }, n: 3n },
    ]);
    expect(rows).toEqual([
      { solution: { _id: 'a' }, provinceCode: null, province: null, status: 'PLANNED', count: 3, provenance: 'DERIVED' },
      { solution: { _id: 'a' }, provinceCode: null, province: null, status: 'DISCONTINUED', count: 4, provenance: 'DERIVED' },
      { solution: { _id: 'b' }, provinceCode: null, province: null, status: 'ACTIVE', count: 3, provenance: 'SAMPLE' },
    ]);
    expect(buildAdoptionRows(['PROVINCE'], [{ _id: { p: '004', v: 'SAMPLE' }, n: 7 }])).toEqual([
      { solution: null, provinceCode: '004', province: { code: '004' }, status: null, count: 7, provenance: 'SAMPLE' },
    ]);
    expect(buildAdoptionRows([], [])).toEqual([]);
    expect(countProvenance(['PUBLISHED', 'ESTIMATED'])).toBe('ESTIMATED');
  });
});

describe('exports', () => {
  it('writes RFC 4180 fields: quoted only when needed, quotes doubled, CRLF after every record', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField(null)).toBe('');
    expect(csvField(12)).toBe('12');
    expect(csvField('3851846.00')).toBe('3851846.00');
    expect(csvField('a, b')).toBe('"a, b"');
    expect(csvField('the "split"')).toBe('"the ""split"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField('Città di Torino – €')).toBe('Città di Torino – €');
    expect(toCsv(['a', 'b'], [['x', null], ['1,2', 3]])).toBe('a,b\r\nx,\r\n"1,2",3\r\n');
  });

  it('takes the columns from the operation: fragments, inline fragments and aliases, in order', () => {
    const report = parseReport(
      'example',
      `# First line.
# Second line.
query Example { stats { rows { ...Cols amount: total ... on Row { nested { a b } } } total { ...Cols } } }
fragment Cols on Row { key label }`,
    );
    expect(report).toMatchObject({ description: 'First line. Second line.', rootKey: 'stats', wrapped: true, hasTotal: true });
    expect(report.columns.map((c) => c.name)).toEqual(['key', 'label', 'amount', 'nested.a', 'nested.b']);
    const table = tabulate(report, {
      stats: { rows: [{ key: 'k', label: 'L', amount: '1.00', nested: null }], total: { key: 'total', label: 'All' } },
    });
    expect(table).toEqual({
      rows: [{ key: 'k', label: 'L', amount: '1.00', 'nested.a': null, 'nested.b': null }],
      total: { key: 'total', label: 'All', amount: null, 'nested.a': null, 'nested.b': null },
    });
    const list = parseReport('list', '{ items { id count } }');
    expect(list).toMatchObject({ rootKey: 'items', wrapped: false, hasTotal: false });
    expect(tabulate(list, { items: [{ id: 'a', count: 1 }] })).toEqual({ rows: [{ id: 'a', count: 1 }], total: null });
    expect(() => tabulate(list, { items: null })).toThrow(/no rows/);
  });

  it('refuses report files it could not serve', () => {
    expect(() => parseReport('Bad_Name', '{ a { b } }')).toThrow(/file name/);
    expect(() => parseReport('m', 'mutation { a { b } }')).toThrow(/one query/);
    expect(() => parseReport('two', 'query A { a { b } } query B { a { b } }')).toThrow(/one query/);
    expect(() => parseReport('v', 'query ($x: ID!) { a(x: $x) { b } }')).toThrow(/no variables/);
    expect(() => parseReport('r', '{ a { b } c { d } }')).toThrow(/one root field/);
  });

  it('loads the nine named reports of gateway/analytics', () => {
    const reports = loadReports();
    expect([...reports.keys()].sort()).toEqual(
      [
        'adoption-by-province', 'adoption-by-solution', 'adoption-by-status', 'coverage-by-province',
        'funding-by-agreement', 'funding-by-alliance', 'funding-by-call', 'funding-by-province', 'funding-by-source',
      ],
    );
    for (const r of reports.values()) {
      expect(r.columns.map((c) => c.name)).toContain('provenance');
      expect(r.description).not.toBe('');
    }
    expect(reports.get('funding-by-source')!.columns.map((c) => c.name)).toContain('sourceAmount');
  });
});
