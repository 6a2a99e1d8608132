/**
 * `@defer` through the gateway (lean executor): the primary part arrives before the deferred
 * subgraph answers; the parts add up to the answer without @defer, in both incremental formats and
 * over SSE and graphql-ws; a client that takes neither format gets that answer at once; labels,
 * `if`, nested defers, errors and nulls that stay in their part; the response-size ceiling over all
 * parts; and @defer ignored by the stock executor.
 */
import { readFileSync } from 'node:fs';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startGateway } from '../../../gateway/runtime.ts';
import { compose, startSubgraphs } from '../differential/harness.ts';
import { classes, sizes } from '../differential/supergraphs/shadowed.ts';
import { startDeferFixture, type DeferFixture } from './fixtures.ts';
import { comparable, mergePayloads, multipartPayloads, type Payload } from './multipart.ts';

const operation = (name: string) => readFileSync(new URL(`./operations/${name}.graphql`, import.meta.url), 'utf8');
const DEFERRED = operation('allianceFunding');
const PLAIN = operation('allianceFundingPlain');
const LEGACY = 'multipart/mixed;deferSpec=20220824,application/graphql-response+json,application/json;q=0.9';
const CURRENT = 'multipart/mixed;incrementalSpec=v0.2,application/graphql-response+json,application/json;q=0.9';

function post(url: string, query: string, accept: string, variables?: Record<string, unknown>, signal?: AbortSignal): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', accept }, body: JSON.stringify({ query, variables }), ...(signal ? { signal } : {}) });
}

async function all(res: Response): Promise<Payload[]> {
  const out: Payload[] = [];
  for await (const payload of multipartPayloads(res)) out.push(payload);
  return out;
}

let fx: DeferFixture;
let plain: Payload;

beforeAll(async () => {
  fx = await startDeferFixture();
  plain = (await (await post(fx.url, PLAIN, 'application/json')).json()) as Payload;
});
afterAll(() => fx?.stop());

describe('@defer over HTTP (multipart)', () => {
  it('sends the primary part while the deferred subgraph is held, then the parts, which add up to the answer without @defer', async () => {
    const release = fx.hold();
    let first: Payload;
    let payloads: AsyncGenerator<Payload, void, undefined>;
    try {
      fx.takeFundingRequests();
      payloads = multipartPayloads(await post(fx.url, DEFERRED, LEGACY));
      first = (await payloads.next()).value!;
      // Received while the funding subgraph holds its answers for the three alliances.
      for (let waited = 0; fx.fundingRequests() < 3 && waited < 5000; waited += 20) await new Promise((r) => setTimeout(r, 20));
      expect(fx.takeFundingRequests()).toBe(3);
    } finally {
      release();
    }
    expect(first).toEqual({ data: { alliances: [{ id: 'a1', name: 'ALI Torino Nord' }, { id: 'a2', name: 'ALI Langhe' }, { id: 'a3', name: 'ALI Ossola' }] }, hasNext: true });
    const rest: Payload[] = [];
    for await (const payload of payloads) rest.push(payload);
    expect(rest.at(-1)!['hasNext']).toBe(false);
    expect(rest.slice(0, -1).every((p) => p['hasNext'] === true)).toBe(true);
    // The labelled part, one item per alliance, then the unlabelled nested one per partner.
    expect(rest[0]!['incremental'].map((i: Payload) => [i['path'], i['label']])).toEqual([
      [['alliances', 0], 'funding'],
      [['alliances', 1], 'funding'],
      [['alliances', 2], 'funding'],
    ]);
    expect(rest[1]!['incremental'].map((i: Payload) => i['path'])).toEqual([
      ['alliances', 0, 'projects', 0, 'partner'],
      ['alliances', 2, 'projects', 0, 'partner'],
      ['alliances', 2, 'projects', 1, 'partner'],
    ]);
    expect(rest[1]!['incremental'].some((i: Payload) => 'label' in i)).toBe(false);
    const merged = mergePayloads([first, ...rest]);
    expect(merged.data).toEqual(plain['data']);
    expect(comparable(merged.errors)).toEqual(comparable(plain['errors']));
  });

  it('keeps a deferred part’s errors in that part, with their path, and the primary data whole', async () => {
    const payloads = await all(await post(fx.url, DEFERRED, LEGACY));
    expect(payloads[0]!['errors']).toBeUndefined();
    const ossola = payloads[1]!['incremental'][2];
    expect(ossola).toMatchObject({ path: ['alliances', 2], data: { audit: null, fundingTotal: 0 } });
    expect(ossola.errors).toEqual([expect.objectContaining({ message: 'audit of a3 is unavailable', path: ['alliances', 2, 'audit'] })]);
    expect(payloads[1]!['incremental'][0].errors).toBeUndefined();
  });

  it('a null in a non-null deferred field nulls that part only', async () => {
    const payloads = await all(await post(fx.url, operation('auditor'), LEGACY));
    expect(payloads[0]!['data']).toEqual({ alliances: [{ id: 'a1' }, { id: 'a2' }, { id: 'a3' }] });
    const items = payloads[1]!['incremental'] as Payload[];
    expect(items.map((i) => i['data'])).toEqual([{ auditor: 'Regione Piemonte' }, { auditor: 'Regione Piemonte' }, null]);
    expect(items[2]!['errors']).toEqual([expect.objectContaining({ message: 'Cannot return null for non-nullable field Alliance.auditor.', path: ['alliances', 2, 'auditor'] })]);
  });

  it('speaks graphql-js 17’s format when asked: pending ids, incremental by id, completed', async () => {
    const res = await post(fx.url, DEFERRED, CURRENT);
    expect(res.headers.get('content-type')).toBe('multipart/mixed; boundary="-"; incrementalSpec=v0.2');
    const payloads = await all(res);
    expect(payloads[0]!['pending']).toEqual([
      { id: '0', path: ['alliances', 0], label: 'funding' },
      { id: '1', path: ['alliances', 1], label: 'funding' },
      { id: '2', path: ['alliances', 2], label: 'funding' },
    ]);
    expect(payloads[1]!['completed']).toEqual([{ id: '0' }, { id: '1' }, { id: '2' }]);
    expect(payloads[1]!['pending'].map((p: Payload) => p['path'])).toEqual([
      ['alliances', 0, 'projects', 0, 'partner'],
      ['alliances', 2, 'projects', 0, 'partner'],
      ['alliances', 2, 'projects', 1, 'partner'],
    ]);
    const merged = mergePayloads(payloads);
    expect(merged.data).toEqual(plain['data']);
    expect(comparable(merged.errors)).toEqual(comparable(plain['errors']));
  });

  it('answers a client that accepts no incremental format with the whole result at once', async () => {
    const res = await post(fx.url, DEFERRED, 'application/graphql-response+json, application/json;q=0.9');
    expect(res.headers.get('content-type')).toMatch(/^application\/graphql-response\+json/);
    const body = (await res.json()) as Payload;
    expect(body['data']).toEqual(plain['data']);
    expect(comparable(body['errors'])).toEqual(comparable(plain['errors']));
    // `multipart/mixed` without a spec is no format either.
    expect((await post(fx.url, DEFERRED, 'multipart/mixed, application/json;q=0.5')).headers.get('content-type')).toMatch(/^application\/json/);
  });

  it('@defer(if: false) is not deferred; if: true is', async () => {
    const off = await post(fx.url, operation('deferIf'), LEGACY, { defer: false });
    expect(off.headers.get('content-type')).toMatch(/^application\/graphql-response\+json/);
    expect(await off.json()).toEqual({ data: { alliance: { name: 'ALI Torino Nord', fundingTotal: 120000 } } });
    const on = await all(await post(fx.url, operation('deferIf'), LEGACY, { defer: true }));
    expect(on).toEqual([
      { data: { alliance: { name: 'ALI Torino Nord' } }, hasNext: true },
      { incremental: [{ data: { fundingTotal: 120000 }, path: ['alliance'], label: 'total' }], hasNext: false },
    ]);
  });

  it('refuses a bad @defer like any invalid operation, before anything is fetched', async () => {
    fx.takeFundingRequests();
    const res = await post(fx.url, '{ alliances { ... @defer(label: 3) { fundingTotal } } }', LEGACY);
    expect(res.status).toBe(400);
    const body = (await res.json()) as Payload;
    expect(body['errors'][0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(fx.takeFundingRequests()).toBe(0);
  });

  it('a client that goes away while a part is held ends the answer without waiting for it', async () => {
    const release = fx.hold();
    try {
      const abort = new AbortController();
      const payloads = multipartPayloads(await post(fx.url, DEFERRED, LEGACY, undefined, abort.signal));
      expect((await payloads.next()).value!['hasNext']).toBe(true);
      abort.abort();
      await payloads.return();
      // The gateway still answers others at once (the abandoned parts hold nothing).
      const res = await post(fx.url, '{ alliances { id } }', 'application/json');
      expect(await res.json()).toEqual({ data: { alliances: [{ id: 'a1' }, { id: 'a2' }, { id: 'a3' }] } });
    } finally {
      release();
    }
  });
});

describe('operation limits', () => {
  it('the cost estimate counts deferred fields as any other', async () => {
    const cost = async (res: Response) => {
      const first = res.headers.get('content-type')!.startsWith('multipart') ? (await multipartPayloads(res).next()).value! : ((await res.json()) as Payload);
      return first['extensions']?.cost?.estimated as number;
    };
    const send = (query: string) =>
      fetch(fx.url, { method: 'POST', headers: { 'content-type': 'application/json', accept: LEGACY }, body: JSON.stringify({ query, extensions: { cost: true } }) });
    const deferred = await cost(await send(DEFERRED));
    expect(deferred).toBeGreaterThan(await cost(await send('{ alliances { id name } }')));
    expect(deferred).toBe(await cost(await send(PLAIN)));
  });
});

describe('metrics', () => {
  it('times each deferred answer to its first and to its last payload', async () => {
    const count = async (payload: string) => {
      const text = await fx.gateway.metrics.registry.getSingleMetricAsString('ali_gateway_deferred_response_seconds');
      return Number(new RegExp(`_count\\{payload="${payload}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
    };
    const [first, last] = [await count('first'), await count('last')];
    await all(await post(fx.url, DEFERRED, LEGACY));
    expect([await count('first'), await count('last')]).toEqual([first + 1, last + 1]);
  });
});

describe('@defer over SSE and graphql-ws: one next message per payload', () => {
  it('SSE', async () => {
    const res = await fetch(fx.url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'text/event-stream' }, body: JSON.stringify({ query: DEFERRED }) });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const text = await res.text();
    const payloads = [...text.matchAll(/^event: next\ndata: (.*)$/gm)].map((m) => JSON.parse(m[1]!) as Payload);
    expect(payloads.map((p) => p['hasNext'])).toEqual([true, true, false]);
    expect(text.trimEnd().endsWith('event: complete\ndata:')).toBe(true);
    expect(mergePayloads(payloads).data).toEqual(plain['data']);
  });

  it('graphql-ws', async () => {
    const client = createClient({ url: fx.url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, retryAttempts: 0 });
    try {
      const payloads = await new Promise<Payload[]>((resolve, reject) => {
        const out: Payload[] = [];
        client.subscribe({ query: DEFERRED }, { next: (p) => void out.push(p as Payload), error: reject, complete: () => resolve(out) });
      });
      expect(payloads.map((p) => p['hasNext'])).toEqual([true, true, false]);
      expect(mergePayloads(payloads).data).toEqual(plain['data']);
    } finally {
      await client.dispose();
    }
  });
});

describe('limits across all parts', () => {
  it('a deferred part that takes the answer over the response-size ceiling is replaced by RESPONSE_TOO_LARGE, and ends it', async () => {
    const small = await startDeferFixture({ executionLimits: { anonymous: { maxResponseBytes: 400 } } });
    try {
      const payloads = await all(await post(small.url, DEFERRED, LEGACY));
      expect(payloads[0]!['data'].alliances).toHaveLength(3);
      const last = payloads.at(-1)!;
      expect(last['hasNext']).toBe(false);
      expect(last['incremental'][0]).toMatchObject({ data: null, errors: [expect.objectContaining({ extensions: expect.objectContaining({ code: 'RESPONSE_TOO_LARGE' }) })] });
    } finally {
      await small.stop();
    }
  });
});

describe('plans left to stock', () => {
  // Scenario: a supergraph with a field named like an Object.prototype member sends every plan to
  // stock, which cannot execute deferred fragments: the query is planned again without them.
  it('are planned without @defer and answered whole', async () => {
    const subgraphs = await startSubgraphs([classes, sizes]);
    const sdl = compose([classes, sizes].map((d) => ({ name: d.name, typeDefs: d.typeDefs, url: subgraphs.urls[d.name]! })));
    const executed: string[] = [];
    const gateway = await startGateway({ supergraph: { sdl }, port: 0, host: '127.0.0.1', onExecute: (e) => void executed.push(`${e.executor} ${e.fallback}`) });
    try {
      const url = `${gateway.url}graphql`;
      const res = await post(url, '{ classes { id ... @defer { constructor valueOf } } }', LEGACY);
      expect(res.headers.get('content-type')).toMatch(/^application\/graphql-response\+json/);
      const plainAnswer = await (await post(url, '{ classes { id constructor valueOf } }', 'application/json')).json();
      expect(await res.json()).toEqual(plainAnswer);
      expect(executed).toEqual(['stock shadowed_names', 'stock shadowed_names']);
    } finally {
      await gateway.stop(0);
      await subgraphs.stop();
    }
  });
});

describe('stock executor', () => {
  it('ignores @defer (as the RFC allows a server to): the whole answer at once', async () => {
    const stock = await startDeferFixture({ executor: 'stock' });
    try {
      const res = await post(stock.url, DEFERRED, LEGACY);
      expect(res.headers.get('content-type')).toMatch(/^application\/graphql-response\+json/);
      const body = (await res.json()) as Payload;
      expect(body['data']).toEqual(plain['data']);
    } finally {
      await stock.stop();
    }
  });
});
