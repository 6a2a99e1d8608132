/**
 * The reuse subgraph through the gateway: the published catalogue (fact reuse-solutions), the SAMPLE adoptions,
 * keyset pagination and filters with coded errors, the fields it exchanges with alliances,
 * governance and funding, and DataLoader batching of Municipality representations.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type GraphQLResponseError, type RecordedCommand, type Stack } from '../helpers/stack.ts';
import { adoptionDocs } from '../../subgraphs/reuse/data/seed.ts';

const op = (name: string) => readFileSync(new URL(`./operations/reuse/${name}.graphql`, import.meta.url), 'utf8');

const LEGAL_BASIS = "Reuse provisions of the Digital Administration Code (Codice dell'Amministrazione Digitale)";
const PROVINCE_CODES = ['001', '002', '003', '004', '005', '006', '096', '103'];
const SOLUTION_IDS = ['acquisti-on-line-piemonte', 'atoc-comune-facile', 'sigma-ter-piemonte'];
/**
 * The seed's adoptions in the list ordering (Comune, then id): every count below is derived from
 * them. Broken once to prove it: with the reuse seed inserting all but the first adoption, the
 * counting and paging tests fail.
 */
const SEEDED = adoptionDocs().sort((a, b) => a.istatCode.localeCompare(b.istatCode) || a._id.localeCompare(b._id));
const seededWhere = (keep: (a: (typeof SEEDED)[number]) => boolean) => SEEDED.filter(keep);
/** The sizes of the pages of `size` that `total` items make. */
const pageSizes = (total: number, size: number) => Array.from({ length: Math.ceil(total / size) }, (_, i) => Math.min(size, total - i * size));

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

interface AdoptionNode {
  id: string;
  status: string;
  startedOn: string | null;
  provenance: string;
  solution: { id: string };
  municipality: { istatCode: string };
}
interface AdoptionPage {
  totalCount: number;
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
  edges: { cursor: string; node: AdoptionNode }[];
}

const codes = (errors: GraphQLResponseError[] | undefined) => (errors ?? []).map((e) => e.extensions?.code);

function count(commands: RecordedCommand[], subgraph: string, commandName?: string, collection?: string): number {
  return commands.filter(
    (c) => c.subgraph === subgraph && (!commandName || c.commandName === commandName) && (!collection || c.collection === collection),
  ).length;
}

async function adoptions(variables: Record<string, unknown>) {
  return stack.query<{ adoptions: AdoptionPage }>(op('adoptions'), variables);
}

/** Walks a connection with `first` until hasNextPage is false, returning every page. */
async function walk(variables: Record<string, unknown>): Promise<AdoptionPage[]> {
  const pages: AdoptionPage[] = [];
  let after: string | null = null;
  for (let i = 0; i < 50; i++) {
    const { body } = await adoptions({ ...variables, after });
    expect(body.errors).toBeUndefined();
    const page = body.data!.adoptions;
    pages.push(page);
    if (!page.pageInfo.hasNextPage) return pages;
    after = page.pageInfo.endCursor;
  }
  throw new Error('pagination did not end');
}

describe('reuse: the published catalogue (fact reuse-solutions)', () => {
  it('lists the three solutions with their builder (governance) and funding (funding)', async () => {
    stack.resetCounters();
    const { body } = await stack.query(op('catalogue'));
    expect(body.errors).toBeUndefined();
    expect(body.data.reuseSolutions).toEqual([
      {
        id: 'acquisti-on-line-piemonte',
        name: 'Acquisti On Line Piemonte',
        description: 'Online procurement; funded as a reuse project under the 4th Supplementary Act of the APQ.',
        builtBy: null,
        legalBasis: LEGAL_BASIS,
        provenance: 'PUBLISHED',
        fundedProjects: [{ id: 'apq-act-4-acquisti-on-line-piemonte', totalValue: '1249769.00' }],
      },
      {
        id: 'atoc-comune-facile',
        name: 'ATOC Comune Facile',
        description: 'Online services for citizens, built by the City of Turin (Città di Torino) in the first eGovernment phase.',
        builtBy: { id: 'citta-di-torino', name: expect.any(String), italianName: 'Città di Torino' },
        legalBasis: LEGAL_BASIS,
        provenance: 'PUBLISHED',
        fundedProjects: [],
      },
      {
        id: 'sigma-ter-piemonte',
        name: 'SIGMA TER Piemonte',
        description: 'Computerised management of cadastral data.',
        builtBy: null,
        legalBasis: LEGAL_BASIS,
        provenance: 'PUBLISHED',
        fundedProjects: [{ id: 'apq-act-4-sigma-ter-piemonte', totalValue: '3248935.00' }],
      },
    ]);
    expect(new Set(stack.subgraphCalls.map((c) => c.subgraph))).toEqual(new Set(['reuse', 'governance', 'funding']));
  });

  it('finds one solution by id; NOT_FOUND for an unknown id, BAD_USER_INPUT for a malformed one', async () => {
    const found = await stack.query(op('solution'), { id: 'sigma-ter-piemonte' });
    expect(found.body.data.reuseSolution).toEqual({ id: 'sigma-ter-piemonte', name: 'SIGMA TER Piemonte', provenance: 'PUBLISHED' });

    const unknown = await stack.query(op('solution'), { id: 'no-such-solution' });
    expect(unknown.body.data.reuseSolution).toBeNull();
    expect(codes(unknown.body.errors)).toEqual(['NOT_FOUND']);
    expect(unknown.body.errors![0]!.path).toEqual(['reuseSolution']);

    const malformed = await stack.query(op('solution'), { id: 'Not A Slug!' });
    expect(malformed.body.data.reuseSolution).toBeNull();
    expect(codes(malformed.body.errors)).toEqual(['BAD_USER_INPUT']);
  });
});

describe('reuse: SAMPLE adoptions', () => {
  it('holds the deterministic sample: 325 adoptions by ALI members, over every province, solution and status', async () => {
    expect(SEEDED).toHaveLength(325); // the number docs/data.md states
    const { body } = await adoptions({ first: 500 });
    expect(body.errors).toBeUndefined();
    const page = body.data!.adoptions;
    expect(page.totalCount).toBe(SEEDED.length);
    expect(page.pageInfo.hasNextPage).toBe(false);
    const nodes = page.edges.map((e) => e.node);
    // Exactly the seeded records, in the documented order (Comune, then solution).
    expect(nodes).toEqual(
      SEEDED.map((a) => ({
        id: a._id,
        status: a.status,
        startedOn: a.startedOn,
        provenance: 'SAMPLE',
        solution: { id: a.solutionId },
        municipality: { istatCode: a.istatCode },
      })),
    );
    for (const n of nodes) {
      expect(n.id).toBe(`${n.solution.id}:${n.municipality.istatCode}`);
      expect(n.startedOn === null).toBe(n.status === 'PLANNED');
    }
    expect(new Set(nodes.map((n) => n.status))).toEqual(new Set(['PLANNED', 'IN_PROGRESS', 'ACTIVE', 'DISCONTINUED']));
    expect(new Set(nodes.map((n) => n.municipality.istatCode.slice(0, 3)))).toEqual(new Set(PROVINCE_CODES));
  });

  it('counts adoptions per solution and per province with filters', async () => {
    const aliases = [
      ...SOLUTION_IDS.map((id, i) => `s${i}: adoptions(filter: { solutionId: "${id}" }) { totalCount }`),
      ...PROVINCE_CODES.map((code) => `p${code}: adoptions(filter: { provinceCode: "${code}" }) { totalCount }`),
    ];
    const { body } = await stack.query(`{ ${aliases.join('\n')} }`);
    expect(body.errors).toBeUndefined();
    const d = body.data as Record<string, { totalCount: number }>;
    expect([d.s0!.totalCount, d.s1!.totalCount, d.s2!.totalCount]).toEqual(SOLUTION_IDS.map((id) => seededWhere((a) => a.solutionId === id).length));
    const perProvince = PROVINCE_CODES.map((c) => d[`p${c}`]!.totalCount);
    expect(perProvince).toEqual(PROVINCE_CODES.map((c) => seededWhere((a) => a.provinceCode === c).length));
    expect(perProvince.every((n) => n > 0)).toBe(true);
  });

  it('filters by status, province, solution and Comune together', async () => {
    const filter = { solutionId: 'atoc-comune-facile', status: 'ACTIVE', provinceCode: '004' };
    const { body } = await adoptions({ first: 100, filter });
    expect(body.errors).toBeUndefined();
    const expected = SEEDED.filter((a) => a.solutionId === filter.solutionId && a.status === 'ACTIVE' && a.provinceCode === '004');
    expect(expected.length).toBeGreaterThan(0);
    expect(body.data!.adoptions.totalCount).toBe(expected.length);
    expect(body.data!.adoptions.edges.map((e) => e.node.id)).toEqual(expected.map((a) => a._id));

    const terzo = await adoptions({ filter: { municipalityIstatCode: '006172' } });
    expect(terzo.body.data!.adoptions.edges.map((e) => e.node.id)).toEqual([
      'acquisti-on-line-piemonte:006172',
      'atoc-comune-facile:006172',
      'sigma-ter-piemonte:006172',
    ]);
  });

  it('rejects bad filters with BAD_USER_INPUT naming the argument', async () => {
    for (const filter of [
      { solutionId: 'no-such-solution' },
      { provinceCode: '007' },
      { provinceCode: '4' },
      { municipalityIstatCode: '4001' },
      { municipalityIstatCode: '00400A' },
    ]) {
      const { body } = await adoptions({ filter });
      expect(codes(body.errors), JSON.stringify(filter)).toEqual(['BAD_USER_INPUT']);
      expect(body.errors![0]!.extensions!.argument).toBe(`filter.${Object.keys(filter)[0]}`);
    }
    const nested = await stack.query(op('solutionAdoptions'), { id: 'atoc-comune-facile', filter: { solutionId: 'nope' } });
    expect(codes(nested.body.errors)).toEqual(['BAD_USER_INPUT']);
  });
});

describe('reuse: pagination', () => {
  it('pages Query.adoptions to the end with stable cursors', async () => {
    const pages = await walk({ first: 100 });
    expect(pages.map((p) => p.edges.length)).toEqual(pageSizes(SEEDED.length, 100));
    expect(pages.length).toBeGreaterThan(2);
    expect(pages.map((p) => p.pageInfo.hasPreviousPage)).toEqual(pages.map((_, i) => i > 0));
    expect(pages.at(-1)!.pageInfo.hasNextPage).toBe(false);
    expect(pages.flatMap((p) => p.edges.map((e) => e.node.id))).toEqual(SEEDED.map((a) => a._id));
    for (const p of pages) {
      expect(p.pageInfo.startCursor).toBe(p.edges[0]!.cursor);
      expect(p.pageInfo.endCursor).toBe(p.edges.at(-1)!.cursor);
    }
  });

  it('pages a filtered list and a solution’s adoptions', async () => {
    const filtered = await walk({ first: 7, filter: { provinceCode: '103' } });
    expect(filtered.flatMap((p) => p.edges.map((e) => e.node.id))).toEqual(
      SEEDED.filter((a) => a.provinceCode === '103').map((a) => a._id),
    );
    expect(filtered.map((p) => p.edges.length)).toEqual(pageSizes(seededWhere((a) => a.provinceCode === '103').length, 7));

    const atoc = seededWhere((a) => a.solutionId === 'atoc-comune-facile');
    const seen: string[] = [];
    let after: string | null = null;
    let sizes: number[] = [];
    type Conn = { totalCount: number; pageInfo: { hasNextPage: boolean; endCursor: string | null }; nodes: { id: string }[] };
    for (;;) {
      const res = await stack.query<{ reuseSolution: { adoptions: Conn } }>(op('solutionAdoptions'), {
        id: 'atoc-comune-facile',
        first: 50,
        after,
      });
      expect(res.body.errors).toBeUndefined();
      const conn: Conn = res.body.data!.reuseSolution.adoptions;
      expect(conn.totalCount).toBe(atoc.length);
      seen.push(...conn.nodes.map((n) => n.id));
      sizes = [...sizes, conn.nodes.length];
      if (!conn.pageInfo.hasNextPage) break;
      after = conn.pageInfo.endCursor;
    }
    expect(sizes).toEqual(pageSizes(atoc.length, 50));
    expect(sizes.length).toBeGreaterThan(1);
    expect(seen).toEqual(atoc.map((a) => a._id));
  });

  it('fails with INVALID_CURSOR and PAGE_SIZE_OUT_OF_RANGE', async () => {
    expect(codes((await adoptions({ after: 'not-a-cursor' })).body.errors)).toEqual(['INVALID_CURSOR']);
    // A cursor of another field's ordering (alliances' municipalities) is refused too.
    const other = await stack.query(`{ municipalities(first: 1) { pageInfo { endCursor } } }`);
    expect(codes((await adoptions({ after: other.body.data.municipalities.pageInfo.endCursor })).body.errors)).toEqual(['INVALID_CURSOR']);
    expect(codes((await adoptions({ first: 501 })).body.errors)).toEqual(['PAGE_SIZE_OUT_OF_RANGE']);
    expect(codes((await adoptions({ first: 0 })).body.errors)).toEqual(['PAGE_SIZE_OUT_OF_RANGE']);
    expect(codes((await adoptions({ first: -1 })).body.errors)).toEqual(['PAGE_SIZE_OUT_OF_RANGE']);
    const nested = await stack.query(op('solutionAdoptions'), { id: 'sigma-ter-piemonte', first: 0 });
    expect(codes(nested.body.errors)).toEqual(['PAGE_SIZE_OUT_OF_RANGE']);
    const nestedCursor = await stack.query(op('solutionAdoptions'), { id: 'sigma-ter-piemonte', after: 'bad!' });
    expect(codes(nestedCursor.body.errors)).toEqual(['INVALID_CURSOR']);
  });
});

describe('reuse: cross-subgraph fields', () => {
  it('Municipality.adoptions: a Comune from alliances with its adoptions from reuse', async () => {
    stack.resetCounters();
    const { body } = await stack.query(op('municipalityAdoptions'), { istatCode: '006172' });
    expect(body.errors).toBeUndefined();
    expect(body.data.municipality).toEqual({
      name: 'Terzo',
      adoptions: [
        {
          id: 'acquisti-on-line-piemonte:006172',
          status: 'IN_PROGRESS',
          startedOn: '2012-11-18',
          provenance: 'SAMPLE',
          solution: { id: 'acquisti-on-line-piemonte', name: 'Acquisti On Line Piemonte' },
          municipality: { istatCode: '006172' },
        },
        {
          id: 'atoc-comune-facile:006172',
          status: 'PLANNED',
          startedOn: null,
          provenance: 'SAMPLE',
          solution: { id: 'atoc-comune-facile', name: 'ATOC Comune Facile' },
          municipality: { istatCode: '006172' },
        },
        {
          id: 'sigma-ter-piemonte:006172',
          status: 'ACTIVE',
          startedOn: '2012-12-12',
          provenance: 'SAMPLE',
          solution: { id: 'sigma-ter-piemonte', name: 'SIGMA TER Piemonte' },
          municipality: { istatCode: '006172' },
        },
      ],
    });
    expect(stack.subgraphCalls.map((c) => c.subgraph)).toEqual(['alliances', 'reuse']);

    // A Comune without adoptions (Agliè, TO) gets an empty list, not null.
    expect(SEEDED.some((a) => a.istatCode === '001001')).toBe(false);
    const none = await stack.query(op('municipalityAdoptions'), { istatCode: '001001' });
    expect(none.body.data.municipality.adoptions).toEqual([]);
  });

  it('Adoption.municipality: reuse hands the ISTAT code, alliances resolves the Comune', async () => {
    stack.resetCounters();
    const { body } = await stack.query(op('adoptionMunicipalities'), { filter: { provinceCode: '004' } });
    expect(body.errors).toBeUndefined();
    const nodes = body.data.adoptions.nodes as {
      id: string;
      municipality: { istatCode: string; name: string; province: { code: string }; membership: { alliance: { id: string } } | null };
    }[];
    expect(nodes).toHaveLength(50);
    for (const n of nodes) {
      expect(n.id.endsWith(`:${n.municipality.istatCode}`)).toBe(true);
      expect(n.municipality.name).toEqual(expect.any(String));
      expect(n.municipality.province.code).toBe('004');
      // Adoptions are sampled among ALI members only.
      expect(n.municipality.membership).toEqual({ alliance: { id: 'ali-cn' } });
    }
    // One request per subgraph: 50 Comuni are one _entities fetch on alliances.
    expect(stack.subgraphCalls.map((c) => c.subgraph)).toEqual(['reuse', 'alliances']);
    expect(count(stack.commands, 'alliances', 'find', 'municipalities')).toBe(1);
  });

  it('resolves every entity reference through a loader, null for unknown keys', async () => {
    const res = await stack.subgraphQuery<{ _entities: unknown[] }>('reuse', op('entities'), {
          representations: [
            { __typename: 'ReuseSolution', id: 'atoc-comune-facile' },
            { __typename: 'ReuseSolution', id: 'no-such-solution' },
            { __typename: 'Adoption', id: 'sigma-ter-piemonte:006172' },
            { __typename: 'Adoption', id: 'sigma-ter-piemonte:999999' },
            { __typename: 'Municipality', istatCode: '006172' },
            { __typename: 'Municipality', istatCode: '001001' },
          ],
    });
    const body = res.body;
    expect(body.errors).toBeUndefined();
    expect(body.data!._entities).toEqual([
      { id: 'atoc-comune-facile', name: 'ATOC Comune Facile' },
      null,
      { id: 'sigma-ter-piemonte:006172', status: 'ACTIVE', municipality: { istatCode: '006172' } },
      null,
      {
        istatCode: '006172',
        adoptions: [{ id: 'acquisti-on-line-piemonte:006172' }, { id: 'atoc-comune-facile:006172' }, { id: 'sigma-ter-piemonte:006172' }],
      },
      { istatCode: '001001', adoptions: [] },
    ]);
  });
});

describe('reuse: batching', () => {
  it('answers 200 Municipality representations with one request and one find', async () => {
    stack.resetCounters();
    const { body } = await stack.query(op('membersAdoptions'), { id: 'ali-cn', first: 200 });
    expect(body.errors).toBeUndefined();
    const members = body.data.alliance.members.nodes as { istatCode: string; adoptions: { id: string; status: string; solution: { name: string } }[] }[];
    expect(members).toHaveLength(200);
    // Every member got exactly its seeded adoptions.
    for (const m of members) {
      expect(m.adoptions.map((a) => a.id)).toEqual(SEEDED.filter((a) => a.istatCode === m.istatCode).map((a) => a._id));
    }
    const ofMembers = seededWhere((a) => members.some((m) => m.istatCode === a.istatCode));
    expect(ofMembers.length).toBeGreaterThan(0);
    expect(members.flatMap((m) => m.adoptions).length).toBe(ofMembers.length);

    const reuseCalls = stack.subgraphCalls.filter((c) => c.subgraph === 'reuse');
    expect(reuseCalls).toHaveLength(1);
    expect(reuseCalls[0]!.query).toContain('_entities');
    // One find for all the Comuni's adoptions, one for their solutions: no per-Comune query.
    expect(stack.commands.filter((c) => c.subgraph === 'reuse')).toEqual([
      { subgraph: 'reuse', commandName: 'find', collection: 'adoptions' },
      { subgraph: 'reuse', commandName: 'find', collection: 'reuse_solutions' },
    ]);
  });

  it('pages every solution’s adoptions in one find, one count and one alliances request', async () => {
    stack.resetCounters();
    const { body } = await stack.query(op('catalogueAdoptions'), { first: 40 });
    expect(body.errors).toBeUndefined();
    const solutions = body.data.reuseSolutions as { id: string; adoptions: { totalCount: number; nodes: { id: string; municipality: { name: string } }[] } }[];
    expect(solutions.map((s) => [s.id, s.adoptions.totalCount, s.adoptions.nodes.length])).toEqual(
      [...SOLUTION_IDS].sort().map((id) => {
        const count = seededWhere((a) => a.solutionId === id).length;
        return [id, count, Math.min(40, count)];
      }),
    );
    for (const s of solutions) {
      expect(s.adoptions.nodes.map((n) => n.id)).toEqual(SEEDED.filter((a) => a.solutionId === s.id).slice(0, 40).map((a) => a._id));
      expect(s.adoptions.nodes.every((n) => typeof n.municipality.name === 'string')).toBe(true);
    }
    expect(stack.subgraphCalls.map((c) => c.subgraph)).toEqual(['reuse', 'alliances']);
    expect(count(stack.commands, 'reuse', 'find', 'reuse_solutions')).toBe(1);
    expect(count(stack.commands, 'reuse', 'find', 'adoptions')).toBe(1);
    expect(count(stack.commands, 'reuse', 'aggregate', 'adoptions')).toBe(1);
    expect(count(stack.commands, 'reuse')).toBe(3);
    expect(count(stack.commands, 'alliances')).toBe(1);
  });
});
