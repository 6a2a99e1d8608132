/**
 * An acknowledged write always has its event: the reuse subgraph runs as a process of its own and
 * is killed (SIGKILL) right after a mutation's write, before its event is published. After it
 * restarts, the event is in the log: the gateway's own subscription resumes and delivers it to a
 * partner that never disconnected, a partner resuming with Last-Event-ID gets it, and a webhook
 * endpoint receives it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import pino from 'pino';
import { afterAll, beforeAll, expect, it, inject } from 'vitest';
import type { RunningGateway } from '../../../gateway/runtime.ts';
import { startStack, type Stack } from '../../helpers/stack.ts';
import { freePort } from '../../helpers/ports.ts';
import { freshComuni, sseSubscribe, until } from '../../helpers/eventClients.ts';
import { ADD_WEBHOOK, adminQuery, TestReceiver } from '../../helpers/webhooks.ts';

const root = path.resolve(import.meta.dirname, '..', '..', '..');
const ADOPTIONS = readFileSync(new URL('./operations/adoptions.graphql', import.meta.url), 'utf8');
const REGISTER = readFileSync(new URL('./operations/registerAdoption.graphql', import.meta.url), 'utf8');

let stack: Stack;
let gateway: RunningGateway;
let port: number;
const children: ChildProcess[] = [];
const receiver = new TestReceiver();
/** The test gateway's log, shown when a wait runs out. */
const logLines: string[] = [];
const logger = pino({ level: 'info' }, { write: (line: string) => void logLines.push(line) });

/** Starts the reuse process; resolves once it listens. */
async function startReuse(crash: boolean): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/e2e/events/fixtures/reuseProcess.ts'], {
    cwd: root,
    env: { ...process.env, MONGODB_URI: inject('mongoUri'), DB_NAME: stack.dbs.reuse.databaseName, GATEWAY_SIGNING_SECRET: stack.gatewaySecret, PORT: String(port), CRASH_ON_PUBLISH: crash ? '1' : '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  await until(() => `the reuse process to listen: ${out}`, () => out.includes('ready ') || child.exitCode !== null, 30_000);
  if (child.exitCode !== null) throw new Error(`the reuse process exited: ${out}`);
  return child;
}

beforeAll(async () => {
  stack = await startStack({ gateway: { webhooks: { deliver: false } } });
  port = await freePort();
  await receiver.start();
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await gateway?.stop(0);
  await receiver.stop();
  await stack?.stop();
});

it('replays and delivers the event of a write whose process died before publishing it', async () => {
  const crashing = await startReuse(true);
  gateway = await stack.startGateway({
    urlOverrides: { ...stack.subgraphUrls, reuse: `http://127.0.0.1:${port}/` },
    subscriptions: { upstreamRetryAttempts: 50, upstreamRetryDelayMs: () => 200 },
    webhooks: { pollMs: 100, leaseMs: 2000 },
    logger,
  });
  const partner = await stack.createKey({ name: 'crash-partner', role: 'partner', subgraphs: ['reuse', 'alliances'] });
  const editor = await stack.createKey({ name: 'crash-editor', role: 'editor', subgraphs: ['reuse'] });
  const admin = await stack.createKey({ name: 'crash-admin', role: 'admin' });

  // A partner that stays connected, one that will come back later, and a webhook endpoint.
  const staying = await sseSubscribe(gateway.url, { query: ADOPTIONS, variables: { provinceCode: '004' } }, { 'x-api-key': partner });
  await until('the start position', () => staying.lastEventId !== undefined);
  const start = staying.lastEventId!;
  const added = await adminQuery(gateway.url, admin, ADD_WEBHOOK, { input: { key: 'crash-partner', url: receiver.url, query: ADOPTIONS, variables: '{"provinceCode":"004"}' } });
  expect(added.errors).toBeUndefined();
  receiver.secret = added.data.addWebhook.secret;

  const istat = (await freshComuni(stack.dbs.reuse, 'sigma-ter-piemonte', '004'))[0]!;
  const id = `sigma-ter-piemonte:${istat}`;
  const exited = new Promise<NodeJS.Signals | null>((resolve) => crashing.once('exit', (_code, signal) => resolve(signal)));
  const write = await fetch(`${gateway.url}graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': editor },
    body: JSON.stringify({ query: REGISTER, variables: { input: { solutionId: 'sigma-ter-piemonte', municipalityIstatCode: istat, provenance: 'SAMPLE' } } }),
  }).then((r) => r.json() as Promise<{ errors?: { extensions?: { code?: string } }[] }>);
  expect(await exited).toBe('SIGKILL');
  // The client got no answer from the subgraph; the write and its event are in the database.
  expect(write.errors?.[0]?.extensions?.code).toBe('SUBGRAPH_UNAVAILABLE');
  expect(await stack.dbs.reuse.collection('adoptions').findOne({ _id: id } as never)).toMatchObject({ version: 1 });
  expect(await stack.dbs.reuse.collection('events').findOne({ audit: `adoptions/${id}@1` })).toMatchObject({ state: 'applied' });
  expect(staying.messages).toEqual([]);

  await startReuse(false);
  // The gateway reconnects on its own and resumes from the last position it had: nothing lost.
  await until('the event, to the partner that stayed', () => staying.messages.length === 1, 30_000);
  expect(staying.messages[0]!.data.data.adoptionChanged).toMatchObject({ kind: 'REGISTERED', adoption: { id } });
  const back = await sseSubscribe(gateway.url, { query: ADOPTIONS, variables: { provinceCode: '004' } }, { 'x-api-key': partner, 'last-event-id': start });
  await until('the event, to the partner that came back', () => back.messages.length === 1);
  expect(back.messages[0]!.id).toBe(staying.messages[0]!.id);
  const state = async () => {
    const endpoints = await stack.accessDb.collection('webhookEndpoints').find().toArray();
    const deliveries = await stack.accessDb.collection('webhookDeliveries').find().toArray();
    return JSON.stringify({ endpoints, deliveries, received: receiver.requests.map((r) => ({ id: r.id, verified: r.verified })), log: logLines.slice(-40) }, null, 1);
  };
  await until('the webhook delivery', () => receiver.app.length === 1, 30_000).catch(async (err: Error) => {
    throw new Error(`${err.message}\n${await state()}`);
  });
  expect(receiver.app[0]!.id).toBe(staying.messages[0]!.id);
  expect(receiver.requests.every((r) => r.verified)).toBe(true);
  staying.close();
  back.close();
});
