/**
 * The example front end of examples/frontend/ (GraphQL Code Generator's client preset, Apollo
 * Client 4) against the real stack, as docs/frontend.md tells a front-end team to build it: its
 * three pages, with no type policy but those the docs list, nothing lost in the cache, then the
 * same pages by trusted-document id alone, and the refusals a page meets as coded GraphQL errors.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { CombinedGraphQLErrors, gql } from '@apollo/client';
import { print } from 'graphql';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it, vi } from 'vitest';
import { DocumentStore } from '../../gateway/access/documents.ts';
import { configDefault } from '../../lib/config.ts';
import { createClient, typePolicies } from '../../examples/frontend/src/client.ts';
import { AllianceMembers } from '../../examples/frontend/src/operations.ts';
import { allianceMembers, alliancesOverview, comunePage } from '../../examples/frontend/src/pages.ts';
import { startStack, type Stack } from '../helpers/stack.ts';

const root = path.resolve(import.meta.dirname, '../..');
const APP = 'example-frontend';

let stack: Stack;
let warnings: unknown[][];
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});
// Apollo Client reports lost cache data, missing fields and the like as console warnings or errors.
beforeEach(() => {
  warnings = [];
  for (const level of ['warn', 'error'] as const) vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void warnings.push(args));
});
afterEach(() => {
  vi.restoreAllMocks();
});

/** A fetch that records the bodies it sends. */
function recording(): { fetch: typeof fetch; sent: Record<string, any>[] } {
  const sent: Record<string, any>[] = [];
  return { sent, fetch: async (input, init) => (sent.push(JSON.parse(String(init?.body)) as Record<string, any>), fetch(input, init)) };
}

describe('the example front end', () => {
  it('is generated from the committed client schema (codegen --check)', async () => {
    const run = promisify(execFile);
    await expect(run(process.execPath, [path.join(root, 'node_modules/@graphql-codegen/cli/esm/bin.js'), '--config', 'examples/frontend/codegen.ts', '--check'], { cwd: root, timeout: 60_000 })).resolves.toBeDefined();
  }, 90_000);

  it('needs no type policy but those docs/frontend.md lists', () => {
    const docs = readFileSync(path.join(root, 'docs/frontend.md'), 'utf8');
    const listed = [...docs.matchAll(/^\s+(\w+): \{ fields: \{ (\w+): relayStylePagination/gm)].map((m) => `${m[1]}.${m[2]}`);
    const listedQuery = [...docs.matchAll(/^\s{6}(\w+): relayStylePagination/gm)].map((m) => `Query.${m[1]}`);
    const used = Object.entries(typePolicies).flatMap(([type, policy]) => Object.keys((policy.fields ?? {}) as object).map((f) => `${type}.${f}`));
    expect(used.sort()).toEqual([...listed, ...listedQuery].sort());
    expect(Object.values(typePolicies).every((p) => p.keyFields === undefined && p.merge === undefined)).toBe(true);
  });

  it('page 1: the alliances overview, with exact funding totals per ALI that agree with the breakdown', async () => {
    const overview = await alliancesOverview(createClient({ uri: `${stack.gatewayUrl}graphql` }));
    expect(overview.networkSummary).toMatchObject({ allianceCount: 8, memberCount: 1072, smallMemberCount: 1004 });
    expect(overview.alliances).toHaveLength(8);
    const { body } = await stack.query('{ fundingBreakdown(by: ALLIANCE) { rows { key totalValue cofinancing projectCount } } }');
    for (const a of overview.alliances) {
      const row = body.data.fundingBreakdown.rows.find((r: { key: string }) => r.key === a.id);
      expect(a.fundingTotals, a.id).toMatchObject({ totalValue: row.totalValue, cofinancing: row.cofinancing, projectCount: row.projectCount, provenance: 'ESTIMATED' });
    }
    expect(warnings).toEqual([]);
  });

  it('page 2: ALI Torino walked to the end with fetchMore, one request per page of 100 (the default size, PAGE_SIZE_DEFAULT)', async () => {
    const { fetch, sent } = recording();
    // The test stack's subgraphs page by 20 when `first` is absent (test/helpers/db.ts): ask for the default explicitly.
    const result = await allianceMembers(createClient({ uri: `${stack.gatewayUrl}graphql`, fetch }), 'ali-to', configDefault('PAGE_SIZE_DEFAULT'));
    expect(result.members).toHaveLength(result.memberCount);
    expect(new Set(result.members.map((e) => e.node.id)).size).toBe(result.memberCount);
    expect(result.requests).toBe(Math.ceil(result.memberCount / 100));
    expect(sent).toHaveLength(result.requests);
    expect(warnings).toEqual([]);
  });

  it('page 2: a bad cursor leaves the loaded page and the ALI in the cache (members: null, INVALID_CURSOR)', async () => {
    const client = createClient({ uri: `${stack.gatewayUrl}graphql` });
    const variables = { id: 'ali-cn', first: 50 };
    const query = client.watchQuery({ query: AllianceMembers, variables, errorPolicy: 'all' });
    const subscription = query.subscribe(() => {});
    await query.refetch();
    const more = await query.fetchMore({ variables: { after: 'not-a-cursor' }, errorPolicy: 'all' });
    subscription.unsubscribe();
    const error = (more as { error?: unknown }).error;
    expect(error).toBeInstanceOf(CombinedGraphQLErrors);
    expect((error as CombinedGraphQLErrors).errors.map((e) => [e.extensions?.['code'], e.extensions?.['argument'], e.path])).toEqual([['INVALID_CURSOR', 'after', ['alliance', 'members']]]);
    expect(more.data?.alliance).toMatchObject({ name: 'ALI Cuneo', memberCount: 222, members: null });
    const cached = client.readQuery({ query: AllianceMembers, variables });
    expect(cached?.alliance?.name).toBe('ALI Cuneo');
    expect(cached?.alliance?.members?.edges).toHaveLength(50);
  });

  it('page 3: a Comune across four subgraphs, refetched by its global id into the same cache record', async () => {
    const client = createClient({ uri: `${stack.gatewayUrl}graphql` });
    const { members } = await allianceMembers(client, 'ali-cn', 100, 1);
    const istatCode = members[0]!.node.id;
    const { page, refetchedName } = await comunePage(client, istatCode);
    expect(page).toMatchObject({ id: istatCode, province: { id: '004', abbreviation: 'CN' }, membership: { id: `ali-cn:${istatCode}`, alliance: { id: 'ali-cn' } } });
    expect(refetchedName).toBe(page.name);
    const records = Object.keys(client.cache.extract() as object);
    expect(records).toContain(`Municipality:${istatCode}`);
    expect(records).toContain('Province:004');
    expect(records).toContain(`Membership:ali-cn:${istatCode}`);
    expect(warnings).toEqual([]);
  });
});

/** Runs `npm run documents -- …` against the stack's database. */
async function documentsCli(...args: string[]): Promise<{ stdout: string; code: number }> {
  const prefix = stack.accessDb.databaseName.replace(/_gateway$/, '');
  const env = { ...process.env, MONGODB_URI: inject('mongoUri'), MONGODB_DB_PREFIX: prefix, LOG_LEVEL: 'silent' };
  try {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/documents.ts', ...args], { cwd: root, env, timeout: 60_000 });
    return { stdout, code: 0 };
  } catch (err) {
    const e = err as { stdout: string; code: number };
    return { stdout: e.stdout, code: e.code };
  }
}

describe('the example front end with trusted documents', () => {
  const MANIFEST = 'examples/frontend/src/gql/persisted-documents.json';
  let bound: string;
  beforeAll(async () => {
    // As docs/frontend.md runs it.
    const registered = await documentsCli('register', '--app', APP, '--manifest', MANIFEST);
    expect(registered).toMatchObject({ code: 0, stdout: expect.stringContaining('Registered 4 new operation(s)') });
    bound = await stack.createKey({ name: 'example-frontend', role: 'frontend', documents: APP });
  }, 120_000);

  it('runs the three pages by id alone (sha256:-prefixed, as codegen names them)', async () => {
    const { fetch, sent } = recording();
    const client = createClient({ uri: `${stack.gatewayUrl}graphql`, key: bound, trusted: true, fetch });
    expect((await alliancesOverview(client)).alliances).toHaveLength(8);
    const { members, memberCount } = await allianceMembers(client, 'ali-vb');
    expect(members).toHaveLength(memberCount);
    const { page } = await comunePage(client, members[0]!.node.id);
    expect(page.name).toBe(members[0]!.node.name);
    expect(sent.every((b) => b.query === undefined && /^sha256:[0-9a-f]{64}$/.test(b.extensions.persistedQuery.sha256Hash))).toBe(true);
  });

  it('accepts the bare hex id of APQ and the registered text as Apollo Client prints it', async () => {
    const [id, text] = Object.entries(JSON.parse(readFileSync(path.join(root, 'examples/frontend/src/gql/persisted-documents.json'), 'utf8')) as Record<string, string>)[0]!;
    const headers = { 'content-type': 'application/json', accept: 'application/graphql-response+json', 'x-api-key': bound };
    const byHex = await fetch(`${stack.gatewayUrl}graphql`, { method: 'POST', headers, body: JSON.stringify({ extensions: { persistedQuery: { version: 1, sha256Hash: id.slice('sha256:'.length) } } }) });
    expect(((await byHex.json()) as { errors?: unknown }).errors).toBeUndefined();
    // Printed in source order with __typename, not in the manifest's sorted form: still the registered operation.
    const { body } = await stack.query(print(AllianceMembers), { id: 'ali-cn', first: 1 }, { 'x-api-key': bound });
    expect(body.errors).toBeUndefined();
    expect(text).toContain('query AlliancesOverview');
  });

  it('npm run documents lists and removes an app\'s documents (by the bare or prefixed id)', async () => {
    const ids = Object.keys(JSON.parse(readFileSync(path.join(root, MANIFEST), 'utf8')) as Record<string, string>).map((id) => id.slice('sha256:'.length));
    const listed = await documentsCli('list', '--app', APP);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain('ComunePage');
    expect(ids.every((id) => listed.stdout.includes(id))).toBe(true);
    const removed = await documentsCli('remove', '--app', APP, '--id', `sha256:${ids[3]}`);
    expect(removed).toMatchObject({ code: 0, stdout: expect.stringContaining('Removed 1 document(s)') });
    expect((await new DocumentStore(stack.accessDb, 0).list(APP)).map((d) => d.id).sort()).toEqual(ids.slice(0, 3).sort());
    expect((await documentsCli('remove', '--app', APP, '--id', ids[3]!)).code).toBe(1);
    await documentsCli('register', '--app', APP, '--manifest', MANIFEST);
  }, 120_000);

  it('surfaces an operation the app did not register as a coded GraphQL error in Apollo Client, not a ServerError', async () => {
    const client = createClient({ uri: `${stack.gatewayUrl}graphql`, key: bound });
    const error = await client.query({ query: gql`query NotRegistered { alliances { id } }` }).then(() => undefined, (err: unknown) => err);
    expect(error).toBeInstanceOf(CombinedGraphQLErrors);
    expect((error as CombinedGraphQLErrors).errors[0]?.extensions?.['code']).toBe('PERSISTED_QUERY_NOT_IN_LIST');
  });
});
