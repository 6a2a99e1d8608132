/**
 * Hostile input against the one request pipeline every transport shares (HTTP POST and GET, SSE
 * POST and GET, GraphQL over WebSocket): the same answers for the same attack, whichever way it
 * comes in. Schema leaks through suggestions, cross-site requests and mutations over GET, and
 * documents nested deep enough to overflow a recursive parser.
 */
import { readFileSync } from 'node:fs';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { RunningGateway } from '../../gateway/runtime.ts';
import { piedmontMunicipalities } from '../../lib/domain/registry.ts';
import { adoptionDocs } from '../../subgraphs/reuse/data/seed.ts';
import { startStack, type Stack } from '../helpers/stack.ts';
import { send, TRANSPORTS, type Transport } from '../helpers/transports.ts';

const operation = (name: string) => readFileSync(new URL(`./operations/${name}.graphql`, import.meta.url), 'utf8');
const FIELD_TYPO = operation('fieldTypo');
const SUBSCRIPTION_TYPO = operation('subscriptionTypo');
const BY_FILTER = operation('municipalitiesByFilter');
const MUNICIPALITY = operation('municipality');
const REGISTER_ADOPTION = operation('registerAdoption');
const ADOPTION_CHANGED = operation('adoptionChanged');
const CONDITIONAL_ROOT = operation('conditionalSubscriptionRoot');

/** `{a{a{…}}}`, `depth` selection sets deep (3 tokens a level). */
const nested = (depth: number) => `${'{a'.repeat(depth)}${'}'.repeat(depth)}`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function waitFor(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

let stack: Stack;
/** NODE_ENV=production: anonymous introspection off, schema details hidden. */
let prod: RunningGateway;
let dev: RunningGateway;
let editorKey: string;
const seeded = new Set(adoptionDocs().map((a) => a._id));
let fresh = 0;
/** A Comune of Turin without an adoption of sigma-ter-piemonte yet (a new one per call). */
const freshComune = () => piedmontMunicipalities().filter((m) => m.provinceCode === '001' && !seeded.has(`sigma-ter-piemonte:${m.istatCode}`))[fresh++]!.istatCode;

beforeAll(async () => {
  stack = await startStack();
  prod = await stack.startGateway({ production: true, anonymousScope: '*' });
  dev = await stack.startGateway({ production: false });
  editorKey = await stack.createKey({ name: 'editor-reuse', role: 'editor', subgraphs: ['reuse'] });
});

afterAll(async () => {
  await stack?.stop();
});

describe('no schema suggestions in production, on every transport', () => {
  const cases = [
    { what: 'a misspelt field', params: { query: FIELD_TYPO }, code: 'GRAPHQL_VALIDATION_FAILED' },
    { what: 'a misspelt field of a subscription', params: { query: SUBSCRIPTION_TYPO }, code: 'GRAPHQL_VALIDATION_FAILED' },
    { what: 'a misspelt input field in a variable', params: { query: BY_FILTER, variables: { filter: { provinceCod: '001' } } }, code: 'BAD_USER_INPUT' },
  ];
  for (const transport of TRANSPORTS) {
    it.each(cases)(`${transport}: $what is refused without "Did you mean" to an anonymous caller`, async ({ params, code }) => {
      const answer = await send(prod.url, transport, params);
      expect(answer.status).toBe(400);
      expect(answer.errors?.[0]?.extensions?.code).toBe(code);
      expect(answer.errors?.map((e) => e.message).join('\n')).not.toMatch(/Did you mean/);
      // The same request in development gets the suggestion: the probe does reach the check.
      const shown = await send(dev.url, transport, params);
      expect(shown.errors?.map((e) => e.message).join('\n')).toMatch(/Did you mean/);
    });
  }
});

describe('@skip and @include on the root of a subscription', () => {
  // Found by the fuzzer (fuzz.test.ts). The GraphQL spec forbids them there (the root field of a
  // subscription must not be conditional); graphql-js 16's single-root-field rule
  // evaluates them with no variables instead, and throws when an `if` is missing, not a Boolean or
  // a variable: an unexpected error, 500 (WebSocket: INTERNAL_SERVER_ERROR) before anything else.
  const cases = [
    { what: 'with a variable, through an inline fragment', params: { query: CONDITIONAL_ROOT, variables: { on: true } } },
    { what: 'without its `if`', params: { query: 'subscription { adoptionChanged @skip { kind } }' } },
    { what: 'with an `if` that is no Boolean, through a named fragment', params: { query: 'subscription { ...F } fragment F on Subscription { adoptionChanged @include(if: "yes") { kind } }' } },
  ];
  for (const transport of TRANSPORTS) {
    it.each(cases)(`${transport}: $what is a validation error (400), never a 500`, async ({ params }) => {
      stack.resetCounters();
      const answer = await send(stack.gatewayUrl, transport, params);
      expect(answer.status).toBe(400);
      expect(answer.errors?.[0]).toMatchObject({ message: expect.stringMatching(/must not use `@skip` or `@include`/), extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } });
      expect(stack.subgraphCalls).toEqual([]);
    });
  }
});

describe('refusals that quote the document', () => {
  // Found by the fuzzer (fuzz.test.ts). graphql-js names the operation in every error about its
  // variables: a long name and many uses of an undeclared variable made a refusal dozens of times
  // larger than the request (95 KB in, 426 KB out; with a 1 MiB body, tens of MB).
  const amplifying = (nameLength: number, uses: number) => ({
    query: `query N${'x'.repeat(nameLength)} { ${Array.from({ length: uses }, (_, i) => `m${i}: municipality(istatCode: $undeclared) { name }`).join(' ')} }`,
  });
  it.each(TRANSPORTS)('%s: an error message is cut, so a refusal stays within its request', async (transport) => {
    const params = transport.endsWith('GET') ? amplifying(5_000, 60) : amplifying(200_000, 60);
    const requestBytes = Buffer.byteLength(JSON.stringify(params));
    // Development adds each error's stack trace (its lines cut too): some 3 KB an error, whatever the name.
    for (const [url, bound] of [[prod.url, Math.max(requestBytes, 64 * 1024)], [dev.url, 60 * 3 * 1024]] as const) {
      const answer = await send(url, transport, params);
      expect(answer.status).toBe(400);
      expect(answer.errors).toHaveLength(60);
      expect(answer.errors?.[0]).toMatchObject({ message: expect.stringMatching(/^Variable "\$undeclared" is not defined by operation "Nxxx.*…$/), extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } });
      expect(answer.bytes).toBeLessThan(bound);
    }
  });
});

describe('CSRF prevention and the ban on mutations over GET, on every HTTP transport', () => {
  const adoptions = () => stack.dbs.reuse.collection('adoptions').countDocuments();
  const writes = () => stack.subgraphCalls.filter((c) => c.query.includes('registerAdoption'));
  const mutation = () => ({
    query: REGISTER_ADOPTION,
    variables: { input: { solutionId: 'sigma-ter-piemonte', municipalityIstatCode: freshComune(), status: 'PLANNED', provenance: 'SAMPLE' } },
  });

  it.each(['GET', 'SSE GET'] as const)('%s: a mutation without a preflight header is refused as CSRF, with one as a mutation over GET; nothing is written', async (transport) => {
    const before = await adoptions();
    stack.resetCounters();
    const simple = await send(stack.gatewayUrl, transport, mutation(), { headers: { 'x-api-key': editorKey }, bare: true });
    expect(simple.status).toBe(400);
    expect(simple.errors?.[0]).toMatchObject({ message: expect.stringMatching(/Cross-Site Request Forgery/), extensions: { code: 'BAD_REQUEST' } });
    const preflighted = await send(stack.gatewayUrl, transport, mutation(), { headers: { 'x-api-key': editorKey } });
    expect(preflighted.status).toBe(405);
    expect(preflighted.errors?.[0]?.message).toMatch(/GET requests only support query/);
    expect(writes()).toEqual([]);
    expect(await adoptions()).toBe(before);
  });

  it.each(['POST', 'SSE POST'] as const)('%s: a body labelled text/plain (whatever its parameters say) needs a preflight header', async (transport) => {
    const before = await adoptions();
    stack.resetCounters();
    for (const type of ['text/plain; x=application/json', 'text/plain', 'application/x-www-form-urlencoded; y=application/json']) {
      const res = await fetch(`${stack.gatewayUrl}graphql`, {
        method: 'POST',
        headers: { 'content-type': type, 'x-api-key': editorKey, ...(transport === 'SSE POST' ? { accept: 'text/event-stream' } : {}) },
        body: JSON.stringify(mutation()),
      });
      expect(res.status, type).toBe(400);
      expect(((await res.json()) as { errors: { message: string }[] }).errors[0]!.message).toMatch(/Cross-Site Request Forgery/);
    }
    expect(writes()).toEqual([]);
    expect(await adoptions()).toBe(before);
  });

  it('SSE GET still serves queries and subscriptions to a client that sends the preflight header', async () => {
    const query = await send(stack.gatewayUrl, 'SSE GET', { query: MUNICIPALITY, variables: { istatCode: '004078' } });
    expect(query).toEqual({ status: 200, bytes: expect.any(Number), data: { municipality: { name: 'Cuneo' } } });
    const controller = new AbortController();
    const res = await fetch(`${stack.gatewayUrl}graphql?query=${encodeURIComponent(ADOPTION_CHANGED)}`, {
      headers: { accept: 'text/event-stream', 'apollo-require-preflight': 'true' },
      signal: controller.signal,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    controller.abort();
  });
});

describe('documents nested deeper than the parser can take', () => {
  /*
   * graphql-js parses recursively: a document a few thousand levels deep overflows the stack
   * (about 2,400 levels for a cold process, 5,000 once the parser is optimised). These depths stay
   * within the largest role's 10,000 tokens, so the token limit alone does not stop them; over GET
   * the URL must also fit in Node's 16 KiB of request headers (deeper gets 431 from Node itself).
   */
  const selectionDepth = (t: Transport) => (t.endsWith('GET') ? 2000 : 3300);
  const listDepth = (t: Transport) => (t.endsWith('GET') ? 2400 : 4900);

  it.each(TRANSPORTS)('%s: a selection nested thousands deep is a parse error (400), never a 500 or a closed connection', async (transport: Transport) => {
    const answer = await send(stack.gatewayUrl, transport, { query: nested(selectionDepth(transport)) });
    expect(answer.status).toBe(400);
    expect(answer.closed).toBeUndefined();
    expect(answer.errors?.[0]?.extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
  });

  it.each(TRANSPORTS)('%s: a list value nested thousands deep is a parse error too', async (transport: Transport) => {
    const depth = listDepth(transport);
    const answer = await send(stack.gatewayUrl, transport, { query: `{ municipality(istatCode: ${'['.repeat(depth)}${']'.repeat(depth)}) { name } }` });
    expect(answer.status).toBe(400);
    expect(answer.errors?.[0]?.extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
  });

  it('a bad operation on a WebSocket leaves the connection and its other subscriptions running', async () => {
    const gateway = await stack.startGateway();
    const closes: number[] = [];
    const client = createClient({
      url: `${gateway.url.replace(/^http/, 'ws')}graphql`,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      lazy: false,
      onNonLazyError: () => {},
      on: { closed: (e) => void closes.push((e as { code: number }).code) },
    });
    const events: unknown[] = [];
    const dispose = client.subscribe({ query: ADOPTION_CHANGED, variables: { provinceCode: '001' } }, { next: (r) => void events.push(r), error: () => {}, complete: () => {} });
    await waitFor('the subscription upstream', () => gateway.subscriptions.stats().subgraphConnections === 1);
    await sleep(200); // the subgraph has the `subscribe` message
    const refused = await new Promise<unknown>((resolve) => client.subscribe({ query: nested(3300) }, { next: () => {}, error: resolve, complete: () => resolve(undefined) }));
    expect((refused as { extensions?: { code?: string } }[])[0]?.extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
    // The first subscription still delivers: a write through the gateway reaches it.
    const istatCode = freshComune();
    expect(gateway.subscriptions.stats().subscriptions).toBe(1);
    const write = await stack.query(REGISTER_ADOPTION, { input: { solutionId: 'sigma-ter-piemonte', municipalityIstatCode: istatCode, status: 'PLANNED', provenance: 'SAMPLE' } }, { 'x-api-key': editorKey });
    expect(write.body.errors).toBeUndefined();
    await waitFor('the event', () => events.length >= 1);
    expect(events[0]).toMatchObject({ data: { adoptionChanged: { kind: 'REGISTERED', adoption: { id: `sigma-ter-piemonte:${istatCode}` } } } });
    expect(closes).toEqual([]);
    dispose();
    await client.dispose();
  });
});
