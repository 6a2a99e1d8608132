/**
 * The funding subgraph through the gateway: exact money end to end, computed rates, null kept
 * distinct from 0, beneficiaries in other subgraphs, ordering by amount with exact cursors, and
 * coded errors.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.ts';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

describe('funding', () => {
  it('answers the README question: which projects did CNIPA co-finance, and at what rate?', async () => {
    const { body } = await stack.query(`{
      fundedProjects(first: 20, orderBy: TOTAL_VALUE_DESC) {
        totalCount
        nodes {
          title totalValue cofinancing cofinancingPercent statedRateLabel provenance
          cofinancedBy { acronym }
          beneficiary { __typename ... on Alliance { name province { name } } ... on ReuseSolution { name } }
        }
      }
    }`);
    expect(body.errors).toBeUndefined();
    const nodes = body.data.fundedProjects.nodes as { totalValue: string; cofinancedBy: { acronym: string }; beneficiary: { __typename: string } }[];
    expect(body.data.fundedProjects.totalCount).toBe(10);
    expect(nodes[0]).toMatchObject({ title: 'Sigma Ter Piemonte reuse project (4th Supplementary Act)', cofinancingPercent: '39.994' });
    const cents = nodes.map((n) => BigInt(n.totalValue.replace('.', '')));
    expect(cents).toEqual([...cents].sort((a, b) => (a < b ? 1 : a > b ? -1 : 0)));
    expect(nodes.every((n) => n.cofinancedBy.acronym === 'CNIPA')).toBe(true);
    expect(nodes.filter((n) => n.beneficiary.__typename === 'Alliance')).toHaveLength(8);
  });

  it('pages by amount with exact Int64 cursors', async () => {
    const q = `query ($after: String) { fundedProjects(first: 3, after: $after, orderBy: TOTAL_VALUE_ASC) { pageInfo { hasNextPage endCursor } nodes { id totalValue } } }`;
    const ids: string[] = [];
    let after: string | null = null;
    for (let i = 0; i < 10; i++) {
      const { body }: { body: { data?: any; errors?: unknown[] } } = await stack.query(q, { after });
      expect(body.errors).toBeUndefined();
      ids.push(...body.data.fundedProjects.nodes.map((n: { id: string }) => n.id));
      if (!body.data.fundedProjects.pageInfo.hasNextPage) break;
      after = body.data.fundedProjects.pageInfo.endCursor;
    }
    expect(ids).toHaveLength(10);
    expect(new Set(ids).size).toBe(10);
  });

  it('keeps null distinct from 0 (finanziaria-2003-funds) and exposes provenance', async () => {
    const { body } = await stack.query(`{ fundingSource(id: "finanziaria-2003") { amount provenance } call(id: "cnipa-cst-prequalification") { year publishedTotals { totalValue } } }`);
    expect(body.data).toEqual({
      fundingSource: { amount: null, provenance: 'PUBLISHED' },
      call: { year: null, publishedTotals: null },
    });
  });

  // Found by the security fuzzer: 0/0 threw in the subgraph, an INTERNAL_SERVER_ERROR that nulled the whole answer.
  it('the totals of an act without projects of its own are zero, with no percentage', async () => {
    const { body } = await stack.query(`{ agreement(id: "apq-act-1") { projectTotals { totalValue cofinancing cofinancingPercent } } }`);
    expect(body.errors).toBeUndefined();
    expect(body.data).toEqual({ agreement: { projectTotals: { totalValue: '0.00', cofinancing: '0.00', cofinancingPercent: null } } });
  });

  it('contributes fundedProjects to Alliance and ReuseSolution, and totals that say when they are estimates', async () => {
    const { body } = await stack.query(`{
      alliance(id: "ali-to") { fundedProjects { id provenance provenanceNote } }
      reuseSolution(id: "sigma-ter-piemonte") { fundedProjects { id totalValue } }
      agreement(id: "apq-act-4") { projectTotals { totalValue provenance } supplementaryActs { id } framework { id supplementaryActs { id ordinal } } }
    }`);
    expect(body.errors).toBeUndefined();
    expect(body.data.alliance.fundedProjects).toEqual([
      { id: 'apq-act-4-ali-to', provenance: 'ESTIMATED', provenanceNote: expect.stringContaining('member count') },
    ]);
    expect(body.data.reuseSolution.fundedProjects).toEqual([{ id: 'apq-act-4-sigma-ter-piemonte', totalValue: '3248935.00' }]);
    expect(body.data.agreement.framework.supplementaryActs).toEqual([
      { id: 'apq-act-1', ordinal: 1 },
      { id: 'apq-act-4', ordinal: 4 },
    ]);
    const oneAli = await stack.query(`{ fundedProjects(filter: { allianceId: "ali-to" }) { nodes { id } } }`);
    expect(oneAli.body.data.fundedProjects.nodes).toEqual([{ id: 'apq-act-4-ali-to' }]);
  });

  it('rejects bad input with coded errors', async () => {
    const cases: [string, string][] = [
      [`{ fundedProject(id: "nope") { id } }`, 'NOT_FOUND'],
      [`{ fundedProject(id: "Not An Id!") { id } }`, 'BAD_USER_INPUT'],
      [`{ fundedProject(id: "apq-act-4-ali-to") { cofinancingPercent(decimals: 9) } }`, 'BAD_USER_INPUT'],
      [`{ fundedProjects(first: 0) { totalCount } }`, 'PAGE_SIZE_OUT_OF_RANGE'],
      [`{ fundedProjects(after: "abc") { totalCount } }`, 'INVALID_CURSOR'],
      [`{ fundedProjects(filter: { callId: "x y" }) { totalCount } }`, 'BAD_USER_INPUT'],
    ];
    for (const [query, code] of cases) {
      const res = await stack.query(query);
      expect(res.status, query).toBe(200);
      expect(res.body.errors?.[0]?.extensions?.code, query).toBe(code);
    }
  });
});
