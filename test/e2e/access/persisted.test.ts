/**
 * Persisted operations with a real Apollo Client 4 in Node against the real stack.
 *
 * APQ: Apollo Client's persisted-query link first sends only the hash; the gateway answers
 * PERSISTED_QUERY_NOT_FOUND, the client retries with the text, and from then on the operation is
 * served by hash alone, over POST or GET, for anonymous callers and keys alike. Every HTTP
 * exchange is captured by a fetch wrapper handed to HttpLink.
 *
 * Trusted documents: a manifest made at test time by Apollo's own generator from
 * fixtures/web-portal/*.graphql is registered through /admin/graphql; a frontend key bound to the
 * app then runs those operations by id only and nothing else (403 PERSISTED_QUERY_NOT_IN_LIST,
 * before any subgraph is called, which Apollo Client shows as a coded GraphQL error), while an unbound key runs anything. GraphQL Code Generator's
 * `persisted-documents.json` shape is accepted too, by `documentId` or APQ hash.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ApolloClient, ApolloLink, CombinedGraphQLErrors, HttpLink, InMemoryCache, type DocumentNode } from '@apollo/client';
import { PersistedQueryLink } from '@apollo/client/link/persisted-queries';
import { addTypenameToDocument } from '@apollo/client/utilities';
import { generatePersistedQueryManifest, type PersistedQueryManifest } from '@apollo/generate-persisted-query-manifest';
import { generatePersistedQueryIdsFromManifest } from '@apollo/persisted-query-lists';
import { parse, print } from 'graphql';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../../gateway/runtime.ts';
import { GRAPHQL_ACCEPT, startStack, type GraphQLResponseError, type Stack } from '../../helpers/stack.ts';

const FIXTURES = path.join(import.meta.dirname, 'fixtures');
const WEB_PORTAL = path.join(FIXTURES, 'web-portal');
const APP = 'web-portal';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const fixture = (dir: string, name: string) => readFileSync(path.join(dir, `${name}.graphql`), 'utf8');
/** A fixture as Apollo Client parses it (each client gets its own DocumentNode, so its own hash cache). */
const doc = (dir: string, name: string): DocumentNode => parse(fixture(dir, name)) as DocumentNode;

interface Exchange {
  method: string;
  url: URL;
  /** The JSON body a POST carried, or the GET parameters (variables and extensions decoded). */
  sent: Record<string, any>;
  status: number;
  headers: Headers;
  /** Subgraph requests made so far, when the answer arrived (see `recordingFetch`). */
  subgraphCalls: number;
  answer: { data?: any; errors?: GraphQLResponseError[] };
}

/** A fetch for HttpLink that records every request it sends and every answer it gets. */
function recordingFetch(subgraphCalls: () => number = () => 0): { fetch: typeof fetch; exchanges: Exchange[] } {
  const exchanges: Exchange[] = [];
  const wrapped: typeof fetch = async (input, init) => {
    const url = new URL(String(input));
    const method = init?.method ?? 'GET';
    let sent: Record<string, any>;
    if (method === 'GET') {
      sent = {};
      for (const [k, v] of url.searchParams) sent[k] = k === 'variables' || k === 'extensions' ? JSON.parse(v) : v;
    } else {
      sent = JSON.parse(String(init?.body)) as Record<string, any>;
    }
    const res = await fetch(input, init);
    exchanges.push({ method, url, sent, status: res.status, headers: res.headers, subgraphCalls: subgraphCalls(), answer: (await res.clone().json()) as Exchange['answer'] });
    return res;
  };
  return { fetch: wrapped, exchanges };
}

function client(uri: string, opts: { key?: string; persisted?: ApolloLink; fetch: typeof fetch }): ApolloClient {
  const http = new HttpLink({ uri, fetch: opts.fetch, headers: opts.key ? { 'x-api-key': opts.key } : {} });
  return new ApolloClient({ cache: new InMemoryCache(), link: opts.persisted ? ApolloLink.from([opts.persisted, http]) : http });
}

const apq = (useGETForHashedQueries = false) => new PersistedQueryLink({ sha256, useGETForHashedQueries });

async function post(url: string, body: unknown, key?: string): Promise<{ status: number; body: { data?: any; errors?: GraphQLResponseError[] } }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: GRAPHQL_ACCEPT, ...(key ? { 'x-api-key': key } : {}) },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
}

describe('persisted operations with Apollo Client', () => {
  let stack: Stack;
  let graphqlUrl: string;
  let adminUrl: string;
  let adminKey: string;

  beforeAll(async () => {
    stack = await startStack();
    graphqlUrl = `${stack.gatewayUrl}graphql`;
    adminUrl = `${stack.gatewayUrl}admin/graphql`;
    adminKey = await stack.createKey({ name: 'ops-admin', role: 'admin' });
  });
  afterAll(async () => {
    await stack?.stop();
  });
  beforeEach(() => stack.resetCounters());

  async function adminCall(query: string, variables: Record<string, unknown>, key: string | undefined = adminKey) {
    return post(adminUrl, { query, variables }, key);
  }
  const REGISTER = 'mutation Register($app: String!, $manifest: String!) { registerTrustedDocuments(app: $app, manifest: $manifest) { added total } }';
  const LIST = 'query List($app: String!) { trustedDocuments(app: $app) { id name body } }';

  describe('Automatic Persisted Queries', () => {
    // Each case gets a gateway of its own, so its APQ cache starts empty.
    async function freshGateway(): Promise<{ gateway: RunningGateway; calls: string[] }> {
      const calls: string[] = [];
      const gateway = await stack.startGateway({ onSubgraphRequest: (subgraph) => void calls.push(subgraph) });
      return { gateway, calls };
    }

    async function expectApqRoundTrip(key: string | undefined, useGET: boolean) {
      const { gateway, calls } = await freshGateway();
      const uri = `${gateway.url}graphql`;
      const first = recordingFetch(() => calls.length);
      const query = doc(WEB_PORTAL, 'AllianceCounts');
      const variables = { id: 'ali-cn' };
      const a = await client(uri, { key, persisted: apq(useGET), fetch: first.fetch }).query({ query, variables });

      // 1. hash only → PERSISTED_QUERY_NOT_FOUND, no subgraph called; 2. hash + text (always POST).
      expect(first.exchanges).toHaveLength(2);
      const [miss, register] = first.exchanges;
      expect(miss!.method).toBe(useGET ? 'GET' : 'POST');
      expect(miss!.sent.query).toBeUndefined();
      const hash = miss!.sent.extensions.persistedQuery.sha256Hash as string;
      expect(miss!.sent.extensions.persistedQuery.version).toBe(1);
      expect(miss!.answer.errors?.map((e) => e.extensions?.code)).toEqual(['PERSISTED_QUERY_NOT_FOUND']);
      expect(miss!.answer.data).toBeUndefined();
      // Apollo Server answers a miss with 200 and no-cache, so no HTTP cache keeps it (GET).
      expect(miss!.status).toBe(200);
      expect(miss!.headers.get('cache-control')).toMatch(/no-cache/);
      expect(miss!.subgraphCalls).toBe(0);
      expect(register!.method).toBe('POST');
      expect(typeof register!.sent.query).toBe('string');
      expect(sha256(register!.sent.query)).toBe(hash);
      expect(register!.sent.extensions.persistedQuery.sha256Hash).toBe(hash);
      expect(register!.status).toBe(200);
      expect(register!.subgraphCalls).toBeGreaterThan(0);

      // The same text as a plain POST gives the same data.
      const plain = await post(uri, { query: register!.sent.query, variables }, key);
      expect(plain.status).toBe(200);
      expect(plain.body.errors).toBeUndefined();
      expect(a.data).toEqual(plain.body.data);
      expect(plain.body.data.alliance).toMatchObject({ id: 'ali-cn', __typename: 'Alliance' });
      expect(plain.body.data.alliance.memberCount).toBeGreaterThan(0);

      // A new client, and a cache-busting refetch: the hash alone is enough from now on.
      const second = recordingFetch();
      const fresh = client(uri, { key, persisted: apq(useGET), fetch: second.fetch });
      const b = await fresh.query({ query, variables });
      const c = await fresh.query({ query, variables, fetchPolicy: 'network-only' });
      expect(second.exchanges).toHaveLength(2);
      for (const x of second.exchanges) {
        expect(x.method).toBe(useGET ? 'GET' : 'POST');
        expect(x.sent.query).toBeUndefined();
        expect(x.sent.extensions.persistedQuery.sha256Hash).toBe(hash);
        expect(x.status).toBe(200);
        expect(x.answer.errors).toBeUndefined();
        expect(x.answer.data).toEqual(plain.body.data);
      }
      expect(b.data).toEqual(plain.body.data);
      expect(c.data).toEqual(plain.body.data);
    }

    it('anonymous caller: hash, NOT_FOUND, text, then hash only (POST)', async () => {
      await expectApqRoundTrip(undefined, false);
    });

    it('a key: the same protocol with x-api-key (POST)', async () => {
      await expectApqRoundTrip(await stack.createKey({ name: 'apq-analyst', role: 'analyst' }), false);
    });

    it('hashed queries over GET (useGETForHashedQueries)', async () => {
      await expectApqRoundTrip(undefined, true);
      await expectApqRoundTrip(await stack.createKey({ name: 'apq-get-frontend', role: 'frontend' }), true);
    });

    it('a hash that does not match the text is refused with 400, before any subgraph', async () => {
      const text = fixture(WEB_PORTAL, 'AllianceMembers');
      const r = await post(graphqlUrl, { query: text, extensions: { persistedQuery: { version: 1, sha256Hash: sha256('something else') } } });
      expect(r.status).toBe(400);
      expect(r.body.errors?.[0]?.message).toBe('provided sha does not match query');
      expect(stack.subgraphCalls).toEqual([]);
    });

    // Apollo Server raises this client mistake without an error code; the gateway gives it
    // BAD_REQUEST so that production does not mask it as an internal error.
    it('in production the mismatch keeps a client error code and its message', async () => {
      const gateway = await stack.startGateway({ production: true, anonymousScope: '*' });
      const text = fixture(WEB_PORTAL, 'AllianceMembers');
      const r = await post(`${gateway.url}graphql`, { query: text, extensions: { persistedQuery: { version: 1, sha256Hash: sha256('something else') } } });
      expect(r.status).toBe(400);
      expect(r.body.errors?.[0]?.extensions?.code).toBe('BAD_REQUEST');
      expect(r.body.errors?.[0]?.message).toBe('provided sha does not match query');
    });
  });

  describe('trusted documents', () => {
    let manifest: PersistedQueryManifest;
    let boundKey: string;
    let freeKey: string;

    beforeAll(async () => {
      // What an app's build does: Apollo's generator over the app's operation files.
      manifest = await generatePersistedQueryManifest({ documents: [path.join(WEB_PORTAL, '*.graphql')] }, undefined);
      const r = await adminCall(REGISTER, { app: APP, manifest: JSON.stringify(manifest) });
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ data: { registerTrustedDocuments: { added: 3, total: 3 } } });
      boundKey = await stack.createKey({ name: 'web-portal-frontend', role: 'frontend', documents: APP });
      freeKey = await stack.createKey({ name: 'other-frontend', role: 'frontend' });
    });

    it('the generated manifest holds the three fixture operations, stored as registered', async () => {
      const names = readdirSync(WEB_PORTAL).map((f) => path.basename(f, '.graphql')).sort();
      expect(manifest.operations.map((o) => o.name)).toEqual(names);
      for (const op of manifest.operations) expect(op.id).toBe(sha256(op.body));
      const listed = await adminCall(LIST, { app: APP });
      expect(listed.body.errors).toBeUndefined();
      expect(listed.body.data.trustedDocuments).toEqual(
        [...manifest.operations].sort((a, b) => a.name.localeCompare(b.name)).map(({ id, name, body }) => ({ id, name, body })),
      );
      // Registering the same manifest again adds nothing.
      const again = await adminCall(REGISTER, { app: APP, manifest: JSON.stringify(manifest) });
      expect(again.body).toEqual({ data: { registerTrustedDocuments: { added: 0, total: 3 } } });
    });

    it('the bound key runs the registered operations by id alone, with the right data', async () => {
      const rec = recordingFetch();
      const persisted = new PersistedQueryLink(generatePersistedQueryIdsFromManifest({ loadManifest: () => manifest }));
      const apollo = client(graphqlUrl, { key: boundKey, persisted, fetch: rec.fetch });
      const runs = [
        { name: 'AllianceMembers', variables: {} },
        { name: 'FundingSources', variables: {} },
        { name: 'AllianceCounts', variables: { id: 'ali-cn' } },
      ];
      for (const { name, variables } of runs) {
        rec.exchanges.length = 0;
        stack.resetCounters();
        const result = await apollo.query({ query: doc(WEB_PORTAL, name), variables });
        const op = manifest.operations.find((o) => o.name === name)!;
        expect(rec.exchanges).toHaveLength(1);
        const [x] = rec.exchanges;
        expect(x!.sent.query).toBeUndefined();
        expect(x!.sent.extensions.persistedQuery).toEqual({ version: 1, sha256Hash: op.id });
        expect(x!.status).toBe(200);
        expect(x!.answer.errors).toBeUndefined();
        expect(stack.subgraphCalls.length).toBeGreaterThan(0);
        // The registered text, sent in full by a key without an app, answers the same.
        const plain = await post(graphqlUrl, { query: op.body, variables }, freeKey);
        expect(plain.body.errors).toBeUndefined();
        expect(x!.answer.data).toEqual(plain.body.data);
        expect(result.data).toEqual(plain.body.data);
      }
      const [members, funding] = await Promise.all([
        post(graphqlUrl, { query: manifest.operations.find((o) => o.name === 'AllianceMembers')!.body }, freeKey),
        post(graphqlUrl, { query: manifest.operations.find((o) => o.name === 'FundingSources')!.body }, freeKey),
      ]);
      expect(members.body.data.alliances.length).toBeGreaterThan(0);
      expect(funding.body.data.fundingSources.length).toBeGreaterThan(0);
      expect(funding.body.data.fundingSources[0].providedBy.name).toEqual(expect.any(String));
    });

    it('an unregistered operation in full text: 403 PERSISTED_QUERY_NOT_IN_LIST, no subgraph called', async () => {
      const r = await post(graphqlUrl, { query: '{ alliances { id name } }' }, boundKey);
      expect(r.status).toBe(403);
      expect(r.body.data).toBeUndefined();
      expect(r.body.errors?.map((e) => e.extensions?.code)).toEqual(['PERSISTED_QUERY_NOT_IN_LIST']);
      expect(stack.subgraphCalls).toEqual([]);
    });

    it('an unknown id gets the same, and Apollo Client does not fall back to sending the text', async () => {
      const r = await post(graphqlUrl, { extensions: { persistedQuery: { version: 1, sha256Hash: sha256('query Nope { alliances { id } }') } } }, boundKey);
      expect(r.status).toBe(403);
      expect(r.body.errors?.map((e) => e.extensions?.code)).toEqual(['PERSISTED_QUERY_NOT_IN_LIST']);
      const byDocumentId = await post(graphqlUrl, { documentId: 'not-registered' }, boundKey);
      expect(byDocumentId.status).toBe(403);
      expect(byDocumentId.body.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_IN_LIST');

      // Plain APQ from the bound key for an operation outside the manifest: one request, refused.
      const rec = recordingFetch();
      const apollo = client(graphqlUrl, { key: boundKey, persisted: apq(), fetch: rec.fetch });
      const query = parse('query NotInManifest { alliances { id name } }') as DocumentNode;
      const error = await apollo.query({ query }).then(
        () => undefined,
        (err: unknown) => err,
      );
      // A GraphQL response (application/graphql-response+json, 403): Apollo Client sees the code, not a ServerError.
      expect(CombinedGraphQLErrors.is(error)).toBe(true);
      expect((error as CombinedGraphQLErrors).errors[0]?.extensions?.['code']).toBe('PERSISTED_QUERY_NOT_IN_LIST');
      expect(rec.exchanges).toHaveLength(1);
      expect(rec.exchanges[0]!.sent.query).toBeUndefined();
      expect(rec.exchanges[0]!.status).toBe(403);
      expect(rec.exchanges[0]!.answer.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_IN_LIST');
      expect(stack.subgraphCalls).toEqual([]);
    });

    it('the registered text in full is accepted, from a plain POST, a GET and Apollo Client without the link', async () => {
      const op = manifest.operations.find((o) => o.name === 'AllianceCounts')!;
      const variables = { id: 'ali-cn' };
      const byText = await post(graphqlUrl, { query: op.body, variables }, boundKey);
      expect(byText.status).toBe(200);
      expect(byText.body.errors).toBeUndefined();
      expect(byText.body.data.alliance.id).toBe('ali-cn');

      const get = await fetch(`${graphqlUrl}?${new URLSearchParams({ extensions: JSON.stringify({ persistedQuery: { version: 1, sha256Hash: op.id } }), variables: JSON.stringify(variables) })}`, {
        headers: { 'x-api-key': boundKey, 'apollo-require-preflight': 'true' },
      });
      expect(get.status).toBe(200);
      expect(((await get.json()) as any).data).toEqual(byText.body.data);

      // Apollo Client prints the document as the generator did (with __typename): the same text.
      const rec = recordingFetch();
      const result = await client(graphqlUrl, { key: boundKey, fetch: rec.fetch }).query({ query: doc(WEB_PORTAL, 'AllianceCounts'), variables });
      expect(rec.exchanges[0]!.sent.query).toBe(op.body);
      expect(result.data).toEqual(byText.body.data);

      // The id with a different text is not a way around the list.
      const mismatch = await post(graphqlUrl, { query: '{ alliances { id } }', extensions: { persistedQuery: { version: 1, sha256Hash: op.id } } }, boundKey);
      expect(mismatch.status).toBe(403);
      expect(mismatch.body.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_IN_LIST');
    });

    it('a key not bound to an app still runs arbitrary operations', async () => {
      const r = await post(graphqlUrl, { query: '{ alliances { id name } }' }, freeKey);
      expect(r.status).toBe(200);
      expect(r.body.errors).toBeUndefined();
      expect(r.body.data.alliances.length).toBeGreaterThan(0);
      expect(stack.subgraphCalls.length).toBeGreaterThan(0);
    });

    it("GraphQL Code Generator's persisted-documents.json: by documentId and by APQ hash", async () => {
      // As the client preset writes it for an Apollo Client app: sha256 of the printed document
      // with __typename added (so the hash matches what Apollo Client sends).
      const names = ['AllianceMembers', 'FundingSources', 'AllianceCounts'];
      const texts = names.map((n) => print(addTypenameToDocument(parse(fixture(WEB_PORTAL, n)) as DocumentNode)));
      const codegen = Object.fromEntries(texts.map((t) => [sha256(t), t]));
      const reg = await adminCall(REGISTER, { app: 'codegen-portal', manifest: JSON.stringify(codegen) });
      expect(reg.body).toEqual({ data: { registerTrustedDocuments: { added: 3, total: 3 } } });
      const listed = await adminCall(LIST, { app: 'codegen-portal' });
      expect(new Set(listed.body.data.trustedDocuments.map((d: { id: string; name: string | null }) => `${d.id}:${d.name}`))).toEqual(
        // The manifest names no operation: each document's own operation name is kept.
        new Set(Object.keys(codegen).map((id, i) => `${id}:${names[i]}`)),
      );
      const key = await stack.createKey({ name: 'codegen-frontend', role: 'frontend', documents: 'codegen-portal' });

      const byDocumentId = await post(graphqlUrl, { documentId: sha256(texts[1]!) }, key);
      expect(byDocumentId.status).toBe(200);
      expect(byDocumentId.body.errors).toBeUndefined();
      const expected = await post(graphqlUrl, { query: texts[1] }, freeKey);
      expect(byDocumentId.body.data).toEqual(expected.body.data);

      const rec = recordingFetch();
      const apollo = client(graphqlUrl, { key, persisted: apq(), fetch: rec.fetch });
      const result = await apollo.query({ query: doc(WEB_PORTAL, 'AllianceCounts'), variables: { id: 'ali-cn' } });
      expect(rec.exchanges).toHaveLength(1);
      expect(rec.exchanges[0]!.sent.query).toBeUndefined();
      expect(rec.exchanges[0]!.sent.extensions.persistedQuery.sha256Hash).toBe(sha256(texts[2]!));
      expect(result.data).toMatchObject({ alliance: { id: 'ali-cn', __typename: 'Alliance' } });
      // Same texts, same sha256 ids as Apollo's generator gave the web-portal app.
      expect(new Set(Object.keys(codegen))).toEqual(new Set(manifest.operations.map((o) => o.id)));
    });
  });

  describe('registration errors', () => {
    const GOOD = 'query Ok { alliances { id } }';
    const malformed: [string, string][] = [
      ['not JSON', '{"format":'],
      ['a JSON array', JSON.stringify([GOOD])],
      ['JSON null', 'null'],
      ['a wrong version', JSON.stringify({ format: 'apollo-persisted-query-manifest', version: 2, operations: [] })],
      ['a null operation', JSON.stringify({ format: 'apollo-persisted-query-manifest', version: 1, operations: [null] })],
      ['an operation without a body', JSON.stringify({ format: 'apollo-persisted-query-manifest', version: 1, operations: [{ id: 'a1', name: 'A' }] })],
      ['a text that does not parse', JSON.stringify({ [sha256(GOOD)]: GOOD, b2: 'query {' })],
      ['an id that is not hash-like', JSON.stringify({ 'no spaces allowed': GOOD })],
      ['a fragment alone', JSON.stringify({ c3: 'fragment F on Alliance { id }' })],
      ['SDL', JSON.stringify({ d4: 'type Foo { a: Int }' })],
      ['one id with two texts', JSON.stringify({ format: 'apollo-persisted-query-manifest', version: 1, operations: [{ id: 'e5', name: 'Ok', type: 'query', body: GOOD }, { id: 'e5', name: 'Ok', type: 'query', body: 'query Ok { provinces { code } }' }] })],
    ];

    it.each(malformed)('%s: BAD_USER_INPUT, nothing stored', async (_what, manifest) => {
      const r = await adminCall(REGISTER, { app: 'broken-app', manifest });
      expect(r.status).toBe(200);
      expect(r.body.data).toBeNull();
      expect(r.body.errors).toHaveLength(1);
      expect(r.body.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'manifest' });
      expect(await stack.accessDb.collection('trustedDocuments').countDocuments({ app: 'broken-app' })).toBe(0);
    });

    it('an id already registered with another text: BAD_USER_INPUT, nothing added', async () => {
      const first = await adminCall(REGISTER, { app: 'versioned-app', manifest: JSON.stringify({ v1: GOOD }) });
      expect(first.body).toEqual({ data: { registerTrustedDocuments: { added: 1, total: 1 } } });
      const second = await adminCall(REGISTER, { app: 'versioned-app', manifest: JSON.stringify({ v2: 'query Two { provinces { code } }', v1: 'query Ok { provinces { code } }' }) });
      expect(second.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      const listed = await adminCall(LIST, { app: 'versioned-app' });
      expect(listed.body.data.trustedDocuments).toEqual([{ id: 'v1', name: 'Ok', body: GOOD }]);
    });

    it('an app name no key could be bound to: BAD_USER_INPUT', async () => {
      const r = await adminCall(REGISTER, { app: '', manifest: JSON.stringify({ a1: GOOD }) });
      expect(r.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'app' });
      expect(await stack.accessDb.collection('trustedDocuments').countDocuments({ app: '' })).toBe(0);
    });

    it('only admin keys register: 403 for other keys, 401 without one', async () => {
      const manifest = JSON.stringify({ [sha256(GOOD)]: GOOD });
      for (const role of ['frontend', 'analyst'] as const) {
        const key = await stack.createKey({ name: `not-admin-${role}`, role });
        const r = await adminCall(REGISTER, { app: 'sneaky-app', manifest }, key);
        expect(r.status).toBe(403);
        expect(r.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      }
      const anonymous = await post(adminUrl, { query: REGISTER, variables: { app: 'sneaky-app', manifest } });
      expect(anonymous.status).toBe(401);
      expect(anonymous.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect(await stack.accessDb.collection('trustedDocuments').countDocuments({ app: 'sneaky-app' })).toBe(0);
    });
  });
});
