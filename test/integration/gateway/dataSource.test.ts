/**
 * SubgraphDataSource against a real HTTP server on port 0 that answers as each test scripts it:
 * header propagation, error codes for every kind of failed fetch, the circuit breaker's states,
 * sharing of identical concurrent queries, `_entities` representation de-duplication, and that
 * the stock hooks still run. End-to-end behaviour through a gateway is in resilience.test.ts.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { composeServices } from '@apollo/composition';
import type { GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { parse, type GraphQLFormattedError } from 'graphql';
import { pino } from 'pino';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import type { GatewayContext } from '../../../gateway/context.ts';
import { createSigner } from '../../../gateway/access/signer.ts';
import { ANONYMOUS, GATEWAY_TOKEN_HEADER, verifyGatewayToken, type Caller } from '../../../lib/access.ts';
import { startGateway } from '../../../gateway/runtime.ts';
import {
  SubgraphDataSource,
  SubgraphPools,
  type CircuitState,
  type FetchOutcome,
  type SubgraphDataSourceOptions,
} from '../../../gateway/transport/index.ts';
import { DistinctRepresentations } from '../../../gateway/transport/representations.ts';
import { lifetimeOf } from '../../../gateway/cache/index.ts';

interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly body: { query: string; variables?: Record<string, any> };
  /** Ordinal of the TCP connection it came on (1 for the first connection accepted). */
  readonly connection: number;
}

/** What the scripted server does with a request. */
type Reply =
  | { status?: number; json?: unknown; text?: string; headers?: Record<string, string>; delayMs?: number }
  | 'hang';

interface ScriptedServer {
  readonly url: string;
  readonly received: Received[];
  /** TCP connections accepted so far. */
  connections: number;
  /** Ordinals of the TCP connections closed so far. */
  readonly closed: Set<number>;
  reply: (req: Received) => Reply;
  close(): Promise<void>;
}

const servers: ScriptedServer[] = [];

async function scriptedServer(reply: (req: Received) => Reply): Promise<ScriptedServer> {
  const hanging = new Set<() => void>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const received: Received = {
        headers: req.headers,
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')),
        connection: ordinals.get(req.socket) ?? 0,
      };
      scripted.received.push(received);
      const r = scripted.reply(received);
      if (r === 'hang') {
        await new Promise<void>((resolve) => hanging.add(resolve));
        res.destroy();
        return;
      }
      if (r.delayMs) await new Promise((resolve) => setTimeout(resolve, r.delayMs));
      const body = r.text ?? JSON.stringify(r.json);
      res.writeHead(r.status ?? 200, { 'content-type': r.text !== undefined ? 'text/plain' : 'application/json', ...r.headers });
      res.end(body);
    });
  });
  const ordinals = new WeakMap<object, number>();
  server.on('connection', (socket) => {
    const ordinal = ++scripted.connections;
    ordinals.set(socket, ordinal);
    socket.on('close', () => scripted.closed.add(ordinal));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const scripted: ScriptedServer = {
    url: `http://127.0.0.1:${port}/graphql`,
    received: [],
    connections: 0,
    closed: new Set(),
    reply,
    async close() {
      for (const release of hanging) release();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  servers.push(scripted);
  return scripted;
}

interface Recorded {
  readonly states: CircuitState[];
  readonly outcomes: FetchOutcome[];
  readonly requests: { query: string; variables: Record<string, unknown> | undefined }[];
}

/** The connection pools of the data sources built here, as a gateway's. */
const pools = new SubgraphPools();

function dataSource(url: string, overrides: Partial<SubgraphDataSourceOptions> = {}): { ds: SubgraphDataSource; rec: Recorded } {
  const rec: Recorded = { states: [], outcomes: [], requests: [] };
  const ds = new SubgraphDataSource({
    name: 'funding',
    url,
    pools,
    timeoutMs: 2_000,
    circuit: { failureThreshold: 3, resetMs: 300 },
    dedupe: true,
    hooks: {
      onCircuitState: (_s, state) => rec.states.push(state),
      onFetch: (_s, _seconds, outcome) => rec.outcomes.push(outcome),
      onRequest: (_s, query, variables) => rec.requests.push({ query, variables }),
    },
    ...overrides,
  });
  return { ds, rec };
}

const silent = pino({ level: 'silent' });
const SECRET = 'data-source-test-secret-0123456789abcdef';
const partner = (sub: string): Caller => ({ sub, role: 'partner', read: ['funding'], write: [] });

interface CachePolicySpy {
  readonly hints: { maxAge?: number }[];
  restrict(hint: { maxAge?: number }): void;
}

function cachePolicy(): CachePolicySpy {
  const hints: { maxAge?: number }[] = [];
  return { hints, restrict: (hint) => hints.push(hint) };
}

/** The options the gateway's executor passes for one fetch of an incoming operation. */
function incoming(
  query: string,
  variables?: Record<string, unknown>,
  context: Partial<GatewayContext> = { requestId: 'req-1', caller: ANONYMOUS, log: silent },
  policy: CachePolicySpy = cachePolicy(),
): GraphQLDataSourceProcessOptions<GatewayContext> {
  return {
    kind: 'incoming operation',
    request: { query, ...(variables ? { variables } : {}) },
    incomingRequestContext: { overallCachePolicy: policy },
    context,
    document: parse(query),
    pathInIncomingRequest: [],
  } as unknown as GraphQLDataSourceProcessOptions<GatewayContext>;
}

const ok = (data: unknown): Reply => ({ json: { data } });
const codes = (errors: readonly GraphQLFormattedError[] | undefined) => errors?.map((e) => e.extensions?.['code']);

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
afterAll(async () => {
  await pools.close();
});

describe('propagation', () => {
  it('sends x-request-id and the caller signed for this subgraph', async () => {
    const sg = await scriptedServer(() => ok({ fundingSources: ['CNIPA'] }));
    const { ds } = dataSource(sg.url, { sign: createSigner(SECRET) });
    await ds.process(incoming('{ fundingSources }', undefined, { requestId: 'req-a', caller: partner('csi'), log: silent }));
    await ds.process(incoming('{ fundingSources }', undefined, { requestId: 'req-b', caller: ANONYMOUS, log: silent }));
    const seen = await Promise.all(
      sg.received.map(async (r) => [r.headers['x-request-id'], await verifyGatewayToken(SECRET, r.headers[GATEWAY_TOKEN_HEADER] as string, 'funding')]),
    );
    expect(seen).toEqual([
      ['req-a', partner('csi')],
      ['req-b', ANONYMOUS],
    ]);
    // Without a signer (a subgraph that does not check), no token is sent.
    const { ds: unsigned } = dataSource(sg.url);
    await unsigned.process(incoming('{ fundingSources }'));
    expect(sg.received[2]!.headers[GATEWAY_TOKEN_HEADER]).toBeUndefined();
    expect(sg.received[0]!.headers['content-type']).toBe('application/json');
  });

  it('keeps the executor headers and lets willSendRequest and didReceiveResponse overrides run', async () => {
    const sg = await scriptedServer(() => ok({ fundingSources: ['CNIPA'] }));
    const seen: string[] = [];
    class Traced extends SubgraphDataSource {
      override willSendRequest({ request }: GraphQLDataSourceProcessOptions<GatewayContext>): void {
        request.http?.headers.set('x-extra', 'yes');
        seen.push(`will:${request.http?.headers.get('x-request-id')}`);
      }
      override didReceiveResponse({ response }: Parameters<NonNullable<SubgraphDataSource['didReceiveResponse']>>[0]) {
        seen.push('did');
        return { ...response, extensions: { seen: true } };
      }
      override didEncounterError(error: Error): void {
        seen.push(`error:${error.message}`);
        throw new Error('wrapped by an override');
      }
    }
    const ds = new Traced({ name: 'funding', url: sg.url, pools, timeoutMs: 1000, circuit: { failureThreshold: 3, resetMs: 300 }, dedupe: true });
    const options = incoming('{ fundingSources }');
    options.request.http = { method: 'POST', url: sg.url, headers: new Headers({ 'apollo-federation-include-trace': 'ftv1' }) };
    const response = await ds.process(options);
    expect(seen).toEqual(['will:req-1', 'did']);
    expect(response.extensions).toEqual({ seen: true });
    expect(sg.received[0]!.headers).toMatchObject({ 'x-extra': 'yes', 'apollo-federation-include-trace': 'ftv1', 'x-request-id': 'req-1' });

    // didEncounterError sees the transport error; even if it throws another, the answer is coded.
    await sg.close();
    seen.length = 0;
    const failed = await ds.process(incoming('{ fundingSources }'));
    expect(seen).toEqual(['will:req-1', 'error:Subgraph "funding" is unavailable']);
    expect(failed.errors).toEqual([
      { message: 'Subgraph "funding" is unavailable', path: ['fundingSources'], extensions: { code: 'SUBGRAPH_UNAVAILABLE', serviceName: 'funding' } },
    ]);
  });

  // Browsers and proxies would keep what no write can invalidate: the hint feeds the gateway's caches only.
  it("hands the subgraph's Cache-Control to the executor, never to the gateway's own response", async () => {
    const sg = await scriptedServer(() => ({ json: { data: { fundingSources: [] } }, headers: { 'cache-control': 'max-age=60, public' } }));
    const { ds } = dataSource(sg.url);
    const policy = cachePolicy();
    const response = await ds.process(incoming('{ fundingSources }', undefined, undefined, policy));
    expect(policy.hints).toEqual([]);
    expect(lifetimeOf(response)).toBe(60_000);
    sg.reply = () => ({ status: 503, text: 'down' });
    const failed = await ds.process(incoming('{ fundingSources }', undefined, undefined, policy));
    expect(policy.hints).toEqual([]);
    expect(lifetimeOf(failed)).toBe(0);
  });
});

describe('failed fetches become coded GraphQL errors', () => {
  it('a hung subgraph is cut at its timeout: SUBGRAPH_TIMEOUT on the root field', async () => {
    const sg = await scriptedServer(() => 'hang');
    const { ds, rec } = dataSource(sg.url, { timeoutMs: 250 });
    const started = performance.now();
    const response = await ds.process(incoming('{ fundingSources total: fundingTotal }'));
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(240);
    expect(elapsed).toBeLessThan(1_000);
    expect(response.data).toBeUndefined();
    expect(response.errors).toEqual([
      { message: 'Subgraph "funding" did not answer within 250 ms', path: ['fundingSources'], extensions: { code: 'SUBGRAPH_TIMEOUT', serviceName: 'funding' } },
      { message: 'Subgraph "funding" did not answer within 250 ms', path: ['total'], extensions: { code: 'SUBGRAPH_TIMEOUT', serviceName: 'funding' } },
    ]);
    expect(rec.outcomes).toEqual(['timeout']);
  });

  it('a subgraph that is down: SUBGRAPH_UNAVAILABLE', async () => {
    const sg = await scriptedServer(() => ok({}));
    await sg.close();
    const { ds, rec } = dataSource(sg.url);
    const response = await ds.process(incoming('{ fundingSources }'));
    expect(response.errors).toEqual([
      { message: 'Subgraph "funding" is unavailable', path: ['fundingSources'], extensions: { code: 'SUBGRAPH_UNAVAILABLE', serviceName: 'funding' } },
    ]);
    expect(rec.outcomes).toEqual(['error']);
  });

  it('non-2xx answers keep the stock message and response, with a code', async () => {
    const sg = await scriptedServer(() => ({ status: 503, text: 'upstream down' }));
    const { ds } = dataSource(sg.url, { circuit: { failureThreshold: 100, resetMs: 300 } });
    const r503 = await ds.process(incoming('{ fundingSources }'));
    expect(r503.errors?.[0]).toMatchObject({
      message: '503: Service Unavailable',
      path: ['fundingSources'],
      extensions: { code: 'SUBGRAPH_UNAVAILABLE', serviceName: 'funding', response: { status: 503, body: 'upstream down' } },
    });
    sg.reply = () => ({ status: 400, json: { errors: [{ message: 'Cannot query field', extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }] } });
    expect(codes((await ds.process(incoming('{ fundingSources }'))).errors)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    sg.reply = () => ({ status: 401, text: 'no' });
    expect(codes((await ds.process(incoming('{ fundingSources }'))).errors)).toEqual(['UNAUTHENTICATED']);
    sg.reply = () => ({ status: 404, text: 'no such path' });
    expect(codes((await ds.process(incoming('{ fundingSources }'))).errors)).toEqual(['SUBGRAPH_BAD_RESPONSE']);
    sg.reply = () => ({ status: 200, text: '<html>proxy page</html>' });
    const html = await ds.process(incoming('{ fundingSources }'));
    expect(html.errors).toEqual([
      { message: 'Subgraph "funding" sent a response that is not a GraphQL response', path: ['fundingSources'], extensions: { code: 'SUBGRAPH_BAD_RESPONSE', serviceName: 'funding' } },
    ]);
  });

  it('GraphQL errors of a healthy subgraph pass through unchanged and are not failures', async () => {
    const sg = await scriptedServer(() => ({ json: { data: { fundingSources: null }, errors: [{ message: 'nope', path: ['fundingSources'], extensions: { code: 'NOT_FOUND' } }] } }));
    const { ds, rec } = dataSource(sg.url, { circuit: { failureThreshold: 2, resetMs: 300 } });
    for (let i = 0; i < 4; i++) {
      const response = await ds.process(incoming('{ fundingSources }'));
      expect(response.errors).toEqual([{ message: 'nope', path: ['fundingSources'], extensions: { code: 'NOT_FOUND' } }]);
    }
    expect(ds.circuitState).toBe('closed');
    expect(rec.states).toEqual([]);
    expect(rec.outcomes).toEqual(['ok', 'ok', 'ok', 'ok']);
  });

  it('an entity fetch fails with one error on the fetch path, for the executor to prefix', async () => {
    const sg = await scriptedServer(() => ({ status: 502, text: 'bad gateway' }));
    const { ds } = dataSource(sg.url);
    const response = await ds.process(
      incoming('query($representations: [_Any!]!) { _entities(representations: $representations) { ... on Alliance { budget } } }', {
        representations: [{ __typename: 'Alliance', id: 'a' }],
      }),
    );
    expect(response.errors).toEqual([expect.objectContaining({ path: [], extensions: expect.objectContaining({ code: 'SUBGRAPH_UNAVAILABLE', serviceName: 'funding' }) })]);
  });

  it('outside an incoming operation (health check, schema load) the coded error is thrown', async () => {
    const sg = await scriptedServer(() => ({ status: 500, text: 'boom' }));
    const { ds } = dataSource(sg.url);
    const health = { kind: 'health check', request: { query: '{ __typename }' }, context: {} } as unknown as GraphQLDataSourceProcessOptions<GatewayContext>;
    await expect(ds.process(health)).rejects.toMatchObject({ extensions: { code: 'SUBGRAPH_UNAVAILABLE', serviceName: 'funding' } });
  });
});

describe('circuit breaker', () => {
  it('opens after the threshold, fails fast without reaching the subgraph, probes once and closes', async () => {
    const sg = await scriptedServer(() => ({ status: 500, text: 'boom' }));
    const { ds, rec } = dataSource(sg.url, { circuit: { failureThreshold: 3, resetMs: 300 } });
    for (let i = 0; i < 3; i++) await ds.process(incoming('{ fundingSources }'));
    expect(ds.circuitState).toBe('open');
    expect(sg.received).toHaveLength(3);

    sg.reply = () => ok({ fundingSources: ['CNIPA'] });
    const started = performance.now();
    const fast = await Promise.all(Array.from({ length: 5 }, () => ds.process(incoming('{ fundingSources }'))));
    expect(performance.now() - started).toBeLessThan(100);
    expect(fast.flatMap((r) => codes(r.errors))).toEqual(Array(5).fill('SUBGRAPH_CIRCUIT_OPEN'));
    expect(sg.received).toHaveLength(3); // nothing reached the subgraph while open

    await new Promise((resolve) => setTimeout(resolve, 320));
    const probe = await ds.process(incoming('{ fundingSources }'));
    expect(probe).toMatchObject({ data: { fundingSources: ['CNIPA'] } });
    expect(ds.circuitState).toBe('closed');
    expect(rec.states).toEqual(['open', 'half_open', 'closed']);
    expect(rec.outcomes).toEqual(['error', 'error', 'error', ...Array(5).fill('circuit_open'), 'ok']);
  });

  it('lets exactly one probe through while half open, and re-opens when the probe fails', async () => {
    const sg = await scriptedServer(() => ({ status: 503, text: 'down' }));
    const { ds, rec } = dataSource(sg.url, { circuit: { failureThreshold: 1, resetMs: 200 } });
    await ds.process(incoming('{ fundingSources }'));
    expect(ds.circuitState).toBe('open');
    await new Promise((resolve) => setTimeout(resolve, 220));
    sg.reply = () => ({ status: 503, text: 'still down', delayMs: 100 });
    // Different queries, so they cannot share one request: only the first is the probe.
    const [probe, other] = await Promise.all([ds.process(incoming('{ fundingSources }')), ds.process(incoming('{ other: fundingSources }'))]);
    expect(codes(probe.errors)).toEqual(['SUBGRAPH_UNAVAILABLE']);
    expect(codes(other.errors)).toEqual(['SUBGRAPH_CIRCUIT_OPEN']);
    expect(sg.received).toHaveLength(2);
    expect(rec.states).toEqual(['open', 'half_open', 'open']);
  });

  it('counts timeouts as failures', async () => {
    const sg = await scriptedServer(() => 'hang');
    const { ds, rec } = dataSource(sg.url, { timeoutMs: 100, circuit: { failureThreshold: 2, resetMs: 10_000 } });
    await ds.process(incoming('{ fundingSources }'));
    await ds.process(incoming('{ fundingSources }'));
    expect(codes((await ds.process(incoming('{ fundingSources }'))).errors)).toEqual(['SUBGRAPH_CIRCUIT_OPEN']);
    expect(rec.outcomes).toEqual(['timeout', 'timeout', 'circuit_open']);
    expect(sg.received).toHaveLength(2);
  });
});

describe('identical concurrent queries share one request', () => {
  const QUERY = 'query Sources__funding__0 { fundingSources { id name } }';

  it('shares the HTTP request, gives every caller its own copy, and does not cache', async () => {
    const sg = await scriptedServer(() => ({ json: { data: { fundingSources: [{ id: 'cnipa', name: 'CNIPA' }] } }, delayMs: 100 }));
    const { ds, rec } = dataSource(sg.url);
    const ids = ['r1', 'r2', 'r3', 'r4', 'r5'];
    const parse = vi.spyOn(JSON, 'parse');
    const results = await Promise.all(ids.map((requestId) => ds.process(incoming(QUERY, undefined, { requestId, caller: partner('csi'), log: silent }))));
    // The answer is parsed once for the five (the test server's parse of the request aside).
    const answerParses = parse.mock.calls.filter(([text]) => typeof text === 'string' && text.includes('CNIPA')).length;
    parse.mockRestore();
    expect(answerParses).toBe(1);
    expect(sg.received).toHaveLength(1);
    expect(rec.requests).toHaveLength(1);
    expect(rec.outcomes).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
    for (const r of results) expect(r.data).toEqual({ fundingSources: [{ id: 'cnipa', name: 'CNIPA' }] });
    // The executor merges into what it receives: one caller's changes must not show in another's.
    results.forEach((r, i) => ((r.data!['fundingSources'] as { name: string }[])[0]!.name = `changed by ${i}`));
    expect(results.map((r) => (r.data!['fundingSources'] as { name: string }[])[0]!.name)).toEqual(ids.map((_, i) => `changed by ${i}`));

    await ds.process(incoming(QUERY, undefined, { requestId: 'r6', caller: partner('csi'), log: silent }));
    expect(sg.received).toHaveLength(2);
  });

  it('does not share between different callers or different variables', async () => {
    const sg = await scriptedServer(() => ({ json: { data: { fundingSources: [] } }, delayMs: 100 }));
    const { ds } = dataSource(sg.url, { sign: createSigner(SECRET) });
    const q = 'query Q($first: Int) { fundingSources(first: $first) { id } }';
    await Promise.all([
      ds.process(incoming(q, { first: 1 }, { requestId: 'a', caller: partner('csi'), log: silent })),
      ds.process(incoming(q, { first: 1 }, { requestId: 'b', caller: partner('csi'), log: silent })),
      ds.process(incoming(q, { first: 1 }, { requestId: 'c', caller: partner('other'), log: silent })),
      ds.process(incoming(q, { first: 1 }, { requestId: 'd', caller: ANONYMOUS, log: silent })),
      ds.process(incoming(q, { first: 2 }, { requestId: 'e', caller: ANONYMOUS, log: silent })),
    ]);
    expect(sg.received).toHaveLength(4);
  });

  it('never shares a mutation, and shares nothing when dedupe is off', async () => {
    const sg = await scriptedServer(() => ({ json: { data: { touch: true } }, delayMs: 50 }));
    const { ds } = dataSource(sg.url);
    await Promise.all(Array.from({ length: 4 }, () => ds.process(incoming('mutation { touch }'))));
    expect(sg.received).toHaveLength(4);

    const { ds: plain } = dataSource(sg.url, { dedupe: false });
    await Promise.all(Array.from({ length: 3 }, () => plain.process(incoming(QUERY))));
    expect(sg.received).toHaveLength(7);
  });

  it('callers sharing a failed request each get the coded error', async () => {
    const sg = await scriptedServer(() => 'hang');
    const { ds, rec } = dataSource(sg.url, { timeoutMs: 150 });
    const results = await Promise.all(Array.from({ length: 3 }, () => ds.process(incoming(QUERY))));
    expect(sg.received).toHaveLength(1);
    expect(results.flatMap((r) => codes(r.errors))).toEqual(['SUBGRAPH_TIMEOUT', 'SUBGRAPH_TIMEOUT', 'SUBGRAPH_TIMEOUT']);
    expect(rec.outcomes).toEqual(['timeout', 'timeout', 'timeout']);
  });
});

describe('_entities representations', () => {
  const ENTITIES = 'query($representations: [_Any!]!) { _entities(representations: $representations) { ... on Alliance { budget } } }';

  it('sends each distinct representation once and answers every original position', async () => {
    const sg = await scriptedServer((req) => {
      const reps = req.body.variables!['representations'] as { id: string }[];
      return {
        json: {
          data: { _entities: reps.map((r) => (r.id === 'bad' ? null : { budget: `${r.id}-budget` })) },
          errors: reps.flatMap((r, i) => (r.id === 'bad' ? [{ message: 'no budget', path: ['_entities', i, 'budget'], extensions: { code: 'NOT_FOUND' } }] : [])),
        },
      };
    });
    const { ds, rec } = dataSource(sg.url);
    const representations = [
      { __typename: 'Alliance', id: 'cn' },
      { id: 'to', __typename: 'Alliance' },
      { id: 'cn', __typename: 'Alliance' }, // same key as position 0, other key order
      { __typename: 'Alliance', id: 'bad' },
      { __typename: 'Alliance', id: 'to' },
      { __typename: 'Alliance', id: 'bad' },
    ];
    const response = await ds.process(incoming(ENTITIES, { representations }));

    expect(sg.received).toHaveLength(1);
    expect(sg.received[0]!.body.variables!['representations']).toEqual([
      { __typename: 'Alliance', id: 'cn' },
      { id: 'to', __typename: 'Alliance' },
      { __typename: 'Alliance', id: 'bad' },
    ]);
    expect(rec.requests[0]!.variables!['representations']).toHaveLength(3);
    const entities = response.data!['_entities'] as ({ budget: string } | null)[];
    expect(entities).toEqual([{ budget: 'cn-budget' }, { budget: 'to-budget' }, { budget: 'cn-budget' }, null, { budget: 'to-budget' }, null]);
    expect(entities[0]).not.toBe(entities[2]); // the executor merges into each: no shared objects
    expect(response.errors).toEqual([
      { message: 'no budget', path: ['_entities', 3, 'budget'], extensions: { code: 'NOT_FOUND' } },
      { message: 'no budget', path: ['_entities', 5, 'budget'], extensions: { code: 'NOT_FOUND' } },
    ]);
  });

  it('leaves representations without duplicates untouched', async () => {
    const sg = await scriptedServer(() => ok({ _entities: [{ budget: '1' }, { budget: '2' }] }));
    const { ds } = dataSource(sg.url);
    const representations = [
      { __typename: 'Alliance', id: 'a' },
      { __typename: 'Alliance', id: 'b' },
    ];
    const response = await ds.process(incoming(ENTITIES, { representations }));
    expect(sg.received[0]!.body.variables).toEqual({ representations });
    expect(response.data).toEqual({ _entities: [{ budget: '1' }, { budget: '2' }] });
  });

  // The lean executor de-duplicates as it builds representations (keyed off the entities): the
  // transport does not go over them again. Two representations the transport would take for one
  // (other key order) show which of the two ran.
  it('sends the representations the lean executor de-duplicated as they are', async () => {
    const sg = await scriptedServer((req) => ok({ _entities: (req.body.variables!['representations'] as unknown[]).map(() => ({ budget: '1' })) }));
    const { ds } = dataSource(sg.url);
    const byExecutor = new DistinctRepresentations();
    byExecutor.push({ __typename: 'Alliance', id: 'a' });
    byExecutor.push({ id: 'a', __typename: 'Alliance' });
    await ds.process(incoming(ENTITIES, { representations: byExecutor.unique }));
    expect(sg.received[0]!.body.variables!['representations']).toHaveLength(2);
    await ds.process(incoming(ENTITIES, { representations: [...byExecutor.unique] }));
    expect(sg.received[1]!.body.variables!['representations']).toHaveLength(1);
  });
});

describe('hooks', () => {
  it('a throwing hook is reported as a process warning and never fails a fetch or wedges the circuit', async () => {
    const sg = await scriptedServer(() => ok({ fundingSources: [] }));
    const warnings: string[] = [];
    const onWarning = (w: Error & { code?: string }) => warnings.push(w.code ?? '');
    process.on('warning', onWarning);
    try {
      const boom = () => {
        throw new Error('metrics backend down');
      };
      const ds = new SubgraphDataSource({
        name: 'funding',
        url: sg.url,
        pools,
        timeoutMs: 1000,
        circuit: { failureThreshold: 1, resetMs: 100 },
        dedupe: true,
        hooks: { onRequest: boom, onFetch: boom, onCircuitState: boom },
      });
      expect(await ds.process(incoming('{ fundingSources }'))).toMatchObject({ data: { fundingSources: [] } });
      sg.reply = () => ({ status: 500, text: 'boom' });
      await ds.process(incoming('{ fundingSources }'));
      expect(ds.circuitState).toBe('open');
      await new Promise((resolve) => setTimeout(resolve, 120));
      sg.reply = () => ok({ fundingSources: [] });
      expect(await ds.process(incoming('{ fundingSources }'))).toMatchObject({ data: { fundingSources: [] } });
      expect(ds.circuitState).toBe('closed');
      await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
      expect(warnings).toEqual(['ALI_DATASOURCE_HOOK', 'ALI_DATASOURCE_HOOK', 'ALI_DATASOURCE_HOOK']); // once per hook
    } finally {
      process.off('warning', onWarning);
    }
  });
});

describe('connection pools', () => {
  it('keeps connections alive between requests and reopens after they are closed', async () => {
    const sg = await scriptedServer(() => ok({ fundingSources: [] }));
    const { ds } = dataSource(sg.url);
    for (let i = 0; i < 10; i++) await ds.process(incoming(`{ n${i}: fundingSources }`));
    expect(sg.received).toHaveLength(10);
    // undici may open a second socket while the first finishes its previous response; both are reused.
    const kept = sg.connections;
    expect(kept).toBeLessThanOrEqual(2);
    await pools.close();
    const response = await ds.process(incoming('{ fundingSources }'));
    expect(response.data).toEqual({ fundingSources: [] });
    expect(sg.connections).toBe(kept + 1);
  });

  // Two gateways in one process over the same subgraph: stopping one must not close the other's
  // connections, neither under the requests it has in flight nor after.
  it('belong to one gateway: stopping another gateway over the same subgraph leaves them open', async () => {
    const sg = await scriptedServer(() => ok({ hello: 'world' }));
    const composed = composeServices([
      { name: 'greetings', url: sg.url, typeDefs: parse('extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"]) type Query { hello: String }') },
    ]);
    if (composed.errors) throw new Error(composed.errors.map((e) => e.message).join('\n'));
    const start = () => startGateway({ supergraph: { sdl: composed.supergraphSdl }, port: 0, host: '127.0.0.1' });
    const [kept, stopped] = [await start(), await start()];
    let sent = 0;
    const hello = async (gateway: { url: string }, requestId = `req-${++sent}`) => {
      const res = await fetch(`${gateway.url}graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': requestId },
        body: '{"query":"{ hello }"}',
      });
      return (await res.json()) as unknown;
    };
    try {
      expect(await hello(kept, 'kept-0')).toEqual({ data: { hello: 'world' } });
      expect(await hello(stopped, 'stopped-0')).toEqual({ data: { hello: 'world' } });
      const inFlight = Promise.all(Array.from({ length: 5 }, (_, i) => hello(kept, `kept-${i + 1}`)));
      await stopped.stop(0);
      for (const answer of [...(await inFlight), await hello(kept, 'kept-6')]) expect(answer).toEqual({ data: { hello: 'world' } });
      await new Promise((resolve) => setTimeout(resolve, 100)); // a closed socket reaches the subgraph within this
      const keptConnections = new Set(sg.received.filter((r) => String(r.headers['x-request-id']).startsWith('kept-')).map((r) => r.connection));
      expect([...keptConnections].filter((c) => sg.closed.has(c))).toEqual([]);
    } finally {
      await kept.stop(0);
      await stopped.stop(0);
    }
  });
});

describe("stock's own steps, taken directly", () => {
  // When no pipeline hook is set, `process` runs stock's steps itself (gateway/transport/dataSource.ts
  // processDirectly). Each reply below goes once through that path and once through stock's
  // pipeline (forced by a `willSendRequest` that does nothing): the subgraph must receive the
  // same request and the executor the same answer. Broken once by sending the body without
  // `operationName` and once by taking a JSON array for an answer: both failed here.
  const replies: [string, Reply][] = [
    ['data, errors and extensions', { json: { data: { fundingSources: ['CNIPA'] }, errors: [{ message: 'partial', path: ['fundingSources', 0] }], extensions: { x: 1 } } }],
    ['application/graphql-response+json', { text: JSON.stringify({ data: { fundingSources: [] } }), headers: { 'content-type': 'application/graphql-response+json; charset=utf-8' } }],
    ['a text answer', { text: 'hello' }],
    ['a JSON array', { json: [1, 2] }],
    ['JSON that does not parse', { text: '{"data":', headers: { 'content-type': 'application/json' } }],
    ['a 500 with a JSON body', { status: 500, json: { errors: [{ message: 'boom' }] } }],
    ['a 401 with a text body', { status: 401, text: 'who are you' }],
    ['a Cache-Control hint', { json: { data: { fundingSources: [] } }, headers: { 'cache-control': 'max-age=30' } }],
  ];

  /** What the executor reads of an answer: everything but the HTTP response, whose status and cache lifetime stand for it. */
  const answer = (r: Awaited<ReturnType<SubgraphDataSource['process']>>) => {
    const { http, ...rest } = r;
    return { ...rest, status: http?.status, lifetime: lifetimeOf(r) };
  };
  const request = (r: Received) => {
    const { host: _host, connection: _connection, 'content-length': length, ...headers } = r.headers;
    return { headers, length, body: JSON.stringify(r.body) };
  };

  it.each(replies)('%s: the same request sent and the same answer as stock', async (_name, reply) => {
    const sg = await scriptedServer(() => reply);
    const { ds: direct } = dataSource(sg.url, { dedupe: false });
    const { ds: stock } = dataSource(sg.url, { dedupe: false });
    stock.willSendRequest = () => {};
    const options = () => {
      const o = incoming('query Sources($n: Int) { fundingSources }', { n: 1 });
      (o.request as { operationName?: string }).operationName = 'Sources';
      o.request.http = { method: 'POST', url: sg.url, headers: new Headers([['apollo-federation-include-trace', 'ftv1'], ['x-Twice', 'a']]) };
      o.request.http.headers.append('x-twice', 'b');
      return o;
    };
    const fromDirect = answer(await direct.process(options()));
    const fromStock = answer(await stock.process(options()));
    expect(fromDirect).toEqual(fromStock);
    expect(JSON.stringify(fromDirect)).toBe(JSON.stringify(fromStock));
    expect(sg.received).toHaveLength(2);
    expect(request(sg.received[0]!)).toEqual(request(sg.received[1]!));
    expect(sg.received[0]!.headers).toMatchObject({ 'x-twice': 'a, b', 'content-type': 'application/json', 'x-request-id': 'req-1' });
  });

  it('de-duplicated representations: the same request and the same expanded answer', async () => {
    const sg = await scriptedServer((r) => ok({ _entities: (r.body.variables!['representations'] as { id: string }[]).map((rep) => ({ name: `n${rep.id}` })) }));
    const { ds: direct } = dataSource(sg.url, { dedupe: false });
    const { ds: stock } = dataSource(sg.url, { dedupe: false });
    stock.willSendRequest = () => {};
    const query = 'query($representations: [_Any!]!) { _entities(representations: $representations) { ... on Source { name } } }';
    const representations = [{ __typename: 'Source', id: '1' }, { __typename: 'Source', id: '2' }, { __typename: 'Source', id: '1' }];
    const fromDirect = answer(await direct.process(incoming(query, { representations })));
    const fromStock = answer(await stock.process(incoming(query, { representations })));
    expect(fromDirect).toEqual(fromStock);
    expect(fromDirect.data).toEqual({ _entities: [{ name: 'n1' }, { name: 'n2' }, { name: 'n1' }] });
    expect(request(sg.received[0]!)).toEqual(request(sg.received[1]!));
  });
});
