/**
 * The status codes a client gets are the client's own (never a 5xx or a masked 500 for its
 * mistakes or its lack of scope), in production too, and a client that goes away mid-request is
 * not logged as a gateway error.
 */
import { connect } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../gateway/runtime.ts';
import { startStack, type Stack } from '../helpers/stack.ts';

let stack: Stack;
/** Production, a 1 KiB body limit, and every log line kept. */
let prod: RunningGateway;
const logs: { level: number; msg: string }[] = [];

beforeAll(async () => {
  stack = await startStack();
  const logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line) as { level: number; msg: string }) });
  prod = await stack.startGateway({ production: true, anonymousScope: '*', bodyLimitBytes: 1024, logger });
});

afterAll(async () => {
  await stack?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('codes', () => {
  it('answers 403 to a partner asking for a report outside its scope, 200 inside it', async () => {
    const key = await stack.createKey({ name: 'partner-alliances', role: 'partner', subgraphs: ['alliances'] });
    for (const format of ['csv', 'json']) {
      const res = await fetch(`${stack.gatewayUrl}analytics/funding-by-call.${format}`, { headers: { 'x-api-key': key } });
      expect(res.status, format).toBe(403);
      const body = (await res.json()) as { errors: { extensions: { code: string } }[] };
      expect(body.errors.map((e) => e.extensions.code)).toContain('SUBGRAPH_NOT_SUBSCRIBED');
    }
    expect((await fetch(`${stack.gatewayUrl}analytics/coverage-by-province.csv`, { headers: { 'x-api-key': key } })).status).toBe(200);
  });

  it('keeps 413 and 405 and their codes over SSE in production, as over HTTP', async () => {
    const big = JSON.stringify({ query: `{ networkSummary { __typename } } #${'x'.repeat(2048)}` });
    for (const accept of ['application/json', 'text/event-stream']) {
      const tooLarge = await fetch(`${prod.url}graphql`, { method: 'POST', headers: { 'content-type': 'application/json', accept }, body: big });
      expect(tooLarge.status, accept).toBe(413);
      expect(((await tooLarge.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code, accept).toBe('PAYLOAD_TOO_LARGE');
      const put = await fetch(`${prod.url}graphql`, { method: 'PUT', headers: { 'content-type': 'application/json', accept }, body: '{}' });
      expect(put.status, accept).toBe(405);
      expect(put.headers.get('allow'), accept).toMatch(/GET, POST/);
      expect(((await put.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code, accept).toBe('METHOD_NOT_ALLOWED');
    }
  });
});

describe('logs', () => {
  it('logs a client that aborts in the middle of its body at debug level, not as an error', async () => {
    logs.length = 0;
    for (const accept of ['application/json', 'text/event-stream']) {
      const socket = connect(prod.port, '127.0.0.1');
      await new Promise((r) => socket.once('connect', r));
      socket.write(`POST /graphql HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\naccept: ${accept}\r\ncontent-length: 900\r\n\r\n{"query":"{ networkSumm`);
      await sleep(100);
      socket.destroy();
    }
    await sleep(300);
    expect(logs.filter((l) => l.level >= 50)).toEqual([]);
    expect(logs.filter((l) => l.level === 20 && /abort/i.test(l.msg))).toHaveLength(2);
  });
});
