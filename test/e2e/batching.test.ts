/**
 * Batching: one GraphQL operation costs one database round trip per entity type per query-plan
 * step, whatever the number of items. The same operation over 8 and over 1,072 municipalities
 * must send the same MongoDB commands (counted with the driver's command monitoring).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandSummary, startStack, type Stack } from '../helpers/stack.ts';

const dashboard = readFileSync(new URL('./operations/batching/dashboard.graphql', import.meta.url), 'utf8');

let stack: Stack;
/** 500 members of each of the 8 ALI is over the anonymous cost limit: the dashboard runs with an analyst key. */
let analyst: Record<string, string>;
beforeAll(async () => {
  stack = await startStack();
  analyst = { 'x-api-key': await stack.createKey({ name: 'analyst-dashboard', role: 'analyst' }) };
});
afterAll(async () => {
  await stack?.stop();
});


async function run(first: number) {
  stack.resetCounters();
  const res = await stack.query(dashboard, { first }, analyst);
  expect(res.status).toBe(200);
  expect(res.body.errors).toBeUndefined();
  return {
    data: res.body.data as { alliances: { members: { nodes: { adoptions: unknown[] }[] } }[] },
    commands: commandSummary(stack.commands),
    calls: stack.subgraphCalls.map((c) => c.subgraph),
  };
}

describe('DataLoader batching across the federated query plan', () => {
  it('costs the same commands for 1,072 municipalities as for 8', async () => {
    const small = await run(1);
    const large = await run(500);
    const members = large.data.alliances.flatMap((a) => a.members.nodes);
    expect(members).toHaveLength(1072);
    expect(small.data.alliances.flatMap((a) => a.members.nodes)).toHaveLength(8);
    expect(members.some((m) => m.adoptions.length > 0)).toBe(true);

    // One request per subgraph and query-plan step: alliances (root), then reuse, funding and governance in parallel.
    expect(large.calls.sort()).toEqual(['alliances', 'funding', 'governance', 'reuse']);
    expect(large.commands).toEqual(small.commands);
    console.log('MongoDB commands for the dashboard over 1,072 municipalities:', large.commands);

    // Exactly one find per entity type per step, no getMore.
    expect(large.commands).toEqual({
      'alliances.find:alliances': 1,
      'alliances.find:municipalities': 1,
      'alliances.find:provinces': 1,
      'reuse.find:adoptions': 1,
      'reuse.find:reuse_solutions': 1,
      'funding.find:funded_projects': 1,
      'governance.find:facilitators': 1,
    });
  });
});
