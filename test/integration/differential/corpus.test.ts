/**
 * The lean executor's correctness gate, generated corpus: operations drawn from our real supergraph's API
 * schema (corpus.ts) go to our gateway over the real subgraphs on FerretDB (test/helpers/stack.ts)
 * and to stock Apollo Server + @apollo/gateway over the same subgraph URLs (signing the gateway
 * header with the stack's secret, as an anonymous caller, like ours does); the answers must be the
 * same as compare.ts defines, and the lean executor must have run every one (harness.ts).
 * DIFFERENTIAL_SEED and DIFFERENTIAL_COUNT draw another corpus.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANONYMOUS, GATEWAY_TOKEN_HEADER, signGatewayToken } from '../../../lib/access.ts';
import { startStack, type Stack } from '../../helpers/stack.ts';
import { apiSchemaOf, generateCorpus, seedIdPools, type CorpusOperation } from './corpus.ts';
import { comparable, isClean, type RawAnswer } from './compare.ts';
import { both, describeMismatch, executedAsExpected, ExecutionLog, startStockGateway, type Sides } from './harness.ts';

const SEED = Number(process.env.DIFFERENTIAL_SEED ?? 7);
// 100 keeps the file near 35 s on 2 cores (each operation costs ~160 ms per gateway on FerretDB); 150 takes ~50 s.
const COUNT = Number(process.env.DIFFERENTIAL_COUNT ?? 100);

const supergraphSdl = readFileSync(new URL('../../../schema/supergraph.graphql', import.meta.url), 'utf8');
const schema = apiSchemaOf(supergraphSdl);
const corpus = generateCorpus(schema, seedIdPools(), { seed: SEED, count: COUNT });

let stack: Stack;
let stock: Awaited<ReturnType<typeof startStockGateway>>;
const executions = new ExecutionLog();
let oursUrl: string;
const gateways = (): Sides => ({ oursUrl, stockUrl: stock.url, executions });
/** Our answers, by operation name, for the check that the corpus is not vacuous. */
const answers = new Map<string, RawAnswer>();

beforeAll(async () => {
  stack = await startStack();
  // A gateway of the stack's that records what executed each request.
  oursUrl = `${(await stack.startGateway({ onExecute: executions.record })).url}graphql`;
  stock = await startStockGateway({
    supergraphSdl,
    urlOverrides: stack.subgraphUrls,
    subgraphHeaders: async (subgraph) => ({ [GATEWAY_TOKEN_HEADER]: await signGatewayToken(stack.gatewaySecret, ANONYMOUS, subgraph) }),
  });
});
afterAll(async () => {
  await stock?.stop();
  await stack?.stop();
});

describe(`corpus (seed ${SEED}, ${COUNT} operations)`, () => {
  it('is the same for the same seed and uses every feature it is meant to', () => {
    const again = generateCorpus(schema, seedIdPools(), { seed: SEED, count: COUNT });
    expect(again).toEqual(corpus);
    const text = corpus.map((op) => op.query).join('\n');
    for (const feature of [/\w+: \w+[({ ]/, /\.\.\. on \w+/, /^fragment F\d+ on/m, /@include\(if: \$/, /@skip\(if: \$/, /__typename/, /"no-such-id"/, /first: [123]/]) {
      expect(text, String(feature)).toMatch(feature);
    }
    expect(corpus.filter((op) => op.variables).length).toBeGreaterThan(COUNT / 5);
  });

  it('both gateways answer a known query with the seeded data', async () => {
    const op: CorpusOperation = { name: 'known', query: '{ networkSummary { memberCount smallMemberCount } }' };
    const answers = await both(gateways(), op);
    const expected = comparable({ status: 200, body: { data: { networkSummary: { memberCount: 1072, smallMemberCount: 1004 } } } });
    expect(answers.executed).toEqual({ executor: 'lean' });
    expect(comparable(answers.ours)).toBe(expected);
    expect(comparable(answers.stock)).toBe(expected);
  });

  it.each(corpus.map((op) => [op.name, op] as const))('%s', async (_name, op) => {
    const result = await both(gateways(), op);
    answers.set(op.name, result.ours);
    const why = describeMismatch(op, result);
    expect(executedAsExpected(result.executed, 'lean'), why).toBe(true);
    expect(comparable(result.ours), why).toBe(comparable(result.stock));
  });

  // Scenario: a broken stack (every subgraph call refused, say) would make both sides fail alike,
  // and the comparison of two identical errors says little about the executor.
  it('at least 95% of the corpus answers with data and no errors (the comparison is not vacuous)', () => {
    const clean = [...answers.values()].filter(isClean).length;
    const rest = [...answers]
      .filter(([, a]) => !isClean(a))
      .map(([name, a]) => `${name}: ${(a.body.errors ?? a.body.extensions?.valueCompletion ?? []).map((e) => `${String(e.extensions?.['code'])} ${e.message.slice(0, 60)}`).join(', ')}`);
    console.info(`[corpus] seed ${SEED}: ${clean}/${COUNT} answers with data and no errors; the rest: ${rest.join('; ') || 'none'}`);
    expect(answers.size).toBe(COUNT);
    expect(clean / COUNT).toBeGreaterThanOrEqual(0.95);
  });
});
