/**
 * The lean executor's correctness gate, edge cases: for every small supergraph of supergraphs/, the same
 * operations go over HTTP to our gateway (its default executor) and to stock Apollo Server +
 * @apollo/gateway over the same running subgraphs; the answers must be the same (compare.ts says
 * exactly what that means) and ours must have executed each one as the operation declares (the
 * lean executor unless it says otherwise, harness.ts). Where stock is known to be wrong, a
 * separate test documents why and requires a right answer from ours. Each case's queries also go
 * to ours with `@defer` at generated positions (defer.ts): the payloads merged must be the answer
 * without `@defer`, of ours and of stock.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { KeyStore } from '../../../gateway/access/keys.ts';
import { connect } from '../../../lib/mongo.ts';
import { comparable, matches, showExpected } from './compare.ts';
import { deferVariants, mergedOf, sendDeferred } from './defer.ts';
import {
  both,
  compose,
  describeMismatch,
  executedAsExpected,
  startGateways,
  startSubgraphs,
  type DifferentialCase,
  type Gateways,
  type RunningSubgraphs,
} from './harness.ts';
import { CASES } from './supergraphs/index.ts';

/** A throwaway gateway database with one API key for `caller`; the key's header and a cleanup. */
async function apiKey(caller: NonNullable<DifferentialCase['caller']>) {
  const client = await connect(inject('mongoUri'));
  const accessDb = client.db(`diff_${randomBytes(5).toString('hex')}_gateway`);
  const keys = new KeyStore(accessDb, { cacheMs: 0 });
  await keys.init();
  const { key } = await keys.create({ name: 'differential', role: caller.role, subgraphs: caller.subgraphs });
  return {
    accessDb,
    headers: { 'x-api-key': key },
    close: async () => {
      await accessDb.dropDatabase().catch(() => {});
      await client.close();
    },
  };
}

function running(c: DifferentialCase): { gw: () => Gateways } {
  let subgraphs: RunningSubgraphs | undefined;
  let gateways: Gateways | undefined;
  let key: Awaited<ReturnType<typeof apiKey>> | undefined;
  beforeAll(async () => {
    subgraphs = await startSubgraphs(c.subgraphs);
    const urls = subgraphs.urls;
    const sdl = compose(c.subgraphs.map((s) => ({ name: s.name, typeDefs: s.typeDefs, url: urls[s.name]! })));
    if (c.caller) key = await apiKey(c.caller);
    const started = await startGateways(sdl, urls, { ...c.oursOptions, ...(key ? { accessDb: key.accessDb } : {}) });
    gateways = { ...started, ...(key ? { oursHeaders: key.headers } : {}) };
  });
  afterAll(async () => {
    await gateways?.stop();
    await subgraphs?.stop();
    await key?.close();
  });
  return { gw: () => gateways! };
}

/**
 * Every operation of the suite that the lean executor leaves to stock by design (its cases say
 * which and why): one more must be added here on purpose, and each one's test checks that stock
 * ran it for that reason.
 */
const LEFT_TO_STOCK = [
  'fragments and aliases / aliases named after Object.prototype members',
  'introspection / introspection mixed with data',
  'names of Object.prototype members / inherited names as fields, one of them from another subgraph',
  'names of Object.prototype members / a query without those fields (the whole supergraph goes to stock)',
];

describe('the suite', () => {
  it('leaves to stock, by design, exactly the listed operations', () => {
    const declared = CASES.flatMap((c) =>
      [...c.operations, ...(c.stockWrong ?? []).map((w) => w.operation)].filter((op) => typeof op.executor === 'object').map((op) => `${c.name} / ${op.name}`),
    );
    expect(declared).toEqual(LEFT_TO_STOCK);
  });

  it('is described in the docs with its number of edge-case supergraphs', () => {
    for (const doc of ['docs/performance.md', 'docs/testing.md']) {
      const text = readFileSync(new URL(`../../../${doc}`, import.meta.url), 'utf8');
      expect(text, doc).toContain(`${CASES.length} edge cases`);
      expect(text.match(/\b\d+ edge[- ]cases?\b/g), doc).toEqual([`${CASES.length} edge cases`]);
    }
  });
});

/** The @defer variants sent, and how many of them were answered in more than one payload. */
const deferred = { variants: 0, incremental: 0 };

for (const c of CASES) {
  describe(`${c.name} (${c.about})`, () => {
    const { gw } = running(c);

    for (const op of c.operations) {
      it(op.name, async () => {
        const answers = await both(gw(), op);
        const why = describeMismatch(op, answers);
        expect(executedAsExpected(answers.executed, op.executor), why).toBe(true);
        expect(comparable(answers.ours), why).toBe(comparable(answers.stock));
      });
    }

    // Scenario: a client adds @defer to the same queries; whatever the lean executor defers, the
    // parts must add up to the one answer, and the case must have deferred something.
    it('with @defer at generated positions, the parts add up to the answer without @defer', async () => {
      const mismatches: string[] = [];
      let incremental = 0;
      let variants = 0;
      for (const op of c.operations.filter((o) => (o.executor ?? 'lean') === 'lean')) {
        const plain = await both(gw(), op);
        const [ours, stock] = [mergedOf(plain.ours), mergedOf(plain.stock)];
        for (const variant of deferVariants(op)) {
          variants++;
          const requestId = gw().executions.nextId();
          const merged = await sendDeferred(gw().oursUrl, variant, { ...gw().oursHeaders, 'x-request-id': requestId });
          const executed = gw().executions.take(requestId);
          if (merged.payloads > 1) incremental++;
          // Where a null stopped at a deferred part's boundary the answers differ by design (defer.ts).
          if (merged.nulledParts > 0) continue;
          const { payloads: _p, nulledParts: _n, ...answer } = merged;
          const same = (other: typeof ours) => isDeepStrictEqual(answer, { status: other.status, data: other.data, errors: other.errors });
          if (executed?.executor !== 'lean' || !same(ours) || !same(stock)) {
            mismatches.push(`${variant.name}:\n${variant.query}\nexecuted: ${JSON.stringify(executed)}\nmerged: ${JSON.stringify(answer)}\nstock:  ${JSON.stringify(stock)}`);
          }
        }
      }
      deferred.variants += variants;
      deferred.incremental += incremental;
      expect(mismatches).toEqual([]);
    });

    for (const wrong of c.stockWrong ?? []) {
      // Scenario: stock's answer is documented as wrong; ours must be right.
      it(`stock is wrong: ${wrong.operation.name} — ${wrong.why}`, async () => {
        const answers = await both(gw(), wrong.operation);
        const why = `${describeMismatch(wrong.operation, answers)}\nright: ${showExpected(wrong.right)}`;
        expect(matches(answers.stock, wrong.stock), `stock no longer gives the documented wrong answer (update this case): ${JSON.stringify(answers.stock)}`).toBe(true);
        expect(executedAsExpected(answers.executed, wrong.operation.executor), why).toBe(true);
        expect(wrong.right.some((r) => matches(answers.ours, r)), why).toBe(true);
      });
    }
  });
}

// Scenario: variants answered merged (the planner could not defer them) compare trivially; most must
// really be incremental for the comparison to say something about the deferred parts.
describe('the @defer variants', () => {
  it('are mostly answered incrementally', () => {
    console.info(`[differential] @defer variants: ${deferred.incremental} of ${deferred.variants} answered incrementally`);
    expect(deferred.variants).toBeGreaterThan(100);
    expect(deferred.incremental / deferred.variants).toBeGreaterThan(0.8);
  });
});
