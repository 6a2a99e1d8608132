/**
 * Resuming subscriptions through the gateway, on the real stack: a partner disconnects, changes
 * are made, and it comes back with the id of the last event it had — over SSE (`Last-Event-ID`) and
 * over graphql-ws (`extensions.lastEventId`), to the same gateway or to another one (two gateway
 * instances behind the test's own round-robin). It gets exactly the events it missed, in order,
 * then live ones, none twice; filters and its key's contract apply to the replayed events as to
 * live ones; a position the log no longer has is refused with EVENT_ID_EXPIRED.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../../gateway/runtime.ts';
import { trimEventLog } from '../../../lib/events.ts';
import { startStack, type Stack } from '../../helpers/stack.ts';
import { freshComuni, sleep, sseSubscribe, until, wsSubscribe } from '../../helpers/eventClients.ts';

const operation = (name: string) => readFileSync(new URL(`./operations/${name}.graphql`, import.meta.url), 'utf8');
const ADOPTIONS = operation('adoptions');
const REGISTER = operation('registerAdoption');

let stack: Stack;
let other: RunningGateway;
let partner: string;
let editor: string;
let comuni: string[];
const SOLUTION = 'atoc-comune-facile';

beforeAll(async () => {
  stack = await startStack();
  other = await stack.startGateway();
  partner = await stack.createKey({ name: 'resume-partner', role: 'partner', subgraphs: ['reuse', 'alliances'] });
  editor = await stack.createKey({ name: 'resume-editor', role: 'editor', subgraphs: ['reuse'] });
  comuni = await freshComuni(stack.dbs.reuse, SOLUTION, '004');
});

afterAll(async () => {
  await stack?.stop();
});

/** Registers the next fresh Comune of province 004 (or of `province`); returns the adoption id. */
async function register(province = '004'): Promise<string> {
  const istat = province === '004' ? comuni.shift()! : (await freshComuni(stack.dbs.reuse, SOLUTION, province))[0]!;
  const r = await stack.query(REGISTER, { input: { solutionId: SOLUTION, municipalityIstatCode: istat, provenance: 'SAMPLE' } }, { 'x-api-key': editor });
  expect(r.body.errors).toBeUndefined();
  return r.body.data.registerAdoption.adoption.id as string;
}

const gateways = () => [stack.gatewayUrl, other.url];
const idsOf = (results: any[]) => results.map((r) => r.data.adoptionChanged.adoption.id as string);
const positionOf = (eventId: string) => Number(eventId.split('.')[1]);

describe('resuming over SSE (Last-Event-ID)', () => {
  it('gets exactly the events missed while away, in order, then live ones, from the other gateway instance', async () => {
    const [first, second] = gateways();
    const a = await sseSubscribe(first!, { query: ADOPTIONS, variables: { provinceCode: '004' } }, { 'x-api-key': partner });
    expect(a.status).toBe(200);
    // The stream says where it starts before any event: an `id:` line of its own.
    await until('the start position', () => a.lastEventId !== undefined);
    expect(a.lastEventId).toMatch(/^reuse\.\d+$/);
    const seen = await register();
    await until('the first event', () => a.messages.length === 1);
    const last = a.messages[0]!;
    expect(last).toMatchObject({ event: 'next', id: expect.stringMatching(/^reuse\.\d+$/), data: { data: { adoptionChanged: { kind: 'REGISTERED', adoption: { id: seen } } } } });
    expect(last.data.extensions).toEqual({ eventId: last.id });
    a.close();
    await a.ended;

    const missed = [await register(), await register('001'), await register(), await register()];
    const b = await sseSubscribe(second!, { query: ADOPTIONS, variables: { provinceCode: '004' } }, { 'x-api-key': partner, 'last-event-id': last.id! });
    expect(b.status).toBe(200);
    await until('the 3 missed events of province 004', () => b.messages.length >= 3);
    const live = await register();
    await until('the live event', () => b.messages.length >= 4);
    await sleep(200); // nothing more comes
    const results = b.messages.map((m) => m.data);
    expect(idsOf(results)).toEqual([missed[0], missed[2], missed[3], live]);
    // Ids increase; the Comune's name, from the alliances subgraph, is there in replayed events too.
    const positions = b.messages.map((m) => positionOf(m.id!));
    expect([...positions].sort((x, y) => x - y)).toEqual(positions);
    expect(positions[0]).toBeGreaterThan(positionOf(last.id!));
    for (const r of results) expect(r.data.adoptionChanged.adoption.municipality.name).toEqual(expect.any(String));
    b.close();
  });
});

describe('resuming over graphql-ws (extensions.lastEventId)', () => {
  it('gets exactly the events missed while away, in order, then live ones, from the other gateway instance', async () => {
    const [first, second] = gateways();
    const a = wsSubscribe(second!, { query: ADOPTIONS, variables: { provinceCode: '004' } }, { 'x-api-key': partner });
    await until('the subscription upstream', () => other.subscriptions.stats().subgraphConnections >= 1);
    await sleep(100);
    const seen = await register();
    await until('the first event', () => a.results.length === 1);
    expect(a.results[0]).toMatchObject({ data: { adoptionChanged: { adoption: { id: seen } } }, extensions: { eventId: expect.stringMatching(/^reuse\.\d+$/) } });
    const lastEventId = a.results[0].extensions.eventId as string;
    await a.close();

    const missed = [await register(), await register(), await register('001')];
    const b = wsSubscribe(first!, { query: ADOPTIONS, variables: { provinceCode: '004' }, extensions: { lastEventId } }, { 'x-api-key': partner });
    await until('the 2 missed events of province 004', () => b.results.length >= 2);
    const live = await register();
    await until('the live event', () => b.results.length >= 3);
    await sleep(200);
    expect(idsOf(b.results)).toEqual([missed[0], missed[1], live]);
    const positions = b.results.map((r) => positionOf(r.extensions.eventId));
    expect(new Set(positions).size).toBe(3);
    expect([...positions].sort((x, y) => x - y)).toEqual(positions);
    await b.close();
  });
});

describe('resume positions the log cannot serve', () => {
  it('refuses an id that is malformed, of another subgraph or past the head with EVENT_ID_UNKNOWN, before subscribing', async () => {
    for (const id of ['not-an-id', 'funding.3', 'reuse.99999999']) {
      const sse = await sseSubscribe(stack.gatewayUrl, { query: ADOPTIONS }, { 'x-api-key': partner, 'last-event-id': id });
      if (id === 'reuse.99999999') {
        // Only the subgraph knows its head: the stream starts, then ends with the error.
        await sse.ended;
        expect(sse.messages.map((m) => m.event)).toEqual(['next', 'complete']);
        expect(sse.messages[0]!.data.errors[0].extensions).toMatchObject({ code: 'EVENT_ID_UNKNOWN' });
      } else {
        expect(sse.status).toBe(400);
        expect(sse.body.errors[0].extensions).toMatchObject({ code: 'EVENT_ID_UNKNOWN', eventId: id });
      }
    }
    const ws = wsSubscribe(stack.gatewayUrl, { query: ADOPTIONS, extensions: { lastEventId: 42 } }, { 'x-api-key': partner });
    await until('the refusal', () => ws.errors.length > 0 || ws.completed);
    expect((ws.errors[0] as any[])[0].extensions).toMatchObject({ code: 'EVENT_ID_UNKNOWN' });
    await ws.close();
  });

  it('refuses a position older than the retention with EVENT_ID_EXPIRED', async () => {
    await register();
    await register();
    // Everything is "older" than a zero retention: the log keeps only its newest entry.
    expect(await trimEventLog(stack.dbs.reuse, 0)).toBeGreaterThan(0);
    const ws = wsSubscribe(stack.gatewayUrl, { query: ADOPTIONS, extensions: { lastEventId: 'reuse.1' } }, { 'x-api-key': partner });
    await until('the refusal', () => ws.completed || ws.errors.length > 0);
    expect(ws.results).toHaveLength(1);
    expect(ws.results[0].errors[0]).toMatchObject({ extensions: { code: 'EVENT_ID_EXPIRED', eventId: 'reuse.1' } });
    await ws.close();
    // The newest position still resumes: nothing after it is missing.
    const head = `reuse.${(await stack.dbs.reuse.collection('events').find().sort({ _id: -1 }).limit(1).toArray())[0]!._id as unknown as string}`.replace(/\.0+/, '.');
    const ok = await sseSubscribe(stack.gatewayUrl, { query: ADOPTIONS }, { 'x-api-key': partner, 'last-event-id': head });
    await until('the start position', () => ok.lastEventId !== undefined);
    expect(ok.lastEventId).toBe(head);
    ok.close();
  });
});

describe('the partner contract on replayed events', () => {
  it('replays nothing a key may not read: a field outside its scope is refused before any replay', async () => {
    const reuseOnly = await stack.createKey({ name: 'resume-reuse-only', role: 'partner', subgraphs: ['reuse'] });
    const refused = await sseSubscribe(stack.gatewayUrl, { query: ADOPTIONS }, { 'x-api-key': reuseOnly, 'last-event-id': 'reuse.1' });
    expect(refused.status).toBe(403);
    expect(refused.body.errors[0].extensions).toMatchObject({ code: 'SUBGRAPH_NOT_SUBSCRIBED' });
  });
});
