/**
 * The gateway over subgraphs that hang, die and come back: two small Apollo subgraphs
 * (`alliances`, `funding`) and an Apollo Gateway using SubgraphDataSource, all on 127.0.0.1
 * port 0, real HTTP throughout. Every test counts what reached the subgraphs.
 *
 * The subgraphs are served by node:http around `ApolloServer.executeHTTPGraphQLRequest` rather
 * than `startStandaloneServer`, whose stop drains gracefully: these tests need to kill a subgraph
 * abruptly (every socket destroyed, as when its process dies), hold a request open, and bring the
 * subgraph back on the same port.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { composeServices } from '@apollo/composition';
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer, HeaderMap } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { GraphQLError, parse } from 'graphql';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { GatewayContext } from '../../../gateway/context.ts';
import { createSigner } from '../../../gateway/access/signer.ts';
import { SubgraphDataSource, SubgraphPools, type CircuitState } from '../../../gateway/transport/index.ts';
import { ANONYMOUS, GATEWAY_TOKEN_HEADER, verifyGatewayToken } from '../../../lib/access.ts';

/** Signs the callers of these systems; the test header `x-test-caller` names a partner caller. */
const SECRET = 'resilience-test-secret-0123456789abcdef';
const callerSub = async (headers: IncomingHttpHeaders, subgraph: string) =>
  (await verifyGatewayToken(SECRET, headers[GATEWAY_TOKEN_HEADER] as string | undefined, subgraph)).sub;

// ---------------------------------------------------------------------------------------------
// Subgraphs

const ALLIANCES_SDL = /* GraphQL */ `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
  type Query {
    alliances: [Alliance!]!
    municipalities: [Municipality!]!
  }
  type Mutation {
    renameAlliance(id: ID!, name: String!): Alliance
  }
  type Alliance @key(fields: "id") {
    id: ID!
    name: String!
  }
  type Municipality {
    istatCode: ID!
    name: String!
    alliance: Alliance!
  }
`;

const FUNDING_SDL = /* GraphQL */ `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
  type Query {
    fundingSources: [String!]
  }
  type Alliance @key(fields: "id") {
    id: ID!
    budget: String
  }
`;

const ALLIANCES = [
  { id: 'ali-cn', name: 'ALI Cuneo' },
  { id: 'ali-to', name: 'ALI Torino' },
  { id: 'ali-vc', name: 'ALI Vercelli' },
];
// Twelve Comuni, four per alliance, interleaved: the executor sends twelve representations for
// three distinct alliances.
const MUNICIPALITIES = ['Alba', 'Chieri', 'Borgosesia', 'Bra', 'Ivrea', 'Santhià', 'Fossano', 'Pinerolo', 'Trino', 'Mondovì', 'Rivoli', 'Varallo'].map(
  (name, i) => ({ istatCode: String(4001 + i), name, allianceId: ALLIANCES[i % 3]!.id }),
);
/** Funding publishes no budget for ali-vc: resolving it is an error on that representation. */
const BUDGETS: Record<string, string> = { 'ali-cn': '1299390.00', 'ali-to': '812000.00' };

const alliancesResolvers = {
  Query: {
    alliances: () => ALLIANCES,
    municipalities: () => MUNICIPALITIES,
  },
  Mutation: {
    renameAlliance: (_: unknown, { id, name }: { id: string; name: string }) => ({ id, name }),
  },
  Alliance: {
    __resolveReference: ({ id }: { id: string }) => ALLIANCES.find((a) => a.id === id),
  },
  Municipality: {
    alliance: (m: { allianceId: string }) => ALLIANCES.find((a) => a.id === m.allianceId),
  },
};

const fundingResolvers = {
  Query: { fundingSources: () => ['CNIPA', 'Regione Piemonte'] },
  Alliance: {
    __resolveReference: ({ id }: { id: string }) => ({ id }),
    budget: ({ id }: { id: string }) => {
      const budget = BUDGETS[id];
      if (budget === undefined) throw new GraphQLError(`No budget published for ${id}`, { extensions: { code: 'NOT_FOUND' } });
      return budget;
    },
  },
};

interface ReceivedRequest {
  readonly headers: IncomingHttpHeaders;
  readonly query: string;
  readonly variables: Record<string, unknown> | undefined;
}

interface TestSubgraph {
  readonly name: string;
  readonly sdl: string;
  readonly url: string;
  /** Every HTTP request that reached this subgraph. */
  readonly requests: ReceivedRequest[];
  /** Requests matching this are held open until the subgraph is killed. */
  hang?: (req: ReceivedRequest) => boolean;
  /** Milliseconds to wait before answering a request. */
  delayMs?: (req: ReceivedRequest) => number;
  /** Every socket destroyed and the port closed, as when the process dies. */
  kill(): Promise<void>;
  /** Listens again, on the same port. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

async function startTestSubgraph(name: string, sdl: string, resolvers: object): Promise<TestSubgraph> {
  const apollo = new ApolloServer({
    schema: buildSubgraphSchema([{ typeDefs: parse(sdl), resolvers: resolvers as never }]),
    plugins: [ApolloServerPluginInlineTraceDisabled()],
  });
  await apollo.start();
  const held = new Set<() => void>();
  let http: Server | undefined;
  let port = 0;

  const listen = async () => {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', async () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { query: string; variables?: Record<string, unknown> };
        const received: ReceivedRequest = { headers: req.headers, query: body.query, variables: body.variables };
        subgraph.requests.push(received);
        if (subgraph.hang?.(received)) {
          await new Promise<void>((resolve) => held.add(resolve));
          return;
        }
        const delay = subgraph.delayMs?.(received) ?? 0;
        if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
        const headers = new HeaderMap();
        for (const [key, value] of Object.entries(req.headers)) if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
        const result = await apollo.executeHTTPGraphQLRequest({
          httpGraphQLRequest: { method: req.method!.toUpperCase(), headers, search: '', body },
          context: async () => ({}),
        });
        if (res.destroyed) return;
        res.statusCode = result.status ?? 200;
        for (const [key, value] of result.headers) res.setHeader(key, value);
        res.end(result.body.kind === 'complete' ? result.body.string : '');
      });
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
    http = server;
  };
  const kill = async () => {
    const server = http;
    http = undefined;
    if (!server) return;
    for (const release of held) release();
    held.clear();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  };

  await listen();
  const subgraph: TestSubgraph = {
    name,
    sdl,
    url: `http://127.0.0.1:${port}/graphql`,
    requests: [],
    kill,
    restart: listen,
    async close() {
      await kill();
      await apollo.stop();
    },
  };
  return subgraph;
}

// ---------------------------------------------------------------------------------------------
// Gateway

interface GatewayResponse {
  status: number;
  ms: number;
  body: {
    data?: Record<string, any> | null;
    errors?: { message: string; path?: (string | number)[]; extensions?: { code?: string; serviceName?: string } }[];
  };
}

interface System {
  readonly alliances: TestSubgraph;
  readonly funding: TestSubgraph;
  readonly circuitStates: { subgraph: string; state: CircuitState }[];
  query(query: string, headers?: Record<string, string>): Promise<GatewayResponse>;
}

interface SystemOptions {
  timeouts?: Record<string, number>;
  circuit?: { failureThreshold: number; resetMs: number };
  dedupe?: boolean;
}

const cleanups: (() => Promise<void>)[] = [];
const silent = pino({ level: 'silent' });

async function startSystem(opts: SystemOptions = {}): Promise<System> {
  const alliances = await startTestSubgraph('alliances', ALLIANCES_SDL, alliancesResolvers);
  cleanups.push(() => alliances.close());
  const funding = await startTestSubgraph('funding', FUNDING_SDL, fundingResolvers);
  cleanups.push(() => funding.close());

  const composed = composeServices([alliances, funding].map((s) => ({ name: s.name, url: s.url, typeDefs: parse(s.sdl) })));
  if (composed.errors) throw new Error(composed.errors.map((e) => e.message).join('\n'));

  // Otherwise the gateway probes cloud metadata addresses for its usage reports.
  process.env.APOLLO_TELEMETRY_DISABLED = 'true';
  const circuitStates: System['circuitStates'] = [];
  const pools = new SubgraphPools();
  cleanups.push(() => pools.close());
  const gateway = new ApolloGateway({
    supergraphSdl: composed.supergraphSdl,
    buildService: ({ name, url }) =>
      new SubgraphDataSource({
        name,
        url: url!,
        pools,
        timeoutMs: opts.timeouts?.[name] ?? 5_000,
        circuit: opts.circuit ?? { failureThreshold: 5, resetMs: 1_000 },
        dedupe: opts.dedupe ?? true,
        hooks: { onCircuitState: (subgraph, state) => circuitStates.push({ subgraph, state }) },
        sign: createSigner(SECRET),
      }),
  });
  const server = new ApolloServer<GatewayContext>({ gateway, includeStacktraceInErrorResponses: false });
  const { url } = await startStandaloneServer(server, {
    listen: { port: 0, host: '127.0.0.1' },
    context: async ({ req }) => ({
      requestId: (req.headers['x-request-id'] as string | undefined) ?? randomUUID(),
      caller: req.headers['x-test-caller']
        ? { sub: req.headers['x-test-caller'] as string, role: 'partner' as const, read: '*' as const, write: [] }
        : ANONYMOUS,
      log: silent,
    }),
  });
  cleanups.push(() => server.stop());

  return {
    alliances,
    funding,
    circuitStates,
    async query(query, headers = {}) {
      const started = performance.now();
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query }) });
      const body = (await res.json()) as GatewayResponse['body'];
      return { status: res.status, ms: performance.now() - started, body };
    },
  };
}

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const touches = (name: string) => (r: ReceivedRequest) => r.query.includes(name);

const MUNICIPALITY_BUDGETS = '{ municipalities { name alliance { id budget } } }';
const EXPECTED_MUNICIPALITY_BUDGETS = {
  municipalities: MUNICIPALITIES.map((m) => ({ name: m.name, alliance: { id: m.allianceId, budget: BUDGETS[m.allianceId] ?? null } })),
};
const ALLIANCE_NAMES = '{ alliances { id name } }';
const EXPECTED_ALLIANCE_NAMES = { alliances: ALLIANCES };

// ---------------------------------------------------------------------------------------------

describe('request id and caller', () => {
  it('reach every subgraph the operation touches, the caller signed for each subgraph', async () => {
    const sys = await startSystem();
    const r = await sys.query(MUNICIPALITY_BUDGETS, { 'x-request-id': 'req-e2e-1', 'x-test-caller': 'csi-piemonte' });
    expect(r.status).toBe(200);
    for (const [name, sg] of [['alliances', sys.alliances], ['funding', sys.funding]] as const) {
      expect(sg.requests).toHaveLength(1);
      expect(sg.requests[0]!.headers).toMatchObject({ 'x-request-id': 'req-e2e-1' });
      expect(await callerSub(sg.requests[0]!.headers, name)).toBe('csi-piemonte');
      // A token is bound to its subgraph: another subgraph refuses it.
      await expect(callerSub(sg.requests[0]!.headers, name === 'funding' ? 'alliances' : 'funding')).rejects.toThrow(/invalid gateway token/);
    }

    await sys.query(MUNICIPALITY_BUDGETS);
    const [a, f] = [sys.alliances.requests[1]!, sys.funding.requests[1]!];
    expect(await callerSub(a.headers, 'alliances')).toBe('anonymous');
    expect(await callerSub(f.headers, 'funding')).toBe('anonymous');
    expect(a.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(f.headers['x-request-id']).toBe(a.headers['x-request-id']);
  });
});

describe('timeouts', () => {
  it('cut a hung subgraph at its timeout: partial data, SUBGRAPH_TIMEOUT on the field, HTTP 200', async () => {
    const sys = await startSystem({ timeouts: { funding: 300 } });
    await sys.query(ALLIANCE_NAMES); // plan cache and connections warm
    sys.funding.hang = touches('fundingSources');
    const r = await sys.query('{ alliances { id name } fundingSources }');
    expect(r.status).toBe(200);
    expect(r.ms).toBeGreaterThanOrEqual(300);
    expect(r.ms).toBeLessThan(300 + 500);
    expect(r.body).toEqual({
      data: { alliances: ALLIANCES, fundingSources: null },
      errors: [
        {
          message: 'Subgraph "funding" did not answer within 300 ms',
          path: ['fundingSources'],
          extensions: { code: 'SUBGRAPH_TIMEOUT', serviceName: 'funding' },
        },
      ],
    });
  });

  it('cut a hung entity fetch: the fields it would have added are null, with the fetch path', async () => {
    const sys = await startSystem({ timeouts: { funding: 300 } });
    sys.funding.hang = touches('_entities');
    const r = await sys.query(MUNICIPALITY_BUDGETS);
    expect(r.status).toBe(200);
    expect(r.ms).toBeLessThan(300 + 500);
    expect(r.body.data).toEqual({
      municipalities: MUNICIPALITIES.map((m) => ({ name: m.name, alliance: { id: m.allianceId, budget: null } })),
    });
    expect(r.body.errors).toEqual([
      expect.objectContaining({ path: ['municipalities', '@', 'alliance'], extensions: { code: 'SUBGRAPH_TIMEOUT', serviceName: 'funding' } }),
    ]);
  });
});

describe('a subgraph that is down', () => {
  it('gives partial data and coded errors; operations not touching it are complete', async () => {
    const sys = await startSystem();
    await sys.funding.kill();

    const both = await sys.query(MUNICIPALITY_BUDGETS);
    expect(both.status).toBe(200);
    expect(both.body.data!['municipalities'].map((m: { name: string }) => m.name)).toEqual(MUNICIPALITIES.map((m) => m.name));
    expect(both.body.data!['municipalities'].every((m: { alliance: { budget: unknown } }) => m.alliance.budget === null)).toBe(true);
    expect(both.body.errors).toEqual([
      { message: 'Subgraph "funding" is unavailable', path: ['municipalities', '@', 'alliance'], extensions: { code: 'SUBGRAPH_UNAVAILABLE', serviceName: 'funding' } },
    ]);

    const root = await sys.query('{ fundingSources }');
    expect(root).toMatchObject({
      status: 200,
      body: { data: { fundingSources: null }, errors: [{ path: ['fundingSources'], extensions: { code: 'SUBGRAPH_UNAVAILABLE', serviceName: 'funding' } }] },
    });

    const other = await sys.query(ALLIANCE_NAMES);
    expect(other).toMatchObject({ status: 200, body: { data: EXPECTED_ALLIANCE_NAMES } });
    expect(other.body.errors).toBeUndefined();
  });
});

describe('circuit breaker', () => {
  it('opens after N failures, fails fast without reaching the subgraph, and closes after one probe', async () => {
    const RESET_MS = 1_500;
    const sys = await startSystem({ circuit: { failureThreshold: 3, resetMs: RESET_MS } });
    await sys.funding.kill();
    for (let i = 0; i < 3; i++) {
      const r = await sys.query('{ fundingSources }');
      expect(r.body.errors?.[0]?.extensions?.code).toBe('SUBGRAPH_UNAVAILABLE');
    }
    const openedAt = performance.now();
    expect(sys.circuitStates).toEqual([{ subgraph: 'funding', state: 'open' }]);

    // Back up, but the circuit is still open: nothing may reach it until the reset time.
    await sys.funding.restart();
    sys.funding.requests.length = 0;
    const fast = [];
    for (let i = 0; i < 5; i++) fast.push(await sys.query('{ alliances { id } fundingSources }'));
    expect(performance.now() - openedAt).toBeLessThan(RESET_MS);
    for (const r of fast) {
      expect(r.status).toBe(200);
      expect(r.ms).toBeLessThan(250); // no connection attempt, no timeout: answered at once
      expect(r.body.data).toEqual({ alliances: ALLIANCES.map(({ id }) => ({ id })), fundingSources: null });
      expect(r.body.errors).toEqual([expect.objectContaining({ path: ['fundingSources'], extensions: { code: 'SUBGRAPH_CIRCUIT_OPEN', serviceName: 'funding' } })]);
    }
    expect(sys.funding.requests).toHaveLength(0);

    await sleep(RESET_MS - (performance.now() - openedAt) + 50);
    const probe = await sys.query('{ fundingSources }');
    expect(probe.body).toEqual({ data: { fundingSources: ['CNIPA', 'Regione Piemonte'] } });
    expect(sys.funding.requests).toHaveLength(1);
    expect(sys.circuitStates.map((s) => s.state)).toEqual(['open', 'half_open', 'closed']);
  });

  it('re-opens when the probe fails', async () => {
    const sys = await startSystem({ circuit: { failureThreshold: 2, resetMs: 300 } });
    await sys.funding.kill();
    await sys.query('{ fundingSources }');
    await sys.query('{ fundingSources }');
    await sleep(350);
    const probe = await sys.query('{ fundingSources }');
    expect(probe.body.errors?.[0]?.extensions?.code).toBe('SUBGRAPH_UNAVAILABLE');
    const after = await sys.query('{ fundingSources }');
    expect(after.body.errors?.[0]?.extensions?.code).toBe('SUBGRAPH_CIRCUIT_OPEN');
    expect(sys.circuitStates.map((s) => s.state)).toEqual(['open', 'half_open', 'open']);
  });
});

describe('de-duplication', () => {
  it('identical concurrent queries share one subgraph request; mutations never do', async () => {
    const sys = await startSystem();
    sys.funding.delayMs = () => 200;
    const answers = await Promise.all(Array.from({ length: 5 }, () => sys.query('query Sources { fundingSources }', { 'x-test-caller': 'a' })));
    for (const r of answers) expect(r.body).toEqual({ data: { fundingSources: ['CNIPA', 'Regione Piemonte'] } });
    expect(sys.funding.requests).toHaveLength(1);

    // Another caller identity is another request.
    await Promise.all([
      sys.query('query Sources { fundingSources }', { 'x-test-caller': 'a' }),
      sys.query('query Sources { fundingSources }', { 'x-test-caller': 'b' }),
    ]);
    expect(sys.funding.requests).toHaveLength(3);

    sys.alliances.delayMs = (r) => (r.query.startsWith('mutation') ? 200 : 0);
    const renamed = await Promise.all(
      Array.from({ length: 5 }, () => sys.query('mutation Rename { renameAlliance(id: "ali-cn", name: "ALI Cuneo") { id name } }')),
    );
    for (const r of renamed) expect(r.body).toEqual({ data: { renameAlliance: { id: 'ali-cn', name: 'ALI Cuneo' } } });
    expect(sys.alliances.requests.filter((r) => r.query.startsWith('mutation'))).toHaveLength(5);
  });

  it('sends each distinct _entities representation once, with a complete, correct answer and errors at every position', async () => {
    const sys = await startSystem();
    const r = await sys.query(MUNICIPALITY_BUDGETS);
    const entityFetches = sys.funding.requests.filter(touches('_entities'));
    expect(entityFetches).toHaveLength(1);
    const sent = entityFetches[0]!.variables!['representations'] as { __typename: string; id: string }[];
    expect(sent.map((rep) => rep.id)).toEqual(['ali-cn', 'ali-to', 'ali-vc']); // not 12

    expect(r.status).toBe(200);
    expect(r.body.data).toEqual(EXPECTED_MUNICIPALITY_BUDGETS);
    // The one error on ali-vc's representation lands on each of the four Comuni of ALI Vercelli.
    const vercelli = MUNICIPALITIES.flatMap((m, i) => (m.allianceId === 'ali-vc' ? [i] : []));
    expect(vercelli).toEqual([2, 5, 8, 11]);
    expect(r.body.errors).toEqual(
      vercelli.map((i) => ({
        message: 'No budget published for ali-vc',
        path: ['municipalities', i, 'alliance', 'budget'],
        extensions: { code: 'NOT_FOUND', serviceName: 'funding' },
      })),
    );
  });
});

describe('under load', () => {
  // 200 requests, 10 at a time; funding is killed after the 60th is sent and restarted on the
  // same port after the 120th. No gateway restart.
  it('keeps answering: 200s only, errors only where funding is needed, complete again after restart', async () => {
    const sys = await startSystem({ circuit: { failureThreshold: 5, resetMs: 1_000 }, timeouts: { funding: 2_000, alliances: 2_000 } });
    const operations = [
      { name: 'alliances only', query: ALLIANCE_NAMES, touchesFunding: false },
      { name: 'both', query: MUNICIPALITY_BUDGETS, touchesFunding: true },
      { name: 'funding only', query: '{ fundingSources }', touchesFunding: true },
    ];
    const baseline = new Map<string, string>();
    for (const op of operations) baseline.set(op.name, JSON.stringify((await sys.query(op.query)).body));

    const TOTAL = 200;
    const CONCURRENCY = 10;
    const results: { op: (typeof operations)[number]; r: GatewayResponse }[] = [];
    let sent = 0;
    let restartedAt = 0;
    const started = performance.now();
    const worker = async () => {
      while (sent < TOTAL) {
        const n = ++sent;
        if (n === 60) await sys.funding.kill();
        if (n === 120) {
          await sys.funding.restart();
          restartedAt = performance.now();
        }
        const op = operations[n % operations.length]!;
        results.push({ op, r: await sys.query(op.query) });
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const loadMs = performance.now() - started;

    expect(results).toHaveLength(TOTAL);
    expect(results.filter(({ r }) => r.status !== 200)).toEqual([]);
    const complete = ({ op, r }: (typeof results)[number]) => JSON.stringify(r.body) === baseline.get(op.name);
    expect(results.filter((x) => !x.op.touchesFunding && !complete(x))).toEqual([]);
    const degraded = results.filter((x) => !complete(x));
    expect(degraded.length).toBeGreaterThan(0);
    const codes = new Map<string, number>();
    for (const { op, r } of degraded) {
      for (const e of r.body.errors ?? []) {
        expect(e.extensions?.serviceName).toBe('funding');
        expect(['SUBGRAPH_UNAVAILABLE', 'SUBGRAPH_CIRCUIT_OPEN', 'NOT_FOUND']).toContain(e.extensions?.code);
        codes.set(e.extensions!.code!, (codes.get(e.extensions!.code!) ?? 0) + 1);
      }
      // Partial data: what alliances resolves is still there.
      if (op.name === 'both') expect(r.body.data!['municipalities'].map((m: { name: string }) => m.name)).toEqual(MUNICIPALITIES.map((m) => m.name));
      else expect(r.body.data).toEqual({ fundingSources: null });
    }

    // Recovery: the half-open probe closes the circuit; bounded at 10 s.
    let recoveredAt = 0;
    while (performance.now() - restartedAt < 10_000) {
      const r = await sys.query(MUNICIPALITY_BUDGETS);
      if (JSON.stringify(r.body) === baseline.get('both')) {
        recoveredAt = performance.now();
        break;
      }
      await sleep(100);
    }
    expect(recoveredAt).toBeGreaterThan(0);
    expect(recoveredAt - restartedAt).toBeLessThan(10_000);
    expect(sys.circuitStates.filter((s) => s.subgraph === 'alliances')).toEqual([]);
    expect(sys.circuitStates.filter((s) => s.subgraph === 'funding').at(-1)?.state).toBe('closed');

    const latencies = results.map(({ r }) => r.ms).sort((a, b) => a - b);
    console.info(
      `[resilience] ${TOTAL} requests at concurrency ${CONCURRENCY} in ${loadMs.toFixed(0)} ms; ` +
        `p50 ${latencies[Math.floor(TOTAL * 0.5)]!.toFixed(1)} ms, p95 ${latencies[Math.floor(TOTAL * 0.95)]!.toFixed(1)} ms, max ${latencies.at(-1)!.toFixed(1)} ms; ` +
        `degraded ${degraded.length} (${[...codes].map(([c, n]) => `${c}×${n}`).join(', ')}); ` +
        `funding requests ${sys.funding.requests.length}; circuit ${sys.circuitStates.map((s) => s.state).join('→')}; ` +
        `complete again ${(recoveredAt - restartedAt).toFixed(0)} ms after restart`,
    );
  });
});
