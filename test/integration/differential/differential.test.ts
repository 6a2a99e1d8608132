/**
 * The lean executor's correctness gate, edge cases: for every small supergraph of supergraphs/, the same
 * operations go over HTTP to our gateway (its default executor) and to stock Apollo Server +
 * @apollo/gateway over the same running subgraphs, and the answers must agree (harness.ts says
 * exactly what is compared). Where stock is known to be wrong, a separate test documents why and
 * checks that ours gives the stock answer or a right one, nothing else; with
 * DIFFERENTIAL_REQUIRE_RIGHT=1 ours must give a right one.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { KeyStore } from '../../../gateway/access/keys.ts';
import { connect } from '../../../lib/mongo.ts';
import {
  both,
  comparable,
  compose,
  describeMismatch,
  matches,
  showExpected,
  startGateways,
  startSubgraphs,
  type DifferentialCase,
  type Gateways,
  type RunningSubgraphs,
} from './harness.ts';
import { CASES } from './supergraphs/index.ts';

const REQUIRE_RIGHT = process.env.DIFFERENTIAL_REQUIRE_RIGHT === '1';

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

for (const c of CASES) {
  describe(`${c.name} (${c.about})`, () => {
    const { gw } = running(c);

    for (const op of c.operations) {
      it(op.name, async () => {
        const { ours, stock } = await both(gw(), op);
        expect(comparable(ours), describeMismatch(op, ours, stock)).toEqual(comparable(stock));
      });
    }

    for (const wrong of c.stockWrong ?? []) {
      // Scenario: stock's answer is documented as wrong; ours may only keep it or be right.
      it(`stock is wrong: ${wrong.operation.name} — ${wrong.why}`, async () => {
        const { ours, stock } = await both(gw(), wrong.operation);
        expect(matches(stock, wrong.stock), `stock no longer gives the documented wrong answer (update this case): ${JSON.stringify(stock)}`).toBe(true);
        const right = wrong.right.some((r) => matches(ours, r));
        const allowed = right || (!REQUIRE_RIGHT && matches(ours, wrong.stock));
        expect(allowed, `${describeMismatch(wrong.operation, ours, stock)}\nright: ${showExpected(wrong.right)}`).toBe(true);
      });
    }
  });
}
