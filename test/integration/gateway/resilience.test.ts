/**
 * The gateway over subgraphs that hang, die and come back: the two small Apollo subgraphs of
 * fixtures/subgraphs.ts and an Apollo Gateway using SubgraphDataSource, all on 127.0.0.1 port 0,
 * real HTTP throughout. Every test counts what reached the subgraphs. The production gateway's
 * recovery under load is in recovery.test.ts.
 */
import { randomUUID } from 'node:crypto';
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { GatewayContext } from '../../../gateway/context.ts';
import { createSigner } from '../../../gateway/access/signer.ts';
import { SubgraphDataSource, SubgraphPools, type CircuitState } from '../../../gateway/transport/index.ts';
import { ANONYMOUS } from '../../../lib/access.ts';
import {
  ALLIANCES,
  BUDGETS,
  callerSub,
  MUNICIPALITIES,
  SECRET,
  startBothSubgraphs,
  type ReceivedRequest,
  type TestSubgraph,
} from './fixtures/subgraphs.ts';

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
  const { alliances, funding, supergraphSdl } = await startBothSubgraphs(cleanups);

  // Otherwise the gateway probes cloud metadata addresses for its usage reports.
  process.env.APOLLO_TELEMETRY_DISABLED = 'true';
  const circuitStates: System['circuitStates'] = [];
  const pools = new SubgraphPools();
  cleanups.push(() => pools.close());
  const gateway = new ApolloGateway({
    supergraphSdl,
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
