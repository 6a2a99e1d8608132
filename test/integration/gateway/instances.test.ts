/**
 * SubgraphDataSource over several instances of one subgraph (SUBGRAPH_<NAME>_URL listing their
 * URLs), each a real HTTP server on port 0: requests go round-robin; a query whose instance
 * refuses the connection or dies with the request in flight is sent once more to the other
 * instance; a mutation is never sent twice, whatever happened to it; an instance that failed is
 * passed over afterwards. The same behaviour with real processes killed under load is
 * test/scale/failover.test.ts.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { parse } from 'graphql';
import { pino } from 'pino';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { GatewayContext } from '../../../gateway/context.ts';
import { SubgraphDataSource, SubgraphPools } from '../../../gateway/transport/index.ts';
import { ANONYMOUS } from '../../../lib/access.ts';

interface Instance {
  readonly url: string;
  /** Queries this instance received (answered or not). */
  readonly received: string[];
  /** `die`: destroy the socket once the request has arrived, as a process killed mid-request would. */
  mode: 'answer' | 'die';
  close(): Promise<void>;
}

const instances: Instance[] = [];

async function instance(name: string): Promise<Instance> {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const { query } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { query: string };
      inst.received.push(query);
      if (inst.mode === 'die') return void req.socket.destroy();
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ data: query.startsWith('mutation') ? { grant: name } : { fundingSources: [name] } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const inst: Instance = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`,
    received: [],
    mode: 'answer',
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  instances.push(inst);
  return inst;
}

/** A URL nothing listens on: a closed instance's. */
async function deadUrl(): Promise<string> {
  const gone = await instance('gone');
  await gone.close();
  return gone.url;
}

const pools = new SubgraphPools();
const silent = pino({ level: 'silent' });

function dataSource(urls: string[]) {
  const retries: { from: string; to: string }[] = [];
  const ds = new SubgraphDataSource({
    name: 'funding',
    url: urls.join(','),
    pools,
    timeoutMs: 2_000,
    circuit: { failureThreshold: 100, resetMs: 1_000 },
    dedupe: false,
    hooks: { onRetry: (_s, from, to) => retries.push({ from, to }) },
  });
  return { ds, retries };
}

function incoming(query: string): GraphQLDataSourceProcessOptions<GatewayContext> {
  return {
    kind: 'incoming operation',
    request: { query },
    incomingRequestContext: { overallCachePolicy: { restrict: () => {} } },
    context: { requestId: 'req-1', caller: ANONYMOUS, log: silent },
    document: parse(query),
    pathInIncomingRequest: [],
  } as unknown as GraphQLDataSourceProcessOptions<GatewayContext>;
}

afterEach(async () => {
  await Promise.all(instances.splice(0).map((i) => i.close()));
});
afterAll(async () => {
  await pools.close();
});

describe('several instances of one subgraph', () => {
  it('share the requests round-robin', async () => {
    const [a, b] = [await instance('a'), await instance('b')];
    const { ds, retries } = dataSource([a.url, b.url]);
    for (let i = 0; i < 6; i++) expect((await ds.process(incoming(`{ n${i}: fundingSources }`))).errors).toBeUndefined();
    expect([a.received.length, b.received.length]).toEqual([3, 3]);
    expect(retries).toEqual([]);
  });

  it('a query whose instance refuses the connection is answered by the other, which then takes every request for a while', async () => {
    const live = await instance('live');
    const dead = await deadUrl();
    const { ds, retries } = dataSource([dead, live.url]);
    const first = await ds.process(incoming('{ fundingSources }'));
    expect(first).toMatchObject({ data: { fundingSources: ['live'] } });
    expect(first.errors).toBeUndefined();
    expect(retries).toEqual([{ from: dead, to: live.url }]);
    // The dead instance rests: the next queries go straight to the live one, without a retry.
    for (let i = 0; i < 4; i++) expect((await ds.process(incoming(`{ n${i}: fundingSources }`))).errors).toBeUndefined();
    expect(retries).toHaveLength(1);
    expect(live.received).toHaveLength(5);
  });

  it('a query in flight on an instance that dies is sent again to the other instance', async () => {
    const [dying, live] = [await instance('dying'), await instance('live')];
    dying.mode = 'die';
    const { ds, retries } = dataSource([dying.url, live.url]);
    const response = await ds.process(incoming('{ fundingSources }'));
    expect(response.errors).toBeUndefined();
    expect(response.data).toEqual({ fundingSources: ['live'] });
    expect(dying.received.length).toBeGreaterThanOrEqual(1);
    expect(live.received).toEqual(['{ fundingSources }']);
    expect(retries).toEqual([{ from: dying.url, to: live.url }]);
  });

  it('a mutation in flight on an instance that dies fails with SUBGRAPH_UNAVAILABLE and is never sent to the other', async () => {
    const [dying, live] = [await instance('dying'), await instance('live')];
    dying.mode = 'die';
    const { ds, retries } = dataSource([dying.url, live.url]);
    const response = await ds.process(incoming('mutation { grant }'));
    expect(response.errors?.map((e) => e.extensions?.['code'])).toEqual(['SUBGRAPH_UNAVAILABLE']);
    expect(dying.received).toEqual(['mutation { grant }']);
    expect(live.received).toEqual([]);
    expect(retries).toEqual([]);
  });

  it('a mutation whose instance refuses the connection fails, is not retried, and the next one goes to the live instance', async () => {
    const live = await instance('live');
    const dead = await deadUrl();
    const { ds, retries } = dataSource([dead, live.url]);
    const refused = await ds.process(incoming('mutation { grant }'));
    expect(refused.errors?.map((e) => e.extensions?.['code'])).toEqual(['SUBGRAPH_UNAVAILABLE']);
    expect(live.received).toEqual([]);
    expect(retries).toEqual([]);
    const next = await ds.process(incoming('mutation { grant }'));
    expect(next.errors).toBeUndefined();
    expect(next.data).toEqual({ grant: 'live' });
    expect(live.received).toEqual(['mutation { grant }']);
  });

  it('with one URL nothing changes: a refused query fails without a retry', async () => {
    const { ds, retries } = dataSource([await deadUrl()]);
    const response = await ds.process(incoming('{ fundingSources }'));
    expect(response.errors?.map((e) => e.extensions?.['code'])).toEqual(['SUBGRAPH_UNAVAILABLE']);
    expect(retries).toEqual([]);
  });
});
