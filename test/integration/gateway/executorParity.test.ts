/**
 * What the lean executor does besides answering, compared with stock @apollo/gateway on the same
 * subgraphs (fixtures/executorGateways.ts): the OpenTelemetry spans it opens while a tracer
 * records (stock's, but for two it does not open), the query plan it shows
 * on request when the gateway is configured to (development) and logs in debug mode, the plan
 * it hands to `experimental_didResolveQueryPlan`, and the requests it leaves to stock because Apollo
 * usage reporting asked for their trace.
 *
 * This file only: the tracer provider is process-wide, and vitest runs each file on its own.
 */
import { HeaderMap } from '@apollo/server';
import { prettyFormatQueryPlan } from '@apollo/query-planner';
import type { GatewayConfig } from '@apollo/gateway';
import { NodeSDK, tracing } from '@opentelemetry/sdk-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExecutorGateways, type GatewayName } from './fixtures/executorGateways.ts';

const exporter = new tracing.InMemorySpanExporter();
const sdk = new NodeSDK({ spanProcessors: [new tracing.SimpleSpanProcessor(exporter)], instrumentations: [], metricReaders: [], logRecordProcessors: [] });

/** What each gateway logged at debug level. */
const debugLogs: Record<GatewayName, string[]> = { stock: [], lean: [], merging: [], separate: [] };
const logger = (name: GatewayName): NonNullable<GatewayConfig['logger']> => ({ debug: (m) => void debugLogs[name].push(String(m)), info: () => {}, warn: () => {}, error: () => {} });
/** What each gateway handed to experimental_didResolveQueryPlan. */
const resolvedPlans: Record<GatewayName, string[]> = { stock: [], lean: [], merging: [], separate: [] };
const gw = new ExecutorGateways((name) => ({
  __exposeQueryPlanExperimental: true,
  debug: true,
  logger: logger(name),
  experimental_didResolveQueryPlan: ({ queryPlan, serviceMap, operationContext, requestContext }) =>
    void resolvedPlans[name].push(
      JSON.stringify([prettyFormatQueryPlan(queryPlan), Object.keys(serviceMap).sort(), operationContext.operation.operation, requestContext.operationName]),
    ),
  telemetry: { includeDocument: true, recordExceptions: true },
}), [
  // As Apollo's usage reporting plugin does for the requests it samples: here, those that ask.
  {
    requestDidStart: async ({ request, metrics }) => {
      if (request.extensions?.['trace'] === true) metrics.captureTraces = true;
    },
  },
]);

beforeAll(async () => {
  sdk.start();
  await gw.start();
});
afterAll(async () => {
  await gw.stop();
  await sdk.shutdown();
});

interface Span {
  readonly name: string;
  readonly spanContext: () => { spanId: string };
  readonly parentSpanId?: string;
  readonly parentSpanContext?: { spanId: string };
  readonly attributes: Record<string, unknown>;
  readonly status: { code: number };
  readonly events: readonly { name: string; attributes?: Record<string, unknown> }[];
}

/**
 * Stock's spans the lean executor does not open: `gateway.validate` (it checks the variables in
 * the request span) and `gateway.postprocessing` (it shapes the response as execution finishes).
 */
const NOT_OPENED = new Set(['gateway.validate', 'gateway.postprocessing']);

/** The spans one request opened (but NOT_OPENED), as a sorted list of `parent > name`, attributes, status and events. */
function spanTree(spans: readonly Span[]): string[] {
  const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]));
  const kept = spans.filter((s) => !NOT_OPENED.has(s.name));
  return kept
    .map((s) => {
      const parent = byId.get(s.parentSpanContext?.spanId ?? s.parentSpanId ?? '')?.name ?? '(root)';
      const events = s.events.map((e) => `${e.name} ${String(e.attributes?.['exception.message'] ?? '')}`);
      return `${parent} > ${s.name} ${JSON.stringify(s.attributes)} status ${s.status.code} ${JSON.stringify(events)}`;
    })
    .sort();
}

/** One request to a gateway, with its spans. */
async function traced(gateway: 'stock' | 'lean', query: string, variables?: Record<string, unknown>) {
  exporter.reset();
  const answer = await gw.ask(gateway === 'stock' ? gw.stock : gw.lean, query, variables);
  return { answer, spans: spanTree(exporter.getFinishedSpans() as unknown as Span[]) };
}

describe('spans, while a tracer records', () => {
  const operations: [string, string, Record<string, unknown>?][] = [
    ['entity fetches in sequence and in parallel', '{ users { id name reviews { id product { upc name inStock shippingEstimate } } } }'],
    ['a named operation, planned once then from the plan store', 'query Named { products { upc name } }'],
    ['subgraph errors (the execute and request spans fail with them)', '{ failing users { id secretLevel } }'],
    ['invalid variables (the request span fails before planning)', 'query ($id: ID!) { user(id: $id) { name } }', {}],
    ['a plan condition', 'query ($on: Boolean!) { users { id reviews @include(if: $on) { id } } }', { on: false }],
  ];
  for (const [what, query, variables] of operations) {
    it(`the lean executor opens stock's spans: ${what}`, async () => {
      for (let round = 0; round < 2; round++) {
        const stock = await traced('stock', query, variables);
        const lean = await traced('lean', query, variables);
        expect(lean.answer.text).toBe(stock.answer.text);
        expect(lean.answer.executor).toBe(variables && Object.keys(variables).length === 0 ? undefined : 'lean');
        expect(lean.spans.length).toBeGreaterThan(0);
        expect(lean.spans).toEqual(stock.spans);
      }
    });
  }

  it('the same spans when the whole query is answered by stock (introspection)', async () => {
    const stock = await traced('stock', '{ __type(name: "User") { name } users { id } }');
    const lean = await traced('lean', '{ __type(name: "User") { name } users { id } }');
    expect(lean.answer.executor).toBe('stock');
    expect(lean.spans).toEqual(stock.spans);
  });
});

describe('the query plan, in development', () => {
  const withHeaders = (headers: Record<string, string>) => {
    const map = new HeaderMap();
    for (const [k, v] of Object.entries(headers)) map.set(k, v);
    return { method: 'POST', headers: map, search: '', body: {} };
  };
  const ask = async (gateway: 'stock' | 'lean', headers: Record<string, string>) => {
    const server = gateway === 'stock' ? gw.stock : gw.lean;
    const response = await server.executeOperation({ query: '{ products { upc inStock } }', http: withHeaders(headers) });
    if (response.body.kind !== 'single') throw new Error('expected a single result');
    return JSON.stringify(response.body.singleResult);
  };

  it('is shown as stock shows it, in each format asked for', async () => {
    for (const headers of <Record<string, string>[]>[
      { 'apollo-query-plan-experimental': '1' },
      { 'apollo-query-plan-experimental': '1', 'apollo-query-plan-experimental-format': 'internal' },
      { 'apollo-query-plan-experimental': '1', 'apollo-query-plan-experimental-format': 'other' },
      {},
    ]) {
      const stock = await ask('stock', headers);
      expect(await ask('lean', headers), JSON.stringify(headers)).toBe(stock);
    }
    expect(await ask('lean', { 'apollo-query-plan-experimental': '1' })).toMatch(/"__queryPlanExperimental":"QueryPlan \{/);
    expect(await ask('lean', {})).not.toMatch(/__queryPlanExperimental/);
  });

  it('is logged in debug mode as stock logs it', async () => {
    debugLogs.stock.length = 0;
    debugLogs.lean.length = 0;
    await gw.same('{ users { id reviews { body } } }');
    expect(debugLogs.lean.filter((m) => m.startsWith('QueryPlan'))).toEqual(debugLogs.stock.filter((m) => m.startsWith('QueryPlan')));
    expect(debugLogs.lean.some((m) => m.startsWith('QueryPlan {'))).toBe(true);
  });
});

describe('experimental_didResolveQueryPlan', () => {
  it('gets the plan, the subgraphs and the operation stock hands it', async () => {
    resolvedPlans.stock.length = 0;
    resolvedPlans.lean.length = 0;
    await gw.same('query Hook { users { id reviews { product { upc inStock } } } }');
    expect(resolvedPlans.lean).toHaveLength(1);
    expect(resolvedPlans.lean).toEqual(resolvedPlans.stock);
    expect(resolvedPlans.lean[0]).toMatch(/"accounts","inventory","products","reviews"\],"query","Hook"/);
  });
});

describe('usage-reporting traces', () => {
  it('leave the request to stock (which builds the trace), with the same answer', async () => {
    const query = '{ users { id reviews { product { upc inStock } } } failing }';
    const stock = await gw.ask(gw.stock, query, undefined, { trace: true });
    const lean = await gw.ask(gw.lean, query, undefined, { trace: true });
    expect(lean.execution).toEqual({ executor: 'stock', fallback: 'usage_traces' });
    expect(lean.text).toBe(stock.text);
    // The same plan again without a trace: the lean executor runs it.
    expect((await gw.ask(gw.lean, query)).execution).toEqual({ executor: 'lean' });
  });
});
