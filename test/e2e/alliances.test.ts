/**
 * The alliances subgraph through the gateway: lookups, filters, orderings, cursor pagination,
 * cross-subgraph fields, and clear coded errors for bad input.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.ts';

const op = (name: string) => readFileSync(new URL(`./operations/alliances/${name}.graphql`, import.meta.url), 'utf8');

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

type Page = {
  totalCount: number;
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
  edges: { cursor: string; node: { istatCode: string; name: string; population: number; isSmall: boolean } }[];
};

async function page(variables: Record<string, unknown>) {
  const res = await stack.query<{ municipalities: Page }>(op('municipalities'), variables);
  return res;
}

describe('alliances', () => {
  it('answers the README question: small Comuni in ALI Cuneo', async () => {
    const { body } = await stack.query(op('smallInCuneo'));
    expect(body.errors).toBeUndefined();
    const a = body.data.alliance;
    expect(a.name).toBe('ALI Cuneo');
    // The figures the README's example shows.
    expect([a.memberCount, a.smallMemberCount]).toEqual([222, 210]);
    expect(a.members.totalCount).toBe(a.smallMemberCount);
    expect(a.members.nodes).toHaveLength(3);
    const pops = a.members.nodes.map((n: { population: number }) => n.population);
    expect(pops).toEqual([...pops].sort((x: number, y: number) => y - x));
    expect(a.members.nodes.every((n: { isSmall: boolean; population: number }) => n.isSmall && n.population < 5000)).toBe(true);
    expect(a.members.nodes[0].membership).toEqual({ provenance: 'DERIVED', alliance: { id: 'ali-cn' } });
  });

  it('resolves a Comune with fields from all four subgraphs', async () => {
    // Mondovì (CN): a member in the derived membership? Take the first member of ALI Cuneo instead.
    const first = await stack.query(`{ alliance(id: "ali-cn") { members(first: 1, orderBy: ISTAT_CODE_ASC) { nodes { istatCode } } } }`);
    const istatCode = first.body.data.alliance.members.nodes[0].istatCode;
    stack.resetCounters();
    const { body } = await stack.query(op('municipality'), { istatCode });
    expect(body.errors).toBeUndefined();
    const m = body.data.municipality;
    expect(m.istatCode).toBe(istatCode);
    expect(m.province).toEqual({ code: '004', name: 'Cuneo', abbreviation: 'CN', alliance: { id: 'ali-cn' } });
    expect(m.provenance).toBe('PUBLISHED');
    expect(m.membership.provenance).toBe('DERIVED');
    expect(m.membership.provenanceNote).toMatch(/1,072/);
    expect(m.membership.alliance.fundedProjects).toEqual([
      { id: 'apq-act-4-ali-cn', totalValue: expect.stringMatching(/^\d+\.\d{2}$/), provenance: 'ESTIMATED' },
    ]);
    expect(Array.isArray(m.adoptions)).toBe(true);
    expect(Array.isArray(m.committeeSeats)).toBe(true);
    expect(new Set(stack.subgraphCalls.map((c) => c.subgraph))).toEqual(new Set(['alliances', 'funding', 'governance', 'reuse']));
  });

  it('knows a Comune by ISTAT data: Acceglio (CN)', async () => {
    const { body } = await stack.query(`{ municipality(istatCode: "004001") { name cadastralCode postcodes population isSmall province { name } } }`);
    expect(body.data.municipality).toEqual({
      name: 'Acceglio',
      cadastralCode: 'A016',
      postcodes: ['12021'],
      population: 174,
      isSmall: true,
      province: { name: 'Cuneo' },
    });
  });

  it('pages through a filtered list with stable cursors until the end', async () => {
    const filter = { provinceCode: '103', member: true };
    const seen: string[] = [];
    let after: string | null = null;
    let total = 0;
    let pages = 0;
    for (;;) {
      const res = await page({ first: 25, after, filter });
      expect(res.body.errors).toBeUndefined();
      const p: Page = res.body.data!.municipalities;
      total = p.totalCount;
      expect(p.pageInfo.hasPreviousPage).toBe(after !== null);
      seen.push(...p.edges.map((e) => e.node.istatCode));
      pages++;
      if (!p.pageInfo.hasNextPage) {
        expect(p.edges.length).toBeLessThanOrEqual(25);
        break;
      }
      expect(p.edges).toHaveLength(25);
      after = p.pageInfo.endCursor;
    }
    expect(seen).toHaveLength(total);
    expect(new Set(seen).size).toBe(total);
    expect(seen.every((c) => c.startsWith('103'))).toBe(true);
    expect(pages).toBe(Math.ceil(total / 25));
  });

  it('orders by population with _id as tie-breaker, across pages', async () => {
    const one = await page({ first: 40, orderBy: 'POPULATION_ASC', filter: { small: true } });
    const a = one.body.data!.municipalities;
    const two = await page({ first: 40, orderBy: 'POPULATION_ASC', filter: { small: true }, after: a.edges[19]!.cursor });
    expect(two.body.data!.municipalities.edges.slice(0, 20).map((e) => e.node.istatCode)).toEqual(
      a.edges.slice(20).map((e) => e.node.istatCode),
    );
    const pops = a.edges.map((e) => e.node.population);
    expect(pops).toEqual([...pops].sort((x, y) => x - y));
  });

  it('searches names by accent- and case-insensitive prefix', async () => {
    const res = await page({ first: 10, filter: { nameStartsWith: 'MONDOVI' } });
    expect(res.body.data!.municipalities.edges.map((e) => e.node.name)).toEqual(['Mondovì']);
    const none = await page({ first: 10, filter: { nameStartsWith: '.*' } });
    expect(none.body.data!.municipalities.totalCount).toBe(0);
  });

  it('returns an empty page, not an error, when nothing matches', async () => {
    const res = await page({ filter: { provinceCode: '001', nameStartsWith: 'zzz' } });
    expect(res.body.data!.municipalities).toMatchObject({
      totalCount: 0,
      edges: [],
      pageInfo: { hasNextPage: false, startCursor: null, endCursor: null },
    });
  });

  it('rejects bad input with coded errors, never a crash', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ first: 0 }, 'PAGE_SIZE_OUT_OF_RANGE'],
      [{ first: 501 }, 'PAGE_SIZE_OUT_OF_RANGE'],
      [{ first: -5 }, 'PAGE_SIZE_OUT_OF_RANGE'],
      [{ after: 'garbage!' }, 'INVALID_CURSOR'],
      [{ after: 'WyJQT1BVTEFUSU9OX0FTQyIsMSwiYSJd' }, 'INVALID_CURSOR'], // a POPULATION_ASC cursor used with NAME_ASC
      [{ filter: { provinceCode: '999' } }, 'BAD_USER_INPUT'],
      [{ filter: { allianceId: 'ali-xx' } }, 'BAD_USER_INPUT'],
    ];
    for (const [variables, code] of cases) {
      const res = await page(variables);
      expect(res.status, JSON.stringify(variables)).toBe(200);
      expect(res.body.errors?.[0]?.extensions?.code, JSON.stringify(variables)).toBe(code);
      expect(res.body.errors?.[0]?.path).toEqual(['municipalities']);
    }
    const unknown = await stack.query(`{ municipality(istatCode: "004999") { name } alliance(id: "ali-xx") { name } }`);
    expect(unknown.body.data).toEqual({ municipality: null, alliance: null });
    expect(unknown.body.errors?.map((e) => [e.path?.[0], e.extensions?.code]).sort()).toEqual([
      ['alliance', 'NOT_FOUND'],
      ['municipality', 'NOT_FOUND'],
    ]);
    const malformed = await stack.query(`{ municipality(istatCode: "4001") { name } }`);
    expect(malformed.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'istatCode' });
    const wrongType = await stack.query(`{ municipalities(first: "ten") { totalCount } }`);
    expect(wrongType.status).toBe(400);
    expect(wrongType.body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });
});
