/**
 * A subgraph verifies the gateway's token before it reads a byte of the request body, and reads
 * at most SUBGRAPH_BODY_LIMIT_BYTES of a body whose token is valid. The attack is the review's:
 * 60 MiB bodies under a token header that is present but not valid (forged, expired, without
 * `exp`), eight at once, against a subgraph in a process of its own whose peak resident memory is
 * the measure (before the defence it grew by hundreds of MB while it read and parsed them).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ANONYMOUS, GATEWAY_TOKEN_HEADER, signGatewayToken } from '../../lib/access.ts';
import { configDefault } from '../../lib/config.ts';

const MiB = 1024 * 1024;
const SECRET = randomBytes(32).toString('base64url');
let child: ChildProcess;
let url: string;

/** The next message of `type` from the subgraph process. */
function message<T>(type: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: { type: string }) => {
      if (m.type !== type) return;
      child.off('message', onMessage);
      resolve(m as T);
    };
    child.on('message', onMessage);
    child.once('exit', (code) => reject(new Error(`the subgraph process exited (${code})`)));
  });
}

async function maxRss(): Promise<number> {
  const reply = message<{ bytes: number }>('maxRss');
  child.send({ type: 'maxRss' });
  return (await reply).bytes;
}

beforeAll(async () => {
  child = fork(new URL('./fixtures/subgraphProcess.ts', import.meta.url), {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, TEST_MONGODB_URI: inject('mongoUri'), TEST_DB: `t_${randomBytes(5).toString('hex')}_reuse`, TEST_SECRET: SECRET },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  url = (await message<{ url: string }>('ready')).url.replace('//localhost:', '//127.0.0.1:');
});

afterAll(async () => {
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.disconnect();
  await exited;
});

/**
 * POSTs `size` bytes (declared in content-length, or chunked) in 1 MiB writes, and resolves with
 * the answer, which may come before the body is sent; the rest of the body is then not sent.
 */
function post(headers: Record<string, string>, size: number, opts: { chunked?: boolean; body?: Buffer } = {}): Promise<{ status: number; body: string }> {
  const chunk = Buffer.alloc(MiB, 'x');
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = http.request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers, ...(opts.chunked ? {} : { 'content-length': String(opts.body?.length ?? size) }) },
    });
    req.on('response', (res) => {
      answered = true;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body });
        req.destroy();
      });
    });
    // Writing after the server answered and closed fails; only a failure before an answer counts.
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    if (opts.body) return void req.end(opts.body);
    let sent = 0;
    const write = () => {
      while (sent < size && !answered && !req.destroyed) {
        sent += MiB;
        if (!req.write(chunk)) return void req.once('drain', write);
      }
      if (!answered && !req.destroyed) req.end();
    };
    write();
  });
}

/** Tokens whose header is present but which no subgraph may accept. */
async function invalidTokens(): Promise<Record<string, string>> {
  const key = new TextEncoder().encode(SECRET);
  const claims = { role: 'anonymous', read: '*', write: [] };
  const now = Math.floor(Date.now() / 1000);
  const base = () => new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject('attacker').setIssuer('ali-gateway').setAudience('reuse');
  return {
    forged: await signGatewayToken(randomBytes(32).toString('base64url'), ANONYMOUS, 'reuse'),
    garbage: 'x',
    expired: await base().setIssuedAt(now - 120).setExpirationTime(now - 60).sign(key),
    withoutExp: await base().setIssuedAt(now).sign(key),
    otherSubgraph: await signGatewayToken(SECRET, ANONYMOUS, 'funding'),
  };
}

describe('subgraph request bodies', () => {
  it('answers 401 to a present but invalid token before reading the body: eight 60 MiB bodies at once leave its peak memory where it was', async () => {
    const tokens = Object.values(await invalidTokens());
    const before = await maxRss();
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) => post({ [GATEWAY_TOKEN_HEADER]: tokens[i % tokens.length]! }, 60 * MiB, { chunked: i % 2 === 1 })),
    );
    const after = await maxRss();
    // Eight bodies read whole would be 480 MiB, and more once parsed.
    expect(after - before, `peak RSS ${Math.round(before / MiB)} → ${Math.round(after / MiB)} MiB`).toBeLessThan(32 * MiB);
    for (const a of answers) expect(JSON.parse(a.body)).toMatchObject({ errors: [{ extensions: { code: 'UNAUTHENTICATED' } }] });
    expect(answers.map((a) => a.status)).toEqual(Array(8).fill(401));
  }, 120_000);

  it('refuses a body over SUBGRAPH_BODY_LIMIT_BYTES with 413 even under a valid token, declared or chunked', async () => {
    const limit = configDefault('SUBGRAPH_BODY_LIMIT_BYTES');
    expect(limit).toBeLessThanOrEqual(8 * MiB);
    const headers = async () => ({ [GATEWAY_TOKEN_HEADER]: await signGatewayToken(SECRET, ANONYMOUS, 'reuse') });
    for (const chunked of [false, true]) {
      const answer = await post(await headers(), limit + 2 * MiB, { chunked });
      expect(answer.status, `chunked: ${chunked}`).toBe(413);
      expect(JSON.parse(answer.body)).toMatchObject({ errors: [{ extensions: { code: 'PAYLOAD_TOO_LARGE' } }] });
    }
  }, 60_000);

  it('reads a body as large as the gateway sends: every Comune as an _entities representation, twice over', async () => {
    const { piedmontMunicipalities } = await import('../../lib/domain/registry.ts');
    const representations = piedmontMunicipalities().map((m) => ({ __typename: 'Municipality', istatCode: m.istatCode }));
    const query = 'query($representations: [_Any!]!) { _entities(representations: $representations) { ... on Municipality { istatCode } } }';
    const body = Buffer.from(JSON.stringify({ query, variables: { representations: [...representations, ...representations] } }));
    const answer = await post({ [GATEWAY_TOKEN_HEADER]: await signGatewayToken(SECRET, ANONYMOUS, 'reuse') }, body.length, { body });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body).data._entities).toHaveLength(2 * representations.length);
  });
});
