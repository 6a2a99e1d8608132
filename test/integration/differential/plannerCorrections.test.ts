/**
 * The corrections of Apollo's query planner (gateway/apollo/planner.ts), beyond the differential
 * suite (which runs our default executor against stock Apollo):
 *
 * - the cases where stock is wrong and the corrections make us right answer right on BOTH our
 *   executors, the lean one and stock @apollo/gateway's (GATEWAY_EXECUTOR=stock), which run the
 *   same corrected plan; and every other operation of those supergraphs answers as stock Apollo;
 * - the corrections change nothing else: the plan of every other operation of every edge-case
 *   supergraph, and of the generated corpus over our own supergraph, is byte for byte the plan
 *   stock's planner makes (and the corrected operations' plans are not, so the comparison can fail).
 */
import { readFileSync } from 'node:fs';
import { operationFromDocument, Supergraph } from '@apollo/federation-internals';
import { QueryPlanner, type QueryPlan } from '@apollo/query-planner';
import { parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { correctPlanner } from '../../../gateway/apollo/planner.ts';
import type { ExecutorKind } from '../../../gateway/executor/index.ts';
import { startGateway, type RunningGateway } from '../../../gateway/runtime.ts';
import { apiSchemaOf, generateCorpus, seedIdPools } from './corpus.ts';
import {
  comparable,
  compose,
  describeMismatch,
  matches,
  normalise,
  send,
  showExpected,
  startStockGateway,
  startSubgraphs,
  type DiffOperation,
  type DifferentialCase,
  type RunningSubgraphs,
} from './harness.ts';
import { CASES } from './supergraphs/index.ts';
import { requiresCase } from './supergraphs/requires.ts';
import { requiresArgumentsCase } from './supergraphs/requiresArguments.ts';
import { requiresConflictsCase } from './supergraphs/requiresConflicts.ts';
import { resolvableKeysCase } from './supergraphs/resolvableKeys.ts';
import { unresolvableFieldsCase } from './supergraphs/unresolvableFields.ts';

/** The supergraphs with stock-wrong operations the corrections answer right. */
const CORRECTED: readonly DifferentialCase[] = [resolvableKeysCase, unresolvableFieldsCase, requiresArgumentsCase, requiresConflictsCase, requiresCase];
const EXECUTORS: readonly ExecutorKind[] = ['lean', 'stock'];

for (const c of CORRECTED) {
  describe(`${c.name}: right on both executors`, () => {
    let subgraphs: RunningSubgraphs | undefined;
    let stockApollo: Awaited<ReturnType<typeof startStockGateway>> | undefined;
    const ours = new Map<ExecutorKind, RunningGateway>();
    beforeAll(async () => {
      subgraphs = await startSubgraphs(c.subgraphs);
      const urls = subgraphs.urls;
      const supergraphSdl = compose(c.subgraphs.map((s) => ({ name: s.name, typeDefs: s.typeDefs, url: urls[s.name]! })));
      for (const executor of EXECUTORS) ours.set(executor, await startGateway({ supergraph: { sdl: supergraphSdl }, urlOverrides: urls, port: 0, host: '127.0.0.1', executor }));
      stockApollo = await startStockGateway({ supergraphSdl });
    });
    afterAll(async () => {
      await Promise.all([...ours.values()].map((g) => g.stop(0)));
      await stockApollo?.stop();
      await subgraphs?.stop();
    });
    const ask = (executor: ExecutorKind, op: DiffOperation) => send(`${ours.get(executor)!.url}graphql`, op).then(normalise);

    for (const executor of EXECUTORS) {
      for (const wrong of c.stockWrong ?? []) {
        it(`${executor} executor: ${wrong.operation.name}`, async () => {
          const answer = await ask(executor, wrong.operation);
          expect(wrong.right.some((r) => matches(answer, r)), `${JSON.stringify(answer)}\nright: ${showExpected(wrong.right)}`).toBe(true);
        });
      }
      it(`${executor} executor: every other operation as stock Apollo`, async () => {
        for (const op of c.operations) {
          const [answer, theirs] = await Promise.all([ask(executor, op), send(stockApollo!.url, op).then(normalise)]);
          expect(comparable(answer), describeMismatch(op, answer, theirs)).toEqual(comparable(theirs));
        }
      });
    }
  });
}

describe('the corrected plan is cached with the plan', () => {
  for (const executor of EXECUTORS) {
    it(`${executor} executor: planned once, its separated fetches sent for every request`, async () => {
      const subgraphs = await startSubgraphs(requiresConflictsCase.subgraphs);
      const urls = subgraphs.urls;
      const supergraphSdl = compose(requiresConflictsCase.subgraphs.map((s) => ({ name: s.name, typeDefs: s.typeDefs, url: urls[s.name]! })));
      const sent: { subgraph: string; query: string }[] = [];
      const onSubgraphRequest = (subgraph: string, query: string) => void sent.push({ subgraph, query });
      const gateway = await startGateway({ supergraph: { sdl: supergraphSdl }, urlOverrides: urls, port: 0, host: '127.0.0.1', executor, onSubgraphRequest });
      try {
        const [wrong] = requiresConflictsCase.stockWrong!;
        for (let i = 0; i < 2; i++) {
          const answer = normalise(await send(`${gateway.url}graphql`, wrong!.operation));
          expect(wrong!.right.some((r) => matches(answer, r)), JSON.stringify(answer)).toBe(true);
        }
        expect(sent.filter(({ query }) => query.includes('price__req0:price(currency:USD)'))).toHaveLength(2);
        // The dependent fetch split in two: the lean executor still sends them as one request.
        expect(sent.filter(({ subgraph }) => subgraph === 'shipping')).toHaveLength(executor === 'lean' ? 2 : 4);
        const { body } = await gateway.metrics.render();
        expect(body).toMatch(/query_plan_cache_lookups_total\{result="miss"\} 1\n/);
        expect(body).toMatch(/query_plan_cache_lookups_total\{result="hit"\} 1\n/);
      } finally {
        await gateway.stop(0);
        await subgraphs.stop();
      }
    });
  }
});

/**
 * Operations of the other edge cases whose plans the corrections change, and why their answers
 * do not: the differential suite checks that they answer as stock.
 */
const PLANNED_OTHERWISE: Readonly<Record<string, readonly string[]>> = {
  // The client's weight (grams) and shippingEstimate's weight(unit: KILOGRAM), as in the documented
  // stock-wrong case: planned apart, but the weight fails in the owning subgraph either way, and
  // the requirement's error is reported once on `weight`, as stock reports it.
  '@requires': ['required field failed in the owning subgraph'],
};

/** A plan as bytes (its JSON, document nodes included), or the error planning raised. */
function bytes(plan: () => QueryPlan): string {
  try {
    return JSON.stringify(plan());
  } catch (err) {
    return `refused: ${(err as Error).message}`;
  }
}

function planners(supergraphSdl: string) {
  const supergraph = Supergraph.build(supergraphSdl);
  const stock = new QueryPlanner(supergraph);
  const corrected = new QueryPlanner(supergraph);
  const warnings: string[] = [];
  correctPlanner(corrected, (message) => warnings.push(message));
  const plan = (planner: QueryPlanner, op: Pick<DiffOperation, 'query' | 'operationName'>) =>
    planner.buildQueryPlan(operationFromDocument(supergraph.apiSchema(), parse(op.query), op.operationName ? { operationName: op.operationName } : {}));
  return { stock: (op: DiffOperation) => bytes(() => plan(stock, op)), corrected: (op: DiffOperation) => bytes(() => plan(corrected, op)), warnings };
}

const composed = (c: DifferentialCase) => compose(c.subgraphs.map((s) => ({ name: s.name, typeDefs: s.typeDefs, url: `http://${s.name}.invalid/graphql` })));

describe('plans the corrections leave alone', () => {
  for (const c of CASES) {
    it(`${c.name}: every other operation's plan is stock's, byte for byte`, () => {
      const { stock, corrected, warnings } = planners(composed(c));
      const others = [...c.operations, ...(CORRECTED.includes(c) ? [] : (c.stockWrong ?? []).map((w) => w.operation))];
      for (const op of others) {
        if (PLANNED_OTHERWISE[c.name]?.includes(op.name)) expect(corrected(op), op.name).not.toBe(stock(op));
        else expect(corrected(op), op.name).toBe(stock(op));
      }
      expect(warnings).toEqual([]);
    });
  }

  it('the corrected operations are planned otherwise (the comparison above can fail)', () => {
    for (const c of CORRECTED) {
      const { stock, corrected } = planners(composed(c));
      for (const { operation } of c.stockWrong ?? []) expect(corrected(operation), operation.name).not.toBe(stock(operation));
    }
  });

  it('the 100 operations of the corpus over our own supergraph: plans byte for byte stock’s', () => {
    const supergraphSdl = readFileSync(new URL('../../../schema/supergraph.graphql', import.meta.url), 'utf8');
    const corpus = generateCorpus(apiSchemaOf(supergraphSdl), seedIdPools(), { seed: 7, count: 100 });
    const { stock, corrected, warnings } = planners(supergraphSdl);
    expect(corpus).toHaveLength(100);
    for (const op of corpus) expect(corrected(op), op.name).toBe(stock(op));
    expect(warnings).toEqual([]);
  });
});
