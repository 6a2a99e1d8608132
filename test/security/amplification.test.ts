/**
 * Response amplification: small operations within every shape limit (depth, aliases, tokens) that
 * make the gateway build huge answers. First the review's two attacks, which the cost estimate
 * must refuse before any subgraph is called; then the ceilings that hold whatever the estimate
 * says (a maximum response size and a deadline per request, per role), on both executors and on
 * subscription events.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ROLES } from '../../lib/access.ts';
import { DEFAULT_OPERATION_LIMITS } from '../../gateway/operationLimits.ts';
import type { GatewayOptions, RunningGateway } from '../../gateway/runtime.ts';
import { piedmontMunicipalities } from '../../lib/domain/registry.ts';
import { adoptionDocs } from '../../subgraphs/reuse/data/seed.ts';
import { GRAPHQL_ACCEPT, startStack, type Stack } from '../helpers/stack.ts';
import { send } from '../helpers/transports.ts';

const operation = (name: string) => readFileSync(new URL(`./operations/${name}.graphql`, import.meta.url), 'utf8');
const PARTNER_ATTACK = operation('partnerAmplification');
const ANONYMOUS_ATTACK = operation('anonymousAmplification');
const DEADLINE_SPLIT = operation('deadlineSplit');
const LATE_PROVINCE = operation('lateProvince');
const FACILITATORS_PER_COMUNE = operation('facilitatorsPerComune');
const ADOPTION_DETAILS = operation('adoptionDetails');
const REGISTER_ADOPTION = operation('registerAdoption');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let stack: Stack;
let prod: RunningGateway;
let partnerKey: string;
let editorKey: string;

beforeAll(async () => {
  stack = await startStack();
  prod = await stack.startGateway({ production: true, anonymousScope: '*' });
  partnerKey = await stack.createKey({ name: 'partner-funding', role: 'partner', subgraphs: ['funding'] });
  editorKey = await stack.createKey({ name: 'editor-reuse', role: 'editor', subgraphs: ['reuse'] });
});

afterAll(async () => {
  await stack?.stop();
});

/** Every role's operation limits with the cost estimate switched off: only the ceilings stand. */
const NO_COST_LIMIT = Object.fromEntries(ROLES.map((role) => [role, { ...DEFAULT_OPERATION_LIMITS[role], maxCost: Number.MAX_SAFE_INTEGER }]));

/** A gateway of the stack with other options; `executionLimits` for anonymous callers. */
function gatewayWith(anonymous: { maxResponseBytes?: number; deadlineMs?: number }, options: Partial<GatewayOptions> = {}): Promise<RunningGateway> {
  const extra = { operationLimits: NO_COST_LIMIT, executionLimits: { anonymous }, ...options };
  return stack.startGateway(extra as Partial<GatewayOptions>);
}

/** POSTs a query as a current client does (accepting graphql-response+json, so refusals keep their 4xx); the status, parsed body, size of the body in bytes and time taken. */
async function post(url: string, query: string, headers: Record<string, string> = {}) {
  const started = performance.now();
  const res = await fetch(`${url}graphql`, { method: 'POST', headers: { 'content-type': 'application/json', accept: GRAPHQL_ACCEPT, ...headers }, body: JSON.stringify({ query }) });
  const text = await res.text();
  const ms = performance.now() - started;
  return { status: res.status, bytes: Buffer.byteLength(text), ms, body: JSON.parse(text) as { data?: any; errors?: { message: string; path?: unknown[]; extensions?: Record<string, unknown> }[] } };
}

/** A loopback proxy in front of a subgraph: delays every request, counts the bytes it answers and the requests the gateway gave up on. */
interface Proxy {
  readonly url: string;
  readonly stats: { requests: number; abandoned: number; answeredBytes: number };
  close(): Promise<void>;
}

async function startProxy(target: string, delayMs: number): Promise<Proxy> {
  const stats = { requests: 0, abandoned: 0, answeredBytes: 0 };
  const server = http.createServer(async (req, res) => {
    stats.requests++;
    let gone = false;
    res.on('close', () => {
      if (!res.writableFinished) {
        gone = true;
        stats.abandoned++;
      }
    });
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    await sleep(delayMs);
    if (gone) return;
    const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => !['host', 'connection', 'content-length'].includes(k))) as Record<string, string>;
    const answer = await fetch(target, { method: 'POST', headers, body: Buffer.concat(chunks) });
    const body = Buffer.from(await answer.arrayBuffer());
    if (gone) return;
    stats.answeredBytes += body.length;
    res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`,
    stats,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe("the review's attacks are refused by the cost estimate, before any subgraph is called", () => {
  it('a partner query with 10 aliases of lists without `first`, 12 levels deep', async () => {
    stack.resetCounters();
    // Before: 200, about 16 MB in about 14 s (every shape limit passed: the estimate counted each list as one item).
    const r = await post(stack.gatewayUrl, PARTNER_ATTACK, { 'x-api-key': partnerKey });
    expect(r.status).toBe(400);
    expect(r.body.errors?.[0]?.extensions).toMatchObject({ code: 'OPERATION_LIMIT_EXCEEDED', limit: 'maxCost', max: DEFAULT_OPERATION_LIMITS.partner.maxCost });
    expect(stack.subgraphCalls).toEqual([]);
  });

  it('an anonymous production caller with 15 aliases, 10 levels deep', async () => {
    stack.resetCounters();
    // Before: 200, about 3 MB in about 4 s.
    const r = await post(prod.url, ANONYMOUS_ATTACK);
    expect(r.status).toBe(400);
    expect(r.body.errors?.[0]?.extensions).toMatchObject({ code: 'OPERATION_LIMIT_EXCEEDED', limit: 'maxCost', max: DEFAULT_OPERATION_LIMITS.anonymous.maxCost });
    expect(stack.subgraphCalls).toEqual([]);
  });

  it('aliases of __typename are counted, each copy', async () => {
    const many = `{ provinces { ${Array.from({ length: 15 }, (_, i) => `t${i}: __typename`).join(' ')} } }`;
    const few = '{ provinces { t0: __typename } }';
    const cost = async (query: string) => {
      const res = await fetch(`${prod.url}graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query, extensions: { cost: true } }),
      });
      return ((await res.json()) as { extensions?: { cost?: { estimated?: number } } }).extensions?.cost?.estimated;
    };
    const [a, b] = [await cost(many), await cost(few)];
    expect(a).toBeGreaterThan(b!);
    expect(a! - b!).toBe(14 * 8); // 14 more copies in each of the 8 provinces (@listSize(assumedSize: 8))
  });
});

describe('estimated and actual cost, reported', () => {
  /** `<name>_sum` and `<name>_count` of a histogram's series for `role` in a /metrics text. */
  const series = (text: string, name: string, role: string) => {
    const value = (part: string) => Number(new RegExp(`^${name}_${part}\\{role="${role}"\\} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
    return { sum: value('sum'), count: value('count') };
  };
  const metrics = async () => (await fetch(`${stack.gatewayUrl}metrics`)).text();

  it('in the response when asked, and in the metrics by role, the actual one from what was returned', async () => {
    const before = await metrics();
    const res = await fetch(`${stack.gatewayUrl}graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ provinces { name } }', extensions: { cost: true } }),
    });
    const body = (await res.json()) as { data: { provinces: unknown[] }; extensions: { cost: { estimated: number; actual: number; max: number } } };
    // Each province returned costs its field and its name (docs/access.md, the cost model): n × (1 + 1).
    const { estimated, actual, max } = body.extensions.cost;
    expect(max).toBe(DEFAULT_OPERATION_LIMITS.anonymous.maxCost);
    expect(estimated).toBeGreaterThanOrEqual(actual);
    expect(actual).toBe(body.data.provinces.length * 2);
    const after = await metrics();
    for (const [name, value] of [['ali_gateway_operation_cost_estimated', estimated], ['ali_gateway_operation_cost_actual', actual]] as const) {
      const [was, now] = [series(before, name, 'anonymous'), series(after, name, 'anonymous')];
      expect(now.count - was.count, name).toBe(1);
      expect(now.sum - was.sum, name).toBe(value);
    }
  });

  it('the actual cost follows each request’s @include variable, for one operation asked again and again', async () => {
    const query = 'query Provinces($codes: Boolean!) { provinces { name code @include(if: $codes) } }';
    const actual = async (codes: boolean) => {
      const res = await fetch(`${stack.gatewayUrl}graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query, variables: { codes }, extensions: { cost: true } }),
      });
      const body = (await res.json()) as { data: { provinces: { code?: string }[] }; extensions: { cost: { actual: number } } };
      expect(body.data.provinces.every((p) => (p.code !== undefined) === codes)).toBe(true);
      return { n: body.data.provinces.length, actual: body.extensions.cost.actual };
    };
    for (const codes of [true, false, true, false]) {
      const { n, actual: cost } = await actual(codes);
      expect(n).toBeGreaterThan(0);
      expect(cost, `codes: ${codes}`).toBe(n * (codes ? 3 : 2));
    }
  });
});

describe('ceilings that hold whatever the estimate says', () => {
  it.each(['lean', 'stock'] as const)('%s executor: the anonymous attack with no cost limit is cut at the response-size ceiling, with a clear code', async (executor) => {
    // A deadline the subgraph's 3 MB answer (computed in this process) cannot reach, even on a loaded machine.
    const gateway = await gatewayWith({ maxResponseBytes: 262_144, deadlineMs: 120_000 }, { executor });
    const r = await post(gateway.url, ANONYMOUS_ATTACK);
    expect(r.body.errors?.map((e) => e.extensions?.['code'])).toContain('RESPONSE_TOO_LARGE');
    expect(r.bytes).toBeLessThanOrEqual(262_144);
    expect(r.body.data ?? null).toBeNull(); // `calls` is non-null: nothing of it is complete
    expect(r.status).toBe(400);
  });

  it('a subgraph answer is counted as it arrives: the request stops at the ceiling, data already complete is kept', async () => {
    const proxy = await startProxy(stack.subgraphUrls.alliances, 200);
    try {
      const gateway = await gatewayWith({ maxResponseBytes: 20_000 }, { urlOverrides: { ...stack.subgraphUrls, alliances: proxy.url } });
      const r = await post(gateway.url, LATE_PROVINCE);
      expect(r.status).toBe(200);
      expect(r.body.data).toEqual({ fundingSource: { name: expect.any(String) }, province: null });
      expect(r.body.errors).toEqual([expect.objectContaining({ path: ['province'], extensions: expect.objectContaining({ code: 'RESPONSE_TOO_LARGE', serviceName: 'alliances' }) })]);
      expect(r.bytes).toBeLessThan(20_000);
    } finally {
      await proxy.close();
    }
  });

  it('the serialised response is bounded too, when small subgraph answers are copied into a large one', async () => {
    const alliances = await startProxy(stack.subgraphUrls.alliances, 0);
    const governance = await startProxy(stack.subgraphUrls.governance, 0);
    try {
      const urlOverrides = { ...stack.subgraphUrls, alliances: alliances.url, governance: governance.url };
      const roomy = await gatewayWith({ maxResponseBytes: 10_000_000 }, { urlOverrides });
      const whole = await post(roomy.url, FACILITATORS_PER_COMUNE);
      expect(whole.body.errors).toBeUndefined();
      const answered = alliances.stats.answeredBytes + governance.stats.answeredBytes;
      // A ceiling between what the subgraphs sent and what the response would be.
      expect(answered).toBeLessThan(whole.bytes * 0.8);
      const ceiling = Math.round((answered + whole.bytes) / 2);
      const tight = await gatewayWith({ maxResponseBytes: ceiling }, { urlOverrides });
      const cut = await post(tight.url, FACILITATORS_PER_COMUNE);
      expect(cut.body.errors?.map((e) => e.extensions?.['code'])).toEqual(['RESPONSE_TOO_LARGE']);
      expect(cut.bytes).toBeLessThan(ceiling);
      expect(cut.body.data ?? null).toBeNull();
    } finally {
      await alliances.close();
      await governance.close();
    }
  });

  it.each(['lean', 'stock'] as const)('%s executor: the deadline aborts the fetch in flight, keeps what is complete, and answers in time', async (executor) => {
    const proxy = await startProxy(stack.subgraphUrls.funding, 1500);
    try {
      const gateway = await gatewayWith({ deadlineMs: 300 }, { executor, urlOverrides: { ...stack.subgraphUrls, funding: proxy.url } });
      const r = await post(gateway.url, DEADLINE_SPLIT);
      expect(r.ms).toBeLessThan(1200);
      expect(r.status).toBe(200);
      expect(r.body.data).toEqual({ province: { name: 'Torino' }, call: null });
      expect(r.body.errors).toEqual([expect.objectContaining({ path: ['call'], extensions: expect.objectContaining({ code: 'REQUEST_DEADLINE_EXCEEDED' }) })]);
      await sleep(100);
      expect(proxy.stats).toMatchObject({ requests: 1, abandoned: 1, answeredBytes: 0 });
    } finally {
      await proxy.close();
    }
  });

  it('each subscription event is held to the ceiling; the subscription goes on', async () => {
    const gateway = await gatewayWith({ maxResponseBytes: 300 });
    const client = createClient({ url: `${gateway.url.replace(/^http/, 'ws')}graphql`, webSocketImpl: WebSocket, retryAttempts: 0 });
    const events: { data?: unknown; errors?: { extensions?: { code?: string } }[] }[] = [];
    const dispose = client.subscribe({ query: ADOPTION_DETAILS }, { next: (r) => void events.push(r as never), error: () => {}, complete: () => {} });
    try {
      const until = Date.now() + 5000;
      while (gateway.subscriptions.stats().subgraphConnections < 1 && Date.now() < until) await sleep(10);
      await sleep(200);
      const seeded = new Set(adoptionDocs().map((a) => a._id));
      const comuni = piedmontMunicipalities().filter((m) => m.provinceCode === '001' && !seeded.has(`atoc-comune-facile:${m.istatCode}`)).slice(0, 2);
      for (const m of comuni) {
        const input = { solutionId: 'atoc-comune-facile', municipalityIstatCode: m.istatCode, status: 'PLANNED', provenance: 'SAMPLE' };
        const write = await stack.query(REGISTER_ADOPTION, { input }, { 'x-api-key': editorKey });
        expect(write.body.errors).toBeUndefined();
      }
      while (events.length < 2 && Date.now() < until) await sleep(10);
      expect(events).toHaveLength(2);
      for (const event of events) {
        expect(event.data ?? null).toBeNull();
        expect(event.errors?.map((e) => e.extensions?.code)).toEqual(['RESPONSE_TOO_LARGE']);
        expect(Buffer.byteLength(JSON.stringify(event))).toBeLessThanOrEqual(300);
      }
    } finally {
      dispose();
      await client.dispose();
    }
  });

  it('every transport answers an over-ceiling operation with the same code', async () => {
    const gateway = await gatewayWith({ maxResponseBytes: 2_000 });
    const query = '{ municipalities(first: 100) { nodes { name } } }';
    for (const transport of ['POST', 'GET', 'SSE POST', 'SSE GET', 'WebSocket'] as const) {
      const answer = await send(gateway.url, transport, { query });
      expect(answer.errors?.map((e) => e.extensions?.code), transport).toEqual(['RESPONSE_TOO_LARGE']);
    }
  });
});
