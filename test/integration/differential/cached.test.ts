/**
 * The correctness gate with the caches on: the generated corpus (corpus.ts) goes to stock Apollo
 * Server + @apollo/gateway and, twice, to our gateway with its fetch and response caches in memory;
 * both of our answers must be stock's (compare.ts), the second one mostly from the caches. A
 * different seed from corpus.test.ts's, so that the two files cover more operations together.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANONYMOUS, GATEWAY_TOKEN_HEADER, signGatewayToken } from '../../../lib/access.ts';
import type { RunningGateway } from '../../../gateway/runtime.ts';
import { startStack, type Stack } from '../../helpers/stack.ts';
import { apiSchemaOf, generateCorpus, seedIdPools } from './corpus.ts';
import { comparable } from './compare.ts';
import { both, describeMismatch, ExecutionLog, startStockGateway, type BothAnswers, type Sides } from './harness.ts';

const SEED = Number(process.env.DIFFERENTIAL_SEED ?? 7) + 1;
const COUNT = 60;

const supergraphSdl = readFileSync(new URL('../../../schema/supergraph.graphql', import.meta.url), 'utf8');
const corpus = generateCorpus(apiSchemaOf(supergraphSdl), seedIdPools(), { seed: SEED, count: COUNT });

let stack: Stack;
let stock: Awaited<ReturnType<typeof startStockGateway>>;
let cached: RunningGateway;
const executions = new ExecutionLog();
const gateways = (): Sides => ({ oursUrl: `${cached.url}graphql`, stockUrl: stock.url, executions });

beforeAll(async () => {
  stack = await startStack();
  cached = await stack.startGateway({ cache: 'memory', onExecute: executions.record });
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

/**
 * Both answers; asked again when stock's lost its subgraph connection (node-fetch reusing a
 * keep-alive socket the subgraph just closed: ECONNRESET, socket hang up), which says nothing of ours.
 */
async function steady(op: (typeof corpus)[number]): Promise<BothAnswers> {
  let answers = await both(gateways(), op);
  for (let retry = 0; retry < 2 && /request to .* failed/.test(JSON.stringify(answers.stock.body.errors ?? [])); retry++) answers = await both(gateways(), op);
  return answers;
}

describe(`corpus with the caches on (seed ${SEED}, ${COUNT} operations)`, () => {
  it.each(corpus.map((op) => [op.name, op] as const))('%s', async (_name, op) => {
    const first = await steady(op);
    expect(comparable(first.ours), describeMismatch(op, first)).toBe(comparable(first.stock));
    const again = await steady(op);
    expect(comparable(again.ours), describeMismatch(op, again)).toBe(comparable(again.stock));
  });

  it('answered most of the corpus the second time from the response cache', async () => {
    const lookups = (await cached.metrics.registry.getSingleMetric('ali_gateway_cache_lookups_total')!.get()).values;
    const hits = lookups.filter((v) => v.labels['layer'] === 'response' && v.labels['result'] === 'hit').reduce((n, v) => n + v.value, 0);
    expect(hits).toBeGreaterThan(COUNT / 2);
  });
});
