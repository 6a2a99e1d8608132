/**
 * HEADER_RULES, Apollo Router's `headers` configuration in JSON: which client headers reach which
 * subgraph, checked on what a real HTTP subgraph receives from SubgraphDataSource. Without rules
 * no client header goes through; the gateway's own headers (the signed caller, the request id)
 * cannot be named by a rule nor forwarded by a pattern. And ANONYMOUS_WRITE_SCOPE: callers
 * without a key write nowhere unless it names subgraphs.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { composeServices } from '@apollo/composition';
import { HeaderMap } from '@apollo/server';
import type { GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { parse } from 'graphql';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIdentify } from '../../../gateway/access/callers.ts';
import { startGateway } from '../../../gateway/runtime.ts';
import type { GatewayContext } from '../../../gateway/context.ts';
import { SubgraphDataSource, SubgraphPools } from '../../../gateway/transport/index.ts';
import { ANONYMOUS } from '../../../lib/access.ts';
import { ConfigError, loadConfig } from '../../../lib/config.ts';
import type { HeaderRules } from '../../../lib/configFormats.ts';

let server: Server;
let url: string;
const received: IncomingHttpHeaders[] = [];
const pools = new SubgraphPools();

beforeAll(async () => {
  server = createServer((req, res) => {
    received.push(req.headers);
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(req.headers['x-operation'] === 'write' ? '{"data":{"addReview":true}}' : '{"data":{"reviews":[]}}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
});
afterAll(async () => {
  await pools.close();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const CLIENT = {
  authorization: 'Bearer client-token',
  'x-tenant-id': 't-1',
  'x-tenant-region': 'piemonte',
  'x-debug': 'on',
  'x-ali-gateway-token': 'forged',
  'x-request-id': 'from-client',
  cookie: 'session=1',
};

/** What subgraph `name` receives for one query of a client that sent {@link CLIENT}, under `rules`. */
async function forwarded(rules: HeaderRules | undefined, name = 'reviews'): Promise<IncomingHttpHeaders> {
  const ds = new SubgraphDataSource({ name, url, pools, timeoutMs: 2_000, circuit: { failureThreshold: 5, resetMs: 1_000 }, dedupe: false, ...(rules ? { headerRules: rules } : {}) });
  const headers = new HeaderMap(Object.entries(CLIENT));
  const options = {
    kind: 'incoming operation',
    request: { query: '{ reviews }' },
    incomingRequestContext: { request: { http: { method: 'POST', headers, search: '', body: {} } }, overallCachePolicy: { restrict: () => {} } },
    context: { requestId: 'req-7', caller: ANONYMOUS, log: pino({ level: 'silent' }) },
    document: parse('{ reviews }'),
    pathInIncomingRequest: [],
  } as unknown as GraphQLDataSourceProcessOptions<GatewayContext>;
  const before = received.length;
  expect((await ds.process(options)).errors).toBeUndefined();
  return received[before]!;
}

const rulesOf = (json: string) => loadConfig({ HEADER_RULES: json }).HEADER_RULES;

describe('header propagation rules', () => {
  it('forward no client header without rules', async () => {
    const got = await forwarded(undefined);
    for (const name of ['authorization', 'x-tenant-id', 'x-debug', 'cookie']) expect(got[name]).toBeUndefined();
    expect(got['x-request-id']).toBe('req-7');
  });

  it('propagate by name (with rename and default) and by pattern, insert and remove, for all subgraphs then per subgraph', async () => {
    const rules = rulesOf(
      JSON.stringify({
        all: [{ propagate: { named: 'Authorization' } }, { propagate: { matching: '^x-' } }, { remove: { named: 'x-debug' } }],
        subgraphs: {
          reviews: [{ propagate: { named: 'x-tenant-id', rename: 'x-org' } }, { propagate: { named: 'x-missing', default: 'none' } }, { insert: { name: 'x-source', value: 'ali-graph' } }, { remove: { matching: '^x-tenant-region$' } }],
        },
      }),
    );
    const reviews = await forwarded(rules);
    expect(reviews).toMatchObject({ authorization: 'Bearer client-token', 'x-tenant-id': 't-1', 'x-org': 't-1', 'x-missing': 'none', 'x-source': 'ali-graph' });
    expect(reviews['x-debug']).toBeUndefined();
    expect(reviews['x-tenant-region']).toBeUndefined();
    expect(reviews.cookie).toBeUndefined();
    // The gateway's own headers are never the client's, even under a pattern matching them.
    expect(reviews['x-request-id']).toBe('req-7');
    expect(reviews['x-ali-gateway-token']).toBeUndefined();

    const accounts = await forwarded(rules, 'accounts');
    expect(accounts).toMatchObject({ authorization: 'Bearer client-token', 'x-tenant-region': 'piemonte' });
    expect(accounts['x-org']).toBeUndefined();
    expect(accounts['x-source']).toBeUndefined();
  });

  it('refuse at start a rule that names a header the gateway sets itself, an unknown rule or a bad pattern', () => {
    for (const bad of [
      { all: [{ propagate: { named: 'x-ali-gateway-token' } }] },
      { all: [{ insert: { name: 'X-Request-Id', value: 'x' } }] },
      { all: [{ propagate: { named: 'authorization', rename: 'content-length' } }] },
      { all: [{ copy: { named: 'a' } }] },
      { all: [{ propagate: { matching: '(' } }] },
      { everything: [] },
    ]) {
      expect(() => rulesOf(JSON.stringify(bad)), JSON.stringify(bad)).toThrow(ConfigError);
    }
    expect(() => rulesOf('{not json')).toThrow(ConfigError);
  });
});

describe('writes by callers without a key', () => {
  it('are allowed nowhere by default, and only to the subgraphs ANONYMOUS_WRITE_SCOPE names', async () => {
    const byDefault = await createIdentify({ anonymousScope: '*' })({});
    expect(byDefault).toMatchObject({ ok: true, caller: { role: 'anonymous', write: [] } });
    const scope = loadConfig({ ANONYMOUS_WRITE_SCOPE: 'reviews,accounts' }).ANONYMOUS_WRITE_SCOPE as string[];
    const delegated = await createIdentify({ anonymousScope: '*', anonymousWriteScope: scope })({});
    expect(delegated).toMatchObject({ ok: true, caller: { role: 'anonymous', write: ['reviews', 'accounts'] } });
    expect(loadConfig({}).ANONYMOUS_WRITE_SCOPE).toEqual([]);
    expect(() => loadConfig({ ANONYMOUS_WRITE_SCOPE: '*' })).toThrow(ConfigError);
  });
});

describe('through the gateway', () => {
  it('a client header reaches the subgraph by the rules, and an anonymous write goes through only where ANONYMOUS_WRITE_SCOPE allows it', async () => {
    const composed = composeServices([
      {
        name: 'reviews',
        url,
        typeDefs: parse('extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"]) type Query { reviews: [String] } type Mutation { addReview: Boolean }'),
      },
    ]);
    if (composed.errors) throw new Error(composed.errors.map((e) => e.message).join('\n'));
    const headerRules = rulesOf(JSON.stringify({ subgraphs: { reviews: [{ propagate: { named: 'x-user-token' } }, { propagate: { named: 'x-operation' } }] } }));
    const post = async (gateway: { url: string }, query: string, operation: string) => {
      const before = received.length;
      const res = await fetch(`${gateway.url}graphql`, {
        method: 'POST',
        // Not `Authorization`: the gateway reads that itself (an API key, or a JWT it verifies).
        headers: { 'content-type': 'application/json', 'x-user-token': 'end-user', 'x-operation': operation, 'x-other': 'no' },
        body: JSON.stringify({ query }),
      });
      return { body: (await res.json()) as { data?: unknown; errors?: { extensions?: { code?: string } }[] }, sent: received.slice(before) };
    };
    const closed = await startGateway({ supergraph: { sdl: composed.supergraphSdl }, headerRules, port: 0, host: '127.0.0.1' });
    const open = await startGateway({ supergraph: { sdl: composed.supergraphSdl }, headerRules, anonymousWriteScope: ['reviews'], port: 0, host: '127.0.0.1' });
    try {
      const read = await post(closed, '{ reviews }', 'read');
      expect(read.body).toEqual({ data: { reviews: [] } });
      expect(read.sent).toHaveLength(1);
      expect(read.sent[0]).toMatchObject({ 'x-user-token': 'end-user', 'x-operation': 'read' });
      expect(read.sent[0]!['x-other']).toBeUndefined();

      const refused = await post(closed, 'mutation { addReview }', 'write');
      expect(refused.body.errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
      expect(refused.sent).toEqual([]);
      const allowed = await post(open, 'mutation { addReview }', 'write');
      expect(allowed.body).toEqual({ data: { addReview: true } });
      expect(allowed.sent[0]).toMatchObject({ 'x-user-token': 'end-user' });
    } finally {
      await closed.stop(0);
      await open.stop(0);
    }
  });
});
