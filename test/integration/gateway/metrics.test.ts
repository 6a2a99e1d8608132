/**
 * Gateway metrics, for real: an Apollo Gateway over two tiny in-process subgraphs (one owns
 * `Town`, the other adds `Town.services`), with the metrics plugin and the counting query-plan
 * cache installed, answering operations over HTTP; then the Prometheus exposition is read back.
 */
import { ApolloGateway } from '@apollo/gateway';
import { composeServices } from '@apollo/composition';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { InMemoryLRUCache } from '@apollo/utils.keyvaluecache';
import { parse } from 'graphql';
import { register as globalRegistry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetrics, type GatewayMetrics, type QueryPlan } from '../../../gateway/metrics.ts';

const FEDERATION = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])';

const townsTypeDefs = parse(`${FEDERATION}
  type Query {
    town(code: ID!): Town
    "Always fails; nullable, so the rest of the answer survives."
    broken: String
    "Always fails; non-null, so the whole answer is lost."
    failing: String!
    "Answers when the test lets it, to observe a request in flight."
    slow: String
  }
  type Town @key(fields: "code") { code: ID! name: String! }
`);
const servicesTypeDefs = parse(`${FEDERATION}
  type Town @key(fields: "code") { code: ID! services: Int! }
`);

const TOWNS: Record<string, string> = { '001272': 'Torino', '004078': 'Cuneo' };

/** Resolved by the test to let the pending `slow` field answer. */
let releaseSlow: () => void = () => {};
let slowStarted: () => void = () => {};

const towns = new ApolloServer({
  schema: buildSubgraphSchema([
    {
      typeDefs: townsTypeDefs,
      resolvers: {
        Query: {
          town: (_: unknown, { code }: { code: string }) => (TOWNS[code] ? { code, name: TOWNS[code] } : null),
          broken: () => {
            throw new Error('broken on purpose');
          },
          failing: () => {
            throw new Error('failing on purpose');
          },
          slow: () =>
            new Promise<string>((resolve) => {
              releaseSlow = () => resolve('done');
              slowStarted();
            }),
        },
        Town: { __resolveReference: ({ code }: { code: string }) => ({ code, name: TOWNS[code] }) },
      },
    },
  ]),
  plugins: [ApolloServerPluginInlineTraceDisabled()],
});
const services = new ApolloServer({
  schema: buildSubgraphSchema([
    {
      typeDefs: servicesTypeDefs,
      resolvers: { Town: { __resolveReference: ({ code }: { code: string }) => ({ code, services: code.length }) } },
    },
  ]),
  plugins: [ApolloServerPluginInlineTraceDisabled()],
});

let metrics: GatewayMetrics;
let gatewayServer: ApolloServer;
let gatewayUrl: string;

beforeAll(async () => {
  const listen = { port: 0, host: '127.0.0.1' };
  const townsUrl = (await startStandaloneServer(towns, { listen })).url;
  const servicesUrl = (await startStandaloneServer(services, { listen })).url;
  const composed = composeServices([
    { name: 'towns', typeDefs: townsTypeDefs, url: townsUrl },
    { name: 'services', typeDefs: servicesTypeDefs, url: servicesUrl },
  ]);
  if (composed.errors) throw new Error(composed.errors.map((e) => e.message).join('\n'));

  // The stock gateway otherwise probes cloud metadata addresses; only loopback is allowed here.
  process.env.APOLLO_TELEMETRY_DISABLED = 'true';
  metrics = createMetrics();
  const gateway = new ApolloGateway({
    supergraphSdl: composed.supergraphSdl,
    queryPlannerConfig: { cache: metrics.wrapQueryPlanCache(new InMemoryLRUCache<QueryPlan>()) },
  });
  gatewayServer = new ApolloServer({ gateway, plugins: [metrics.plugin] });
  gatewayUrl = (await startStandaloneServer(gatewayServer, { listen })).url;
});

afterAll(async () => {
  metrics?.stop();
  await gatewayServer?.stop();
  await Promise.all([towns.stop(), services.stop()]);
});

async function post(body: unknown): Promise<{ status: number; body: { data?: unknown; errors?: unknown[] } }> {
  const res = await fetch(gatewayUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as { data?: unknown; errors?: unknown[] } };
}

interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** The samples of a Prometheus text exposition. */
function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}

/** Value of the one sample of `name` whose labels include `labels`; undefined when absent. */
async function value(m: GatewayMetrics, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const matches = parseExposition((await m.render()).body).filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v) && Object.keys(s.labels).length === Object.keys(labels).length,
  );
  if (matches.length > 1) throw new Error(`${name} ${JSON.stringify(labels)} matches ${matches.length} samples`);
  return matches[0]?.value;
}

describe('request metrics through the gateway', () => {
  it('counts requests by operation name and outcome, and times them', async () => {
    const ok = await post({ query: 'query TownWithServices { town(code: "001272") { name services } }' });
    expect(ok.body).toEqual({ data: { town: { name: 'Torino', services: 6 } } });
    await post({ query: '{ town(code: "004078") { name } }' });
    const partial = await post({ query: 'query TownAndBroken { town(code: "004078") { name } broken }' });
    expect(partial.body.data).toEqual({ town: { name: 'Cuneo' }, broken: null });
    const failed = await post({ query: 'query Failing { failing }' });
    expect(failed.body.data).toBeNull();
    const invalid = await post({ query: 'query NoSuchField { nope }' });
    expect(invalid.status).toBe(400);
    await post({ query: '{ town(code: ' }); // syntax error
    const badVariables = await post({ query: 'query TownByCode($code: ID!) { town(code: $code) { name } }', variables: {} });
    expect(badVariables.status).toBe(400);

    const total = 'ali_gateway_requests_total';
    expect(await value(metrics, total, { operation: 'TownWithServices', outcome: 'success' })).toBe(1);
    expect(await value(metrics, total, { operation: 'anonymous', outcome: 'success' })).toBe(1);
    expect(await value(metrics, total, { operation: 'TownAndBroken', outcome: 'partial' })).toBe(1);
    expect(await value(metrics, total, { operation: 'Failing', outcome: 'error' })).toBe(1);
    // Rejected before an operation resolved: the client's name is not trusted as a label.
    expect(await value(metrics, total, { operation: 'other', outcome: 'invalid' })).toBe(2);
    expect(await value(metrics, total, { operation: 'NoSuchField', outcome: 'invalid' })).toBeUndefined();
    // Executed, but refused for its variables: the client's mistake too.
    expect(await value(metrics, total, { operation: 'TownByCode', outcome: 'invalid' })).toBe(1);

    const duration = 'ali_gateway_request_duration_seconds';
    expect(await value(metrics, `${duration}_count`, { operation: 'TownWithServices' })).toBe(1);
    expect(await value(metrics, `${duration}_sum`, { operation: 'TownWithServices' })).toBeGreaterThan(0);
    expect(await value(metrics, `${duration}_bucket`, { operation: 'TownWithServices', le: '+Inf' })).toBe(1);
    expect(await value(metrics, `${duration}_count`, { operation: 'other' })).toBe(2);
  });

  it('counts a query-plan cache miss, then a hit for the same operation', async () => {
    const lookups = 'ali_gateway_query_plan_cache_lookups_total';
    const before = { hit: (await value(metrics, lookups, { result: 'hit' }))!, miss: (await value(metrics, lookups, { result: 'miss' }))! };
    const op = { query: 'query CachedPlan { town(code: "001272") { code services } }' };
    await post(op);
    expect(await value(metrics, lookups, { result: 'miss' })).toBe(before.miss + 1);
    expect(await value(metrics, lookups, { result: 'hit' })).toBe(before.hit);
    await post(op);
    expect(await value(metrics, lookups, { result: 'miss' })).toBe(before.miss + 1);
    expect(await value(metrics, lookups, { result: 'hit' })).toBe(before.hit + 1);
  });

  it('shows a request in flight while it runs, and 0 once answered', async () => {
    const inFlight = 'ali_gateway_requests_in_flight';
    expect(await value(metrics, inFlight)).toBe(0);
    const started = new Promise<void>((resolve) => (slowStarted = resolve));
    const pending = post({ query: 'query Slow { slow }' });
    await started;
    expect(await value(metrics, inFlight)).toBe(1);
    releaseSlow();
    expect((await pending).body).toEqual({ data: { slow: 'done' } });
    expect(await value(metrics, inFlight)).toBe(0);
  });

  it('counts a request Apollo Server rejects before GraphQL processing', async () => {
    const before = (await value(metrics, 'ali_gateway_requests_total', { operation: 'other', outcome: 'invalid' })) ?? 0;
    const res = await post({ query: 42 });
    expect(res.status).toBe(400);
    expect(await value(metrics, 'ali_gateway_requests_total', { operation: 'other', outcome: 'invalid' })).toBe(before + 1);
    expect(await value(metrics, 'ali_gateway_requests_in_flight')).toBe(0);
  });
});

describe('runtime metrics', () => {
  it('exposes prom-client default metrics, event-loop lag included, on the gateway registry only', async () => {
    const { contentType, body } = await metrics.render();
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    const lag = parseExposition(body).find((s) => s.name === 'nodejs_eventloop_lag_seconds');
    expect(lag?.value).toBeGreaterThanOrEqual(0);
    expect(body).toMatch(/^nodejs_eventloop_lag_p99_seconds \d/m);
    expect(body).toMatch(/^process_cpu_seconds_total \d/m);
    expect(await globalRegistry.getSingleMetric('ali_gateway_requests_total')).toBeUndefined();
    expect(await globalRegistry.getSingleMetric('nodejs_eventloop_lag_seconds')).toBeUndefined();
  });

  it('lets several gateways keep metrics in one process without colliding', async () => {
    const a = createMetrics();
    const b = createMetrics();
    a.subgraphFetch('towns', 0.1, 'ok');
    expect(await value(a, 'ali_gateway_subgraph_fetch_duration_seconds_count', { subgraph: 'towns', outcome: 'ok' })).toBe(1);
    expect(await value(b, 'ali_gateway_subgraph_fetch_duration_seconds_count', { subgraph: 'towns', outcome: 'ok' })).toBeUndefined();
    a.stop();
    a.stop();
    b.stop();
    // Still renders after stop (the last scrape during shutdown).
    expect((await a.render()).body).toContain('ali_gateway_subgraph_fetch_duration_seconds');
  });

  it('uses the given prefix for its own series', async () => {
    const m = createMetrics({ prefix: 'test_gw_' });
    m.circuitState('towns', 'open');
    expect(await value(m, 'test_gw_subgraph_circuit_state', { subgraph: 'towns' })).toBe(2);
    m.stop();
  });
});

describe('subgraph fetches and circuits', () => {
  it('records fetch durations by subgraph and outcome, and counts every outcome but ok as an error', async () => {
    const m = createMetrics();
    m.subgraphFetch('services', 0.2, 'ok');
    m.subgraphFetch('services', 0.03, 'ok');
    m.subgraphFetch('services', 30, 'timeout');
    m.subgraphFetch('services', 0, 'circuit_open');
    m.subgraphFetch('services', 0.01, 'error');
    const duration = 'ali_gateway_subgraph_fetch_duration_seconds';
    expect(await value(m, `${duration}_count`, { subgraph: 'services', outcome: 'ok' })).toBe(2);
    expect(await value(m, `${duration}_bucket`, { subgraph: 'services', outcome: 'ok', le: '0.05' })).toBe(1);
    expect(await value(m, `${duration}_bucket`, { subgraph: 'services', outcome: 'ok', le: '0.25' })).toBe(2);
    expect(await value(m, `${duration}_bucket`, { subgraph: 'services', outcome: 'timeout', le: '30' })).toBe(1);
    const errors = 'ali_gateway_subgraph_fetch_errors_total';
    expect(await value(m, errors, { subgraph: 'services', outcome: 'timeout' })).toBe(1);
    expect(await value(m, errors, { subgraph: 'services', outcome: 'circuit_open' })).toBe(1);
    expect(await value(m, errors, { subgraph: 'services', outcome: 'error' })).toBe(1);
    expect(await value(m, errors, { subgraph: 'services', outcome: 'ok' })).toBeUndefined();
    m.stop();
  });

  it('starts a subgraph error series at 0, so the first failure is an increase', async () => {
    const m = createMetrics();
    m.subgraphFetch('towns', 0.05, 'ok');
    expect(await value(m, 'ali_gateway_subgraph_fetch_errors_total', { subgraph: 'towns', outcome: 'timeout' })).toBe(0);
    m.stop();
  });

  it('shows the circuit state as 0 closed, 1 half_open, 2 open', async () => {
    const m = createMetrics();
    const state = 'ali_gateway_subgraph_circuit_state';
    m.circuitState('services', 'open');
    expect(await value(m, state, { subgraph: 'services' })).toBe(2);
    m.circuitState('services', 'half_open');
    expect(await value(m, state, { subgraph: 'services' })).toBe(1);
    m.circuitState('services', 'closed');
    expect(await value(m, state, { subgraph: 'services' })).toBe(0);
    m.stop();
  });
});

describe('operation label cardinality', () => {
  // A caller sending ever new operation names must not grow the series without bound.
  it('gives the first N names their own label and folds later new names into other', async () => {
    const m = createMetrics({ maxOperationNames: 3 });
    const server = new ApolloServer({ typeDefs: 'type Query { hello: String }', resolvers: { Query: { hello: () => 'hi' } }, plugins: [m.plugin] });
    await server.start();
    try {
      for (let i = 1; i <= 6; i++) await server.executeOperation({ query: `query Op${i} { hello }` });
      await server.executeOperation({ query: 'query Op1 { hello }' });
      const names = parseExposition((await m.render()).body)
        .filter((s) => s.name === 'ali_gateway_requests_total')
        .map((s) => [s.labels.operation, s.value]);
      expect(Object.fromEntries(names)).toEqual({ Op1: 2, Op2: 1, Op3: 1, other: 3 });
    } finally {
      await server.stop();
      m.stop();
    }
  });
});
