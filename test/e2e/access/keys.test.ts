/**
 * Key management end to end: `npm run keys` (create prints the key alone on its last line, list,
 * revoke), the admin-only /admin/graphql endpoint, revocation and expiry without a restart, keys
 * stored only as hashes, and JWTs from an identity provider (a JWKS served on loopback).
 */
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { inject, afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../../gateway/runtime.ts';
import { hashKey } from '../../../gateway/access/keys.ts';
import { startStack, type Stack } from '../../helpers/stack.ts';

const run = promisify(execFile);
const root = new URL('../../../', import.meta.url).pathname;

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

async function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as { data?: any; errors?: { message: string; extensions?: Record<string, unknown> }[] } };
}

const READ_FUNDING = '{ fundingSources { id } }';

/** Runs `npm run keys -- …` against the test database (the stack's prefix). */
async function keysCli(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  const prefix = stack.accessDb.databaseName.replace(/_gateway$/, '');
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'scripts/keys.ts', ...args], {
      cwd: root,
      env: { ...process.env, MONGODB_URI: inject('mongoUri'), MONGODB_DB_PREFIX: prefix, LOG_LEVEL: 'silent' },
    });
    return { stdout, stderr, code: 0 };
  } catch (err) {
    const e = err as { stdout: string; stderr: string; code: number };
    return { stdout: e.stdout, stderr: e.stderr, code: e.code };
  }
}

describe('npm run keys', () => {
  it('creates a partner key printed alone on the last line, which works at once for its subgraphs only', async () => {
    const out = await keysCli('create', '--name', 'csi-piemonte', '--role', 'partner', '--subgraphs', 'funding,reuse', '--expires', '2099-12-31');
    expect(out.code, out.stderr).toBe(0);
    const lines = out.stdout.trimEnd().split('\n');
    const key = lines.at(-1)!;
    expect(key).toMatch(/^ali_[A-Za-z0-9_-]{43}$/);
    // Stored only as a hash.
    const stored = await stack.accessDb.collection('apiKeys').findOne({ _id: 'csi-piemonte' as never });
    expect(stored).toMatchObject({ hash: hashKey(key), role: 'partner', subgraphs: ['funding', 'reuse'] });
    expect(JSON.stringify(stored)).not.toContain(key);

    const auth = { authorization: `Bearer ${key}` };
    expect((await post(`${stack.gatewayUrl}graphql`, { query: READ_FUNDING }, auth)).status).toBe(200);
    const refused = await post(`${stack.gatewayUrl}graphql`, { query: '{ provinces { code } }' }, auth);
    expect(refused.body.errors?.[0]?.extensions?.code).toBe('SUBGRAPH_NOT_SUBSCRIBED');

    const list = await keysCli('list');
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^csi-piemonte\tpartner\tfunding,reuse\tactive\t2099-12-31\tali_/m);
    expect(list.stdout).not.toContain(key);
  });

  it('refuses bad input with a clear message and exit code, storing nothing', async () => {
    const cases: [string[], RegExp][] = [
      [['create', '--name', 'p1', '--role', 'partner'], /a partner key must name the subgraphs/],
      [['create', '--name', 'p2', '--role', 'partner', '--subgraphs', 'funding,payroll'], /unknown payroll/],
      [['create', '--name', 'p3', '--role', 'superuser'], /role: one of frontend, analyst, partner, editor, admin/],
      [['create', '--name', 'p4', '--role', 'analyst', '--expires', '2020-01-01'], /must be in the future/],
      [['create', '--name', 'p5', '--role', 'analyst', '--expires', '2030-02-30'], /YYYY-MM-DD/],
      [['create', '--name', 'bad name', '--role', 'analyst'], /name:/],
      [['revoke', '--name', 'nobody'], /No key named "nobody"/],
    ];
    for (const [args, message] of cases) {
      const out = await keysCli(...args);
      expect(out.code, args.join(' ')).not.toBe(0);
      expect(out.stderr).toMatch(message);
    }
    expect(await stack.accessDb.collection('apiKeys').countDocuments({ _id: { $in: ['p1', 'p2', 'p3', 'p4', 'p5', 'bad name'] } as never })).toBe(0);
    const dup = await keysCli('create', '--name', 'csi-piemonte', '--role', 'analyst');
    expect(dup.stderr).toMatch(/KEY_EXISTS.*already exists/);
  });

  it('revokes without a restart: the gateway refuses the key once its cache time has passed', async () => {
    const gw = await stack.startGateway({ keyCacheMs: 300 });
    const out = await keysCli('create', '--name', 'short-lived', '--role', 'analyst');
    const auth = { authorization: `Bearer ${out.stdout.trimEnd().split('\n').at(-1)!}` };
    expect((await post(`${gw.url}graphql`, { query: READ_FUNDING }, auth)).status).toBe(200);
    const revoked = await keysCli('revoke', '--name', 'short-lived');
    expect(revoked.code).toBe(0);
    await new Promise((r) => setTimeout(r, 350));
    const after = await post(`${gw.url}graphql`, { query: READ_FUNDING }, auth);
    expect(after.status).toBe(401);
    expect(after.body.errors?.[0]?.message).toMatch(/revoked/);
    expect((await keysCli('list')).stdout).toMatch(/^short-lived\tanalyst\t\*\trevoked/m);
  });

  it('an expired key is refused', async () => {
    const key = await stack.createKey({ name: 'expiring', role: 'analyst', expires: '2099-01-01' });
    const gw = await stack.startGateway({ keyCacheMs: 0 });
    expect((await post(`${gw.url}graphql`, { query: READ_FUNDING }, { 'x-api-key': key })).status).toBe(200);
    await stack.accessDb.collection('apiKeys').updateOne({ _id: 'expiring' as never }, { $set: { expiresAt: new Date(Date.now() - 1000) } });
    expect((await post(`${gw.url}graphql`, { query: READ_FUNDING }, { 'x-api-key': key })).status).toBe(401);
  });
});

describe('/admin/graphql', () => {
  const CREATE = 'mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { key apiKey { name role subgraphs status } } }';

  it('is for admin keys only', async () => {
    const analyst = await stack.createKey({ name: 'an-admin-test', role: 'analyst' });
    const url = `${stack.gatewayUrl}admin/graphql`;
    expect((await post(url, { query: '{ apiKeys { name } }' })).status).toBe(401);
    expect((await post(url, { query: '{ apiKeys { name } }' }, { 'x-api-key': analyst })).status).toBe(403);
    expect((await post(url, { query: '{ apiKeys { name } }' }, { 'x-api-key': 'ali_' + 'y'.repeat(43) })).status).toBe(401);
  });

  it('creates, lists and revokes keys; revocation takes effect at once on this gateway', async () => {
    const admin = { 'x-api-key': await stack.createKey({ name: 'root-admin', role: 'admin' }) };
    const url = `${stack.gatewayUrl}admin/graphql`;
    const created = await post(url, { query: CREATE, variables: { input: { name: 'editor-reuse', role: 'editor', subgraphs: ['reuse'] } } }, admin);
    expect(created.body.errors).toBeUndefined();
    expect(created.body.data.createApiKey.apiKey).toEqual({ name: 'editor-reuse', role: 'editor', subgraphs: ['reuse'], status: 'active' });
    const editor = { authorization: `Bearer ${created.body.data.createApiKey.key}` };
    const intro = await post(`${stack.gatewayUrl}graphql`, { query: '{ __schema { mutationType { fields { name } } } }' }, editor);
    expect(intro.body.data.__schema.mutationType.fields.map((f: { name: string }) => f.name).sort()).toEqual(['changeAdoptionStatus', 'registerAdoption']);

    const bad = await post(url, { query: CREATE, variables: { input: { name: 'x', role: 'partner' } } }, admin);
    expect(bad.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');

    const listed = await post(url, { query: '{ apiKeys { name status } }' }, admin);
    expect(listed.body.data.apiKeys).toContainEqual({ name: 'editor-reuse', status: 'active' });

    const revoked = await post(url, { query: 'mutation { revokeApiKey(name: "editor-reuse") { name status revokedAt } }' }, admin);
    expect(revoked.body.data.revokeApiKey).toMatchObject({ name: 'editor-reuse', status: 'revoked' });
    expect((await post(`${stack.gatewayUrl}graphql`, { query: READ_FUNDING }, editor)).status).toBe(401);
  });
});

describe('JWTs from an identity provider', () => {
  let jwks: Server;
  let gw: RunningGateway;
  let privateKey: CryptoKey;
  const ISSUER = 'https://idp.regione.piemonte.example';

  beforeAll(async () => {
    const pair = await generateKeyPair('RS256');
    privateKey = pair.privateKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    jwks = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r));
    gw = await stack.startGateway({
      jwt: {
        jwksUrl: `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`,
        issuer: ISSUER,
        audience: 'ali-graph',
        roleClaim: 'ali_role',
        subgraphsClaim: 'ali_subgraphs',
      },
    });
  });
  afterAll(async () => {
    await new Promise((r) => jwks?.close(r));
  });

  const token = (claims: Record<string, unknown>, opts: { issuer?: string; expires?: string } = {}) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setSubject('mario.rossi')
      .setIssuer(opts.issuer ?? ISSUER)
      .setAudience('ali-graph')
      .setIssuedAt()
      .setExpirationTime(opts.expires ?? '5m')
      .sign(privateKey);

  it('maps the role and subgraphs claims onto the same roles and scopes as keys', async () => {
    const partner = { authorization: `Bearer ${await token({ ali_role: 'partner', ali_subgraphs: ['funding'] })}` };
    expect((await post(`${gw.url}graphql`, { query: READ_FUNDING }, partner)).status).toBe(200);
    const refused = await post(`${gw.url}graphql`, { query: '{ reuseSolutions { id } }' }, partner);
    expect(refused.body.errors?.[0]?.extensions?.code).toBe('SUBGRAPH_NOT_SUBSCRIBED');

    const editor = { authorization: `Bearer ${await token({ ali_role: 'editor', ali_subgraphs: 'reuse' })}` };
    const write = await post(`${gw.url}graphql`, { query: 'mutation { changeAdoptionStatus(id: "nope", status: ACTIVE, expectedVersion: 0) { adoption { id } } }' }, editor);
    expect(write.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  it('refuses a token that grants admin, has no role, comes from another issuer, is expired, or is not signed by the provider', async () => {
    const other = await generateKeyPair('RS256');
    const forged = await new SignJWT({ ali_role: 'analyst' })
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setIssuer(ISSUER)
      .setAudience('ali-graph')
      .setExpirationTime('5m')
      .sign(other.privateKey);
    for (const t of [
      await token({ ali_role: 'admin' }),
      await token({}),
      await token({ ali_role: 'analyst' }, { issuer: 'https://elsewhere.example' }),
      await token({ ali_role: 'analyst' }, { expires: '-1m' }),
      forged,
    ]) {
      const r = await post(`${gw.url}graphql`, { query: READ_FUNDING }, { authorization: `Bearer ${t}` });
      expect(r.status).toBe(401);
      expect(r.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    }
  });
});
