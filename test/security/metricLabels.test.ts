/**
 * Operation names as metric labels under attack: a caller choosing names must not grow /metrics
 * without bound, nor get refused operations counted under their names, nor take the labels of
 * the operations the gateway really serves.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../gateway/runtime.ts';
import { GRAPHQL_ACCEPT, startStack, type Stack } from '../helpers/stack.ts';

const REAL = readFileSync(new URL('./operations/realOperation.graphql', import.meta.url), 'utf8');

let stack: Stack;
let gateway: RunningGateway;

beforeAll(async () => {
  stack = await startStack();
  gateway = await stack.startGateway({ production: true, anonymousScope: '*' });
});

afterAll(async () => {
  await stack?.stop();
});

async function post(query: string): Promise<number> {
  const res = await fetch(`${gateway.url}graphql`, { method: 'POST', headers: { 'content-type': 'application/json', accept: GRAPHQL_ACCEPT }, body: JSON.stringify({ query }) });
  await res.arrayBuffer();
  return res.status;
}

const metrics = async () => (await fetch(gateway.metricsUrl)).text();

/** `operation` label values of `requests_total`, with their counts summed over outcomes. */
function operations(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^ali_gateway_requests_total\{operation="((?:[^"\\]|\\.)*)",outcome="[a-z]+"\} (\d+)$/gm)) {
    out.set(m[1]!, (out.get(m[1]!) ?? 0) + Number(m[2]));
  }
  return out;
}

describe('operation-name labels', () => {
  it('four anonymous requests with 300 KB operation names leave /metrics about the size it was', async () => {
    await post(REAL);
    const before = Buffer.byteLength(await metrics());
    for (let i = 0; i < 4; i++) expect(await post(`query ${'A'.repeat(300_000)}${i} { __typename }`)).toBe(200);
    const text = await metrics();
    const growth = Buffer.byteLength(text) - before;
    // Before the fix: 0.8 MB → 20 MB (each name in 15 series). Now each name is cut to 64 characters.
    expect(growth).toBeLessThan(20_000);
    for (const name of operations(text).keys()) expect(name.length).toBeLessThanOrEqual(64);
  });

  it('counts a refused operation under `other`, never under the name it chose', async () => {
    const tooWide = `query RefusedTooWide${'B'.repeat(1000)} { ${Array.from({ length: 16 }, (_, i) => `f${i}: networkSummary { __typename }`).join(' ')} }`;
    expect(await post(tooWide)).toBe(400); // 16 root fields: over the anonymous limit of 15
    expect(await post(`query RefusedInvalid${'C'.repeat(1000)} { nope }`)).toBe(400);
    expect(await post('query RefusedSyntax { networkSummary {')).toBe(400);
    const text = await metrics();
    expect([...operations(text).keys()].filter((name) => name.startsWith('Refused'))).toEqual([]);
    expect(text).not.toMatch(/RefusedTooWide|RefusedInvalid|RefusedSyntax/);
  });

  it('keeps the label of an operation it served before a flood of new names, folds the rest into `other` and counts them', async () => {
    expect(await post(REAL)).toBe(200);
    const folded = () => metrics().then((t) => Number(/^ali_gateway_operation_names_folded_total (\d+)$/m.exec(t)?.[1] ?? NaN));
    const foldedBefore = await folded();
    for (let i = 0; i < 110; i++) expect(await post(`query Flood${i} { __typename }`)).toBe(200);
    expect(await post(REAL)).toBe(200);
    const names = operations(await metrics());
    expect(names.get('NetworkTotals')).toBe(3);
    // At most 100 names of their own (the ones above count too), the rest as `other`.
    expect([...names.keys()].filter((n) => n !== 'other').length).toBeLessThanOrEqual(100);
    expect(names.has('Flood109')).toBe(false);
    expect(await folded()).toBeGreaterThanOrEqual(foldedBefore + 10);
  });
});
