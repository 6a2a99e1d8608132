/**
 * Every refusal is a GraphQL response a client can branch on: an `errors` list whose error has
 * `extensions.code`, in the media type the client accepts (GraphQL over HTTP). A client that
 * accepts `application/graphql-response+json` (Apollo Client 4 does) gets that type with the
 * status of the catalogue (lib/errors.ts); a legacy `application/json` client gets the status when
 * the HTTP request itself is refused (credentials, budget, size, method, framing) and 200 when the
 * GraphQL request it carries is (validation, scope, limits, trusted documents).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../../gateway/runtime.ts';
import { errorSpec } from '../../../lib/errors.ts';
import { startStack, type Stack } from '../../helpers/stack.ts';

const MODERN = 'application/graphql-response+json, application/json;q=0.9';
const LEGACY = 'application/json';

interface Refusal {
  readonly name: string;
  readonly code: string;
  /** Whether the HTTP request itself is refused (its status holds under application/json). */
  readonly requestLevel: boolean;
  send(accept: string): Promise<Response>;
}

let stack: Stack;
let small: RunningGateway;
let limited: RunningGateway;
let keys: { frontend: string; partner: string; bound: string };

const post = (url: string, accept: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', accept, ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });

beforeAll(async () => {
  stack = await startStack();
  small = await stack.startGateway({ bodyLimitBytes: 2048 });
  limited = await stack.startGateway({ rateLimits: { anonymous: { points: 1, seconds: 60 } } });
  keys = {
    frontend: await stack.createKey({ name: 'refusals-frontend', role: 'frontend' }),
    partner: await stack.createKey({ name: 'refusals-partner', role: 'partner', subgraphs: ['reuse'] }),
    bound: await stack.createKey({ name: 'refusals-bound', role: 'frontend', documents: 'refusals-app' }),
  };
});
afterAll(async () => {
  await stack?.stop();
});

const gql = () => `${stack.gatewayUrl}graphql`;
const REFUSALS: Refusal[] = [
  { name: 'an unknown key', code: 'UNAUTHENTICATED', requestLevel: true, send: (a) => post(gql(), a, { query: '{ networkSummary { allianceCount } }' }, { 'x-api-key': 'ali_nosuchkey' }) },
  {
    name: 'a spent request budget',
    code: 'RATE_LIMITED',
    requestLevel: true,
    send: async (a) => {
      await post(`${limited.url}graphql`, a, { query: '{ __typename }' });
      return post(`${limited.url}graphql`, a, { query: '{ __typename }' });
    },
  },
  { name: 'a body above the limit', code: 'PAYLOAD_TOO_LARGE', requestLevel: true, send: (a) => post(`${small.url}graphql`, a, { query: `{ __typename } #${'x'.repeat(4096)}` }) },
  { name: 'a method /graphql does not answer', code: 'METHOD_NOT_ALLOWED', requestLevel: true, send: (a) => fetch(gql(), { method: 'PUT', headers: { accept: a } }) },
  { name: 'a body that is not JSON', code: 'BAD_REQUEST', requestLevel: true, send: (a) => post(gql(), a, '{ not json') },
  { name: 'a document that does not validate', code: 'GRAPHQL_VALIDATION_FAILED', requestLevel: false, send: (a) => post(gql(), a, { query: '{ noSuchField }' }) },
  { name: 'a document that does not parse', code: 'GRAPHQL_PARSE_FAILED', requestLevel: false, send: (a) => post(gql(), a, { query: '{ alliances {' }) },
  {
    name: 'a mutation without write scope',
    code: 'FORBIDDEN',
    requestLevel: false,
    send: (a) => post(gql(), a, { query: 'mutation { changeMembership(istatCode: "001001", allianceId: null, expectedVersion: 0) { municipality { id } } }' }, { 'x-api-key': keys.frontend }),
  },
  { name: 'a field outside a partner\'s subgraphs', code: 'SUBGRAPH_NOT_SUBSCRIBED', requestLevel: false, send: (a) => post(gql(), a, { query: '{ alliances { name } }' }, { 'x-api-key': keys.partner }) },
  { name: 'an operation its app has not registered', code: 'PERSISTED_QUERY_NOT_IN_LIST', requestLevel: false, send: (a) => post(gql(), a, { query: '{ alliances { name } }' }, { 'x-api-key': keys.bound }) },
  {
    name: 'an operation over a limit',
    code: 'OPERATION_LIMIT_EXCEEDED',
    requestLevel: false,
    send: (a) => post(gql(), a, { query: `{ ${Array.from({ length: 40 }, (_, i) => `a${i}: networkSummary { allianceCount }`).join(' ')} }` }),
  },
];

describe('every refusal as a GraphQL response with a code', () => {
  it.each(REFUSALS)('$name: $code, in application/graphql-response+json with the status of the catalogue', async (r) => {
    const res = await r.send(MODERN);
    const body = (await res.json()) as { data?: unknown; errors?: { extensions?: { code?: string } }[] };
    expect(res.headers.get('content-type')).toMatch(/^application\/graphql-response\+json/);
    expect(body.errors?.[0]?.extensions?.code).toBe(r.code);
    expect(res.status).toBe(errorSpec(r.code)!.status);
  });

  it.each(REFUSALS)('$name: $code, in application/json with 200 unless the HTTP request itself is refused', async (r) => {
    const res = await r.send(LEGACY);
    const body = (await res.json()) as { errors?: { extensions?: { code?: string } }[] };
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(body.errors?.[0]?.extensions?.code).toBe(r.code);
    expect(res.status).toBe(r.requestLevel ? errorSpec(r.code)!.status : 200);
  });

  it('tells a rate-limited browser script when to retry (Retry-After and RateLimit-* exposed to CORS)', async () => {
    const origin = { origin: 'http://portal.example' };
    await post(`${limited.url}graphql`, MODERN, { query: '{ __typename }' }, origin);
    const res = await post(`${limited.url}graphql`, MODERN, { query: '{ __typename }' }, origin);
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    const exposed = (res.headers.get('access-control-expose-headers') ?? '').toLowerCase().split(/,\s*/);
    expect(exposed).toEqual(expect.arrayContaining(['retry-after', 'ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset']));
  });

  it("lets a browser send Apollo Client's awareness headers and trace context (preflight)", async () => {
    const res = await fetch(gql(), {
      method: 'OPTIONS',
      headers: { origin: 'http://portal.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'apollographql-client-name,traceparent' },
    });
    expect(res.status).toBe(204);
    const allowed = (res.headers.get('access-control-allow-headers') ?? '').split(/,\s*/);
    expect(allowed).toEqual(expect.arrayContaining(['apollographql-client-name', 'apollographql-client-version', 'traceparent', 'x-apollo-operation-name']));
  });
});
