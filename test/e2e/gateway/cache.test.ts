/**
 * The gateway's caches on the real stack: hits counted in subgraph requests and database commands
 * (response cache, fetch cache, one entity at a time), entries never shared between callers whose
 * claims differ, errors never kept; and the guarantee: with two gateways over one Redis, a read
 * through either, begun after a write was acknowledged through the other, never sees what was
 * there before it, even when the read that filled the entry was in flight while the write landed.
 */
import { readFileSync } from 'node:fs';
import { printSchema, Supergraph } from '@apollo/federation-internals';
import {
  buildSchema,
  getNamedType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  type GraphQLInputType,
} from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../../gateway/runtime.ts';
import { adoptionDocs } from '../../../subgraphs/reuse/data/seed.ts';
import { startRedis, type RunningRedis } from '../../helpers/redis.ts';
import { GRAPHQL_ACCEPT, startStack, type QueryResult, type Stack } from '../../helpers/stack.ts';
import { startGate, type Gate } from './fixtures/gate.ts';

const op = (path: string) => readFileSync(new URL(`../operations/${path}.graphql`, import.meta.url), 'utf8');
const MUNICIPALITY_ADOPTIONS = op('reuse/municipalityAdoptions');
const MEMBERS_ADOPTIONS = op('reuse/membersAdoptions');
const CHANGE_ADOPTION_STATUS = op('mutations/changeAdoptionStatus');

/** One POST to a gateway, asking for the cache status. */
async function ask<T = any>(gateway: string, query: string, variables: Record<string, unknown>, headers: Record<string, string> = {}): Promise<QueryResult<T> & { cache?: any; cacheControl: string | null }> {
  const res = await fetch(`${gateway}graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: GRAPHQL_ACCEPT, ...headers },
    body: JSON.stringify({ query, variables, extensions: { cacheStatus: true } }),
  });
  const body = (await res.json()) as QueryResult<T>['body'] & { extensions?: { cacheStatus?: unknown } };
  return { status: res.status, body, cache: body.extensions?.cacheStatus, cacheControl: res.headers.get('cache-control') };
}

/** A seeded adoption and its Comune: what the writes below change and the reads read. */
const adoption = adoptionDocs().find((a) => a.status === 'PLANNED')!;
const STATUSES = ['IN_PROGRESS', 'ACTIVE', 'DISCONTINUED'] as const;

let stack: Stack;
let editor: string;

async function versionOf(id: string): Promise<number> {
  const doc = await stack.dbs.reuse.collection<{ _id: string; version?: number }>('adoptions').findOne({ _id: id });
  return doc?.version ?? 0;
}
beforeAll(async () => {
  stack = await startStack({ gateway: { cache: 'memory' } });
  editor = await stack.createKey({ name: 'cache-editor', role: 'editor', subgraphs: ['reuse'] });
});
afterAll(async () => {
  await stack?.stop();
});

describe('hits', () => {
  it('an identical query is answered from the response cache: no subgraph request, no database command', async () => {
    const vars = { istatCode: adoption.istatCode };
    const first = await ask(stack.gatewayUrl, MUNICIPALITY_ADOPTIONS, vars);
    expect(first.body.errors).toBeUndefined();
    expect(first.cache.response).toBe('miss');
    stack.resetCounters();
    const second = await ask(stack.gatewayUrl, MUNICIPALITY_ADOPTIONS, vars);
    expect(second.cache).toEqual({ response: 'hit', fetches: { hit: 0, miss: 0, stale: 0 } });
    expect(second.body.data).toEqual(first.body.data);
    expect(stack.subgraphCalls).toEqual([]);
    expect(stack.commands).toEqual([]);
    // Browsers and proxies know nothing of writes: they keep none of it.
    expect([first.cacheControl, second.cacheControl]).toEqual(['no-store', 'no-store']);
  });

  it('overlapping entity batches reuse each other: only the representations not cached are sent', async () => {
    const sent: { subgraph: string; representations: number }[] = [];
    const gateway = await stack.startGateway({
      cache: 'memory',
      onSubgraphRequest: (subgraph, _q, variables) => {
        const reps = variables?.['representations'];
        sent.push({ subgraph, representations: Array.isArray(reps) ? reps.length : 0 });
      },
    });
    const alliance = 'ali-cn';
    const five = await ask(gateway.url, MEMBERS_ADOPTIONS, { id: alliance, first: 5 });
    expect(five.body.errors).toBeUndefined();
    const reuseFirst = sent.filter((s) => s.subgraph === 'reuse' && s.representations > 0);
    expect(reuseFirst.map((s) => s.representations)).toContain(5);
    sent.length = 0;
    const ten = await ask(gateway.url, MEMBERS_ADOPTIONS, { id: alliance, first: 10 });
    expect(ten.body.errors).toBeUndefined();
    // The alliance's first 5 members are the same 5: their adoptions come from the cache.
    expect(ten.body.data.alliance.members.nodes.slice(0, 5)).toEqual(five.body.data.alliance.members.nodes);
    const membersFetch = sent.filter((s) => s.subgraph === 'reuse' && s.representations > 0)[0];
    expect(membersFetch?.representations).toBe(5);
    expect(ten.cache.fetches.hit).toBeGreaterThanOrEqual(5);
  });

  it('a deferred answer is never kept as the whole answer: the same query asked whole later gets every field', async () => {
    const query = `query DeferredAdoptions($istatCode: ID!) { municipality(istatCode: $istatCode) { istatCode name ... @defer { adoptions { id status } } } }`;
    const vars = { istatCode: adoption.istatCode };
    // Broken once to prove it: with the response cache filled from the primary part of a deferred
    // answer (gateway/cache/index.ts \`read\`), the whole answer below lacks \`adoptions\`.
    const parts = await fetch(`${stack.gatewayUrl}graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'multipart/mixed;deferSpec=20220824,application/json;q=0.9' },
      body: JSON.stringify({ query, variables: vars }),
    });
    expect(parts.headers.get('content-type')).toMatch(/^multipart\/mixed/);
    await parts.text();
    const whole = await ask(stack.gatewayUrl, query, vars);
    expect(whole.body.errors).toBeUndefined();
    expect(whole.body.data.municipality).toEqual({ istatCode: adoption.istatCode, name: expect.any(String), adoptions: expect.any(Array) });
    expect(whole.body.data.municipality.adoptions.length).toBeGreaterThan(0);
  });

  it('never shares an entry between callers whose claims differ', async () => {
    const analyst = await stack.createKey({ name: 'cache-analyst', role: 'analyst' });
    const vars = { istatCode: adoption.istatCode };
    await ask(stack.gatewayUrl, MUNICIPALITY_ADOPTIONS, vars);
    stack.resetCounters();
    const other = await ask(stack.gatewayUrl, MUNICIPALITY_ADOPTIONS, vars, { 'x-api-key': analyst });
    expect(other.body.errors).toBeUndefined();
    expect(other.cache.response).toBe('miss');
    expect(other.cache.fetches.hit).toBe(0);
    expect(stack.subgraphCalls.length).toBeGreaterThan(0);
  });

  it('mutations are never cached, and invalidate what they changed at once', async () => {
    const vars = { istatCode: adoption.istatCode };
    const before = await ask(stack.gatewayUrl, MUNICIPALITY_ADOPTIONS, vars);
    expect(before.body.errors).toBeUndefined();
    const written = await stack.query(CHANGE_ADOPTION_STATUS, { id: adoption._id, status: 'IN_PROGRESS', expectedVersion: await versionOf(adoption._id) }, { 'x-api-key': editor });
    expect(written.body.errors).toBeUndefined();
    const after = await ask(stack.gatewayUrl, MUNICIPALITY_ADOPTIONS, vars);
    expect(after.cache.response).toBe('stale');
    expect(after.body.data.municipality.adoptions.find((a: { id: string }) => a.id === adoption._id).status).toBe('IN_PROGRESS');
  });
});

/** A value of `type` that passes coercion: what a mutation's required arguments get below. */
function sample(type: GraphQLInputType): unknown {
  if (isNonNullType(type)) return sample(type.ofType);
  if (isListType(type)) return [sample(type.ofType)];
  if (isEnumType(type)) return type.getValues()[0]!.value;
  if (isInputObjectType(type)) {
    const fields = Object.values(type.getFields()).filter((f) => isNonNullType(f.type) && f.defaultValue === undefined);
    return Object.fromEntries(fields.map((f) => [f.name, sample(f.type)]));
  }
  const scalars: Record<string, unknown> = { ID: 'no-such-id', String: 'x', Int: 0, Float: 0, Boolean: false, Date: '2020-01-01', Money: '1.00', Decimal: '1' };
  const name = getNamedType(type).name;
  if (!(name in scalars)) throw new Error(`no sample value for scalar ${name}`);
  return scalars[name];
}

const invalidations = async (gateway: RunningGateway): Promise<Record<string, number>> => {
  const metric = gateway.metrics.registry.getSingleMetric('ali_gateway_cache_invalidations_total')!;
  return Object.fromEntries((await metric.get()).values.map((v) => [String(v.labels['subgraph']), v.value]));
};

// Invalidation belongs to the gateway, not to each mutation's code: whatever a mutation does or
// publishes, once it reached its subgraph that subgraph's entries are stale. Every field, so that
// a mutation added tomorrow is covered without a line here.
describe('every Mutation field of the supergraph', () => {
  const supergraphSdl = readFileSync(new URL('../../../schema/supergraph.graphql', import.meta.url), 'utf8');
  const schema = buildSchema(printSchema(Supergraph.build(supergraphSdl).apiSchema()));
  const owner = new Map([...supergraphSdl.matchAll(/^\s+(\w+)\(.*@join__field\(graph: (\w+)\)/gm)].map((m) => [m[1]!, m[2]!.toLowerCase()]));
  const fields = Object.values(schema.getMutationType()!.getFields());
  let gateway: RunningGateway;
  let writer: string;
  beforeAll(async () => {
    gateway = await stack.startGateway({ cache: 'memory' });
    writer = await stack.createKey({ name: 'cache-writer', role: 'editor', subgraphs: ['alliances', 'governance', 'funding', 'reuse'] });
  });
  afterAll(() => gateway?.stop(0));

  it('covers every field', () => {
    expect(fields.length).toBeGreaterThanOrEqual(7);
    for (const f of fields) expect(owner.get(f.name), f.name).toMatch(/^(alliances|governance|funding|reuse)$/);
  });

  it.each(fields.map((f) => [f.name, f] as const))('%s invalidates its subgraph and no other', async (name, field) => {
    const required = field.args.filter((a) => isNonNullType(a.type));
    const declared = required.map((a) => `$${a.name}: ${String(a.type)}`).join(', ');
    const args = required.map((a) => `${a.name}: $${a.name}`).join(', ');
    const query = `mutation Walk${declared ? `(${declared})` : ''} { ${name}${args ? `(${args})` : ''} { __typename } }`;
    const before = await invalidations(gateway);
    const res = await ask(gateway.url, query, Object.fromEntries(required.map((a) => [a.name, sample(a.type)])), { 'x-api-key': writer });
    expect(res.status, JSON.stringify(res.body)).toBeLessThan(500);
    const after = await invalidations(gateway);
    const bumped = Object.keys(after).filter((s) => after[s]! > (before[s] ?? 0));
    expect(bumped, JSON.stringify(res.body.errors)).toEqual([owner.get(name)]);
  });
});

describe('two gateways over one Redis', () => {
  let redis: RunningRedis;
  let a: RunningGateway;
  let b: RunningGateway;
  /** Without a cache: what every read is compared with. */
  let reference: RunningGateway;
  const planned = adoptionDocs().filter((d) => d.status === 'PLANNED' && d.istatCode !== adoption.istatCode);

  beforeAll(async () => {
    redis = await startRedis();
    a = await stack.startGateway({ cache: 'redis', redisUrl: redis.url });
    b = await stack.startGateway({ cache: 'redis', redisUrl: redis.url });
    reference = await stack.startGateway();
  });
  afterAll(async () => {
    for (const g of [a, b, reference]) await g?.stop(0);
    await redis?.stop();
  });

  const statusIn = (res: { body: { data?: any } }, id: string): string | undefined =>
    res.body.data?.municipality?.adoptions?.find((x: { id: string }) => x.id === id)?.status;

  // Many clients read through both gateways while writes go through either: a read that began
  // after a write's answer and ended before the next write began must show that write.
  it('no read begun after a write was acknowledged through either gateway shows what was there before', async () => {
    const target = planned[0]!;
    const vars = { istatCode: target.istatCode };
    const writes: { status: string; startedAt: number; ackedAt: number }[] = [{ status: 'PLANNED', startedAt: 0, ackedAt: 0 }];
    const reads: { gateway: string; t0: number; t1: number; status: string | undefined; response: string }[] = [];
    let writing = true;
    const reader = async (gateway: RunningGateway) => {
      while (writing) {
        const t0 = performance.now();
        const res = await ask(gateway.url, MUNICIPALITY_ADOPTIONS, vars);
        expect(res.body.errors).toBeUndefined();
        reads.push({ gateway: gateway.url, t0, t1: performance.now(), status: statusIn(res, target._id), response: res.cache.response });
      }
    };
    const readers = Promise.all([a, b, a, b, a, b].map(reader));
    try {
      for (let i = 0; i < 8; i++) {
        await new Promise((r) => setTimeout(r, 150));
        const status = STATUSES[i % STATUSES.length]!;
        const startedAt = performance.now();
        const through = i % 2 === 0 ? a : b;
        const res = await ask(through.url, CHANGE_ADOPTION_STATUS, { id: target._id, status, expectedVersion: await versionOf(target._id) }, { 'x-api-key': editor });
        expect(res.body.errors, JSON.stringify(res.body.errors)).toBeUndefined();
        writes.push({ status, startedAt, ackedAt: performance.now() });
      }
      await new Promise((r) => setTimeout(r, 150));
    } finally {
      writing = false;
      await readers;
    }

    const stale = reads.filter((r) => {
      const k = writes.findLastIndex((w) => w.ackedAt <= r.t0);
      const next = writes[k + 1];
      const allowed = next && r.t1 >= next.startedAt ? [writes[k]!.status, next.status] : [writes[k]!.status];
      return !allowed.includes(r.status!);
    });
    expect(stale).toEqual([]);
    // The run is worth something only if the caches answered: hits through both gateways.
    for (const g of [a, b]) expect(reads.filter((r) => r.gateway === g.url && r.response === 'hit').length).toBeGreaterThan(5);
    expect(reads.filter((r) => r.response === 'stale').length).toBeGreaterThan(0);
    const last = await ask(reference.url, MUNICIPALITY_ADOPTIONS, vars);
    for (const g of [a, b]) expect((await ask(g.url, MUNICIPALITY_ADOPTIONS, vars)).body.data).toEqual(last.body.data);
  });

  // The read through B is answered by the subgraph before the write, and held until the write
  // through A is acknowledged: what it fills must not be served after that.
  it('a read in flight while a write lands leaves nothing stale behind', async () => {
    const target = planned[1]!;
    const vars = { istatCode: target.istatCode };
    const gate: Gate = await startGate(stack.subgraphUrls.reuse);
    const gated = await stack.startGateway({ cache: 'redis', redisUrl: redis.url, urlOverrides: { ...stack.subgraphUrls, reuse: gate.url } });
    try {
      const held = gate.close();
      const inFlight = ask(gated.url, MUNICIPALITY_ADOPTIONS, vars);
      await held;
      const res = await ask(a.url, CHANGE_ADOPTION_STATUS, { id: target._id, status: 'ACTIVE', expectedVersion: await versionOf(target._id) }, { 'x-api-key': editor });
      expect(res.body.errors).toBeUndefined();
      gate.open();
      // It began before the write was acknowledged: it may show the old status.
      expect(statusIn(await inFlight, target._id)).toBe('PLANNED');
      for (const g of [gated, a, b]) {
        const after = await ask(g.url, MUNICIPALITY_ADOPTIONS, vars);
        expect(statusIn(after, target._id)).toBe('ACTIVE');
      }
    } finally {
      await gated.stop(0);
      await gate.stop();
    }
  });

  it('a funding-only key gets nothing outside its view from entries another caller filled', async () => {
    const partner = await stack.createKey({ name: 'cache-partner', role: 'partner', subgraphs: ['funding'] });
    const vars = { istatCode: adoption.istatCode };
    for (let i = 0; i < 2; i++) expect((await ask(a.url, MUNICIPALITY_ADOPTIONS, vars)).body.errors).toBeUndefined();
    const refused = await ask(b.url, MUNICIPALITY_ADOPTIONS, vars, { 'x-api-key': partner });
    expect(refused.body.data ?? null).toBeNull();
    expect(refused.body.errors?.length).toBeGreaterThan(0);
  });

  it('answers with errors are never kept', async () => {
    const vars = { istatCode: '999999' };
    const first = await ask(a.url, MUNICIPALITY_ADOPTIONS, vars);
    expect(first.body.errors?.length).toBeGreaterThan(0);
    stack.resetCounters();
    const again = await ask(b.url, MUNICIPALITY_ADOPTIONS, vars);
    expect(again.body.errors).toEqual(first.body.errors);
    expect(again.cache.response).toBe('miss');
    expect(stack.commands.length).toBeGreaterThan(0);
  });
});
