/**
 * Subscriptions at the subgraphs: GraphQL over WebSocket on every subgraph behind the gateway's
 * signed token, one event per successful mutation and matching subscriber, filters, and fan-out
 * between two instances of a subgraph over Redis. The bus alone: ./bus.test.ts.
 * Everything real: graphql-ws clients over `ws`, the subgraphs on FerretDB, redis-server.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type Client } from 'graphql-ws';
import { WebSocket } from 'ws';
import { Redis } from 'ioredis';
import { startStack, TEST_LIMITS, type Stack } from '../../helpers/stack.ts';
import { startRedis, type RunningRedis } from '../../helpers/redis.ts';
import { GATEWAY_TOKEN_HEADER, signGatewayToken, type Caller } from '../../../lib/access.ts';
import { createEventBus, DEFAULT_CHANNEL_PREFIX, type LocalEventBus } from '../../../lib/events.ts';
import { detectCapabilities } from '../../../lib/mongo.ts';
import { startSubgraph, WS_CLOSE_UNAUTHORIZED, type RunningSubgraph } from '../../../lib/subgraph.ts';
import type { SubgraphName } from '../../../lib/config.ts';
import { reuse } from '../../../subgraphs/reuse/server.ts';
import { piedmontMunicipalities } from '../../../lib/domain/registry.ts';

const sub = (name: string) => readFileSync(new URL(`./subgraph/${name}.graphql`, import.meta.url), 'utf8');
const mutation = (name: string) => readFileSync(new URL(`../operations/mutations/${name}.graphql`, import.meta.url), 'utf8');
const ADOPTION_CHANGED = sub('adoptionChanged');
const FUNDED_PROJECT_CHANGED = sub('fundedProjectChanged');
const MEMBERSHIP_CHANGED = sub('membershipChanged');
const MEETING_RECORDED = sub('meetingRecorded');

const EDITOR: Caller = { sub: 'editor-events', role: 'editor', read: '*', write: ['alliances', 'governance', 'funding', 'reuse'] };
const PARTNER: Caller = { sub: 'partner-events', role: 'partner', read: ['reuse'], write: [] };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

const wsUrl = (httpUrl: string) => `${httpUrl.replace(/^http/, 'ws')}graphql`;

interface Collected {
  readonly events: { data?: any; errors?: any[] }[];
  readonly errors: unknown[];
  completed: boolean;
  stop(): void;
}

const clients: Client[] = [];

/** A graphql-ws client straight to a subgraph, with `connection_init` carrying the token (if any). */
function connectTo(url: string, token: string | undefined): Client {
  const client = createClient({
    url: wsUrl(url),
    webSocketImpl: WebSocket,
    connectionParams: token === undefined ? undefined : { [GATEWAY_TOKEN_HEADER]: token },
    retryAttempts: 0,
    lazy: true,
  });
  clients.push(client);
  return client;
}

function collect(client: Client, query: string, variables: Record<string, unknown> = {}): Collected {
  const c: Collected = {
    events: [],
    errors: [],
    completed: false,
    stop: () => {},
  };
  c.stop = client.subscribe(
    { query, variables },
    {
      next: (v) => void c.events.push(v as Collected['events'][number]),
      error: (e) => void c.errors.push(e),
      complete: () => void (c.completed = true),
    },
  );
  return c;
}

/** The close event a client's first operation ends with. */
async function closeOf(client: Client): Promise<{ code: number; reason: string }> {
  const c = collect(client, ADOPTION_CHANGED);
  await until('the connection to close', () => c.errors.length > 0 || c.completed);
  const e = c.errors[0] as { code: number; reason: string };
  return { code: e.code, reason: e.reason };
}

let stack: Stack;
const bus = createEventBus();

beforeAll(async () => {
  stack = await startStack({ events: bus });
});

afterAll(async () => {
  for (const c of clients) await c.dispose();
  await stack?.stop();
  await bus.close();
});

/** A token for `subgraph`, by default of a partner subscribed to it (subgraphs enforce the read scope). */
async function token(subgraph: SubgraphName, caller: Caller = { ...PARTNER, read: [subgraph] }): Promise<string> {
  return signGatewayToken(stack.gatewaySecret, caller, subgraph);
}

/** Subscribers registered on `topic` (the subscription reached the bus). */
const ready = (topic: string, n: number, b: LocalEventBus = bus) => until(`${n} subscribers of ${topic}`, () => b.subscriberCount(topic) >= n);

/** Waits until every collector in `expecting` has `n` events, then a while longer for extras. */
async function settle(expecting: Collected[], n = 1): Promise<void> {
  await until('the events', () => expecting.every((c) => c.events.length >= n));
  await sleep(150);
}

/** A request straight to one subgraph instance, signed for `caller`, as the gateway sends it. */
async function postTo(url: string, query: string, variables: Record<string, unknown>, caller: Caller) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', [GATEWAY_TOKEN_HEADER]: await token('reuse', caller) },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, body: (await res.json()) as { data?: any; errors?: any[] } };
}

function ok(res: { body: { data?: any; errors?: unknown[] } }): any {
  expect(res.body.errors).toBeUndefined();
  return res.body.data;
}

describe('GraphQL over WebSocket at a subgraph', () => {
  it('closes a connection without a valid gateway token with 4401 Unauthorized', async () => {
    const url = stack.subgraphUrls.reuse;
    expect(await closeOf(connectTo(url, undefined))).toEqual({ code: WS_CLOSE_UNAUTHORIZED, reason: 'Unauthorized' });
    expect(await closeOf(connectTo(url, 'not-a-token'))).toEqual({ code: 4401, reason: 'Unauthorized' });
    // Signed with another secret, or for another subgraph (aud).
    expect(await closeOf(connectTo(url, await signGatewayToken('x'.repeat(40), PARTNER, 'reuse')))).toMatchObject({ code: 4401 });
    expect(await closeOf(connectTo(url, await token('funding')))).toMatchObject({ code: 4401 });
    expect(bus.subscriberCount()).toBe(0);
  });

  it('runs every operation of a connection as the caller of its token', async () => {
    const adopted = new Set((await stack.dbs.reuse.collection('adoptions').find({ solutionId: 'sigma-ter-piemonte' }).toArray()).map((d) => d.istatCode));
    const comune = piedmontMunicipalities().find((m) => m.provinceCode === '003' && !adopted.has(m.istatCode))!;
    const input = { solutionId: 'sigma-ter-piemonte', municipalityIstatCode: comune.istatCode, provenance: 'SAMPLE' };
    const run = async (caller: Caller) => {
      const c = collect(connectTo(stack.subgraphUrls.reuse, await token('reuse', caller)), mutation('registerAdoption'), { input });
      await until('the answer', () => c.completed);
      return c.events[0]!;
    };
    expect((await run({ sub: 'a', role: 'analyst', read: '*', write: [] })).errors![0].extensions.code).toBe('FORBIDDEN');
    expect((await run({ ...EDITOR, write: ['funding'] })).errors![0].extensions.code).toBe('FORBIDDEN');
    expect((await run(EDITOR)).data).toMatchObject({ registerAdoption: { adoption: { id: `sigma-ter-piemonte:${comune.istatCode}`, version: 1 } } });
  });

  it('publishes exactly one event per successful mutation to each matching subscriber, and none to the others', async () => {
    const client = connectTo(stack.subgraphUrls.reuse, await token('reuse'));
    const comune = piedmontMunicipalities().find((m) => m.provinceCode === '004' && m.istatCode.endsWith('07'))!;
    const all = collect(client, ADOPTION_CHANGED);
    const bySolution = collect(client, ADOPTION_CHANGED, { solutionId: 'atoc-comune-facile' });
    const byProvince = collect(client, ADOPTION_CHANGED, { provinceCode: '004' });
    const active = collect(client, ADOPTION_CHANGED, { status: 'ACTIVE' });
    const otherProvince = collect(client, ADOPTION_CHANGED, { provinceCode: '001' });
    const otherSolution = collect(client, ADOPTION_CHANGED, { solutionId: 'sigma-ter-piemonte' });
    await ready('reuse.adoptionChanged', 6);

    // A refused mutation publishes nothing.
    const bad = await stack.subgraphQuery('reuse', mutation('registerAdoption'), { input: { solutionId: 'atoc-comune-facile', municipalityIstatCode: comune.istatCode, provenance: 'DERIVED' } }, EDITOR);
    expect(bad.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');

    const input = { solutionId: 'atoc-comune-facile', municipalityIstatCode: comune.istatCode, provenance: 'SAMPLE' };
    const before = Date.now();
    ok(await stack.subgraphQuery('reuse', mutation('registerAdoption'), { input }, EDITOR));
    await settle([all, bySolution, byProvince]);
    const id = `atoc-comune-facile:${comune.istatCode}`;
    const registered = {
      kind: 'REGISTERED',
      previousStatus: null,
      at: expect.any(String),
      adoption: { id, status: 'PLANNED', startedOn: null, version: 1, solution: { id: 'atoc-comune-facile', name: 'ATOC Comune Facile' }, municipality: { istatCode: comune.istatCode } },
    };
    for (const c of [all, bySolution, byProvince]) expect(c.events).toEqual([{ data: { adoptionChanged: registered } }]);
    for (const c of [active, otherProvince, otherSolution]) expect(c.events).toEqual([]);
    const at = Date.parse(all.events[0]!.data.adoptionChanged.at);
    expect(at).toBeGreaterThanOrEqual(before - 1000);
    expect(at).toBeLessThanOrEqual(Date.now());

    // A duplicate registration fails (ALREADY_EXISTS): no event.
    expect((await stack.subgraphQuery('reuse', mutation('registerAdoption'), { input }, EDITOR)).body.errors?.[0]?.extensions?.code).toBe('ALREADY_EXISTS');

    ok(await stack.subgraphQuery('reuse', mutation('changeAdoptionStatus'), { id, status: 'ACTIVE', expectedVersion: 1, startedOn: '2012-03-01' }, EDITOR));
    await settle([all], 2);
    expect(all.events[1]).toEqual({
      data: { adoptionChanged: { ...registered, kind: 'STATUS_CHANGED', previousStatus: 'PLANNED', adoption: { ...registered.adoption, status: 'ACTIVE', startedOn: '2012-03-01', version: 2 } } },
    });
    expect(active.events).toEqual([all.events[1]]);
    expect(bySolution.events).toHaveLength(2);
    expect(byProvince.events).toHaveLength(2);
    for (const c of [otherProvince, otherSolution]) expect(c.events).toEqual([]);
    for (const c of [all, bySolution, byProvince, active, otherProvince, otherSolution]) c.stop();
    await until('the subscriptions to end', () => bus.subscriberCount('reuse.adoptionChanged') === 0);
  });

  it('refuses a malformed filter argument with BAD_USER_INPUT, subscribing nothing', async () => {
    const client = connectTo(stack.subgraphUrls.reuse, await token('reuse'));
    const bad = collect(client, ADOPTION_CHANGED, { provinceCode: '999' });
    await until('the answer', () => bad.completed || bad.errors.length > 0);
    expect(bad.events[0]!.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'provinceCode' });
    expect(bus.subscriberCount('reuse.adoptionChanged')).toBe(0);
  });

  it('funding: an amended ALI project reaches its alliance and agreement subscribers, amounts exact', async () => {
    const client = connectTo(stack.subgraphUrls.funding, await token('funding'));
    const list = ok(await stack.subgraphQuery('funding', '{ fundedProjects(filter: { allianceId: "ali-cn" }) { nodes { id title version agreement { id } } } }'));
    const project = list.fundedProjects.nodes[0];
    const mine = collect(client, FUNDED_PROJECT_CHANGED, { allianceId: 'ali-cn' });
    const byAct = collect(client, FUNDED_PROJECT_CHANGED, { agreementId: project.agreement.id });
    const other = collect(client, FUNDED_PROJECT_CHANGED, { allianceId: 'ali-to' });
    const reuseOnly = collect(client, FUNDED_PROJECT_CHANGED, { reuseSolutionId: 'sigma-ter-piemonte' });
    await ready('funding.fundedProjectChanged', 4);
    const amended = ok(
      await stack.subgraphQuery('funding', mutation('amendFundedProject'), { id: project.id, expectedVersion: project.version, changes: { title: 'Cuneo ALI project (renamed)' } }, EDITOR),
    );
    await settle([mine, byAct]);
    const p = amended.amendFundedProject.project;
    const event = mine.events[0]!.data.fundedProjectChanged;
    expect(event).toMatchObject({
      kind: 'AMENDED',
      project: { id: project.id, title: 'Cuneo ALI project (renamed)', totalValue: p.totalValue, cofinancing: p.cofinancing, version: project.version + 1, beneficiary: { __typename: 'Alliance', id: 'ali-cn' } },
    });
    expect(event.project.totalValue).toMatch(/^\d+\.\d{2}$/);
    expect(byAct.events).toEqual(mine.events);
    expect(other.events).toEqual([]);
    expect(reuseOnly.events).toEqual([]);
    for (const c of [mine, byAct, other, reuseOnly]) c.stop();
  });

  it('alliances: a Comune leaving its ALI reaches the ALI and province subscribers (LEFT, previousAlliance resolved)', async () => {
    const client = connectTo(stack.subgraphUrls.alliances, await token('alliances'));
    const found = ok(await stack.subgraphQuery('alliances', '{ municipalities(first: 1, filter: { allianceId: "ali-at" }) { nodes { istatCode version } } }'));
    const comune = found.municipalities.nodes[0];
    const byAlliance = collect(client, MEMBERSHIP_CHANGED, { allianceId: 'ali-at' });
    const byProvince = collect(client, MEMBERSHIP_CHANGED, { provinceCode: '005' });
    const other = collect(client, MEMBERSHIP_CHANGED, { allianceId: 'ali-cn' });
    await ready('alliances.membershipChanged', 3);
    ok(await stack.subgraphQuery('alliances', mutation('changeMembership'), { istatCode: comune.istatCode, allianceId: null, expectedVersion: comune.version }, EDITOR));
    await settle([byAlliance, byProvince]);
    expect(byAlliance.events[0]!.data.membershipChanged).toMatchObject({
      kind: 'LEFT',
      municipality: { istatCode: comune.istatCode, version: comune.version + 1, membership: null },
      alliance: null,
      previousAlliance: { id: 'ali-at', name: expect.stringContaining('Asti') },
    });
    ok(await stack.subgraphQuery('alliances', mutation('changeMembership'), { istatCode: comune.istatCode, allianceId: 'ali-at', expectedVersion: comune.version + 1, provenance: 'SAMPLE' }, EDITOR));
    await settle([byAlliance, byProvince], 2);
    expect(byAlliance.events[1]!.data.membershipChanged).toMatchObject({ kind: 'JOINED', alliance: { id: 'ali-at' }, previousAlliance: null, municipality: { membership: { alliance: { id: 'ali-at' }, provenance: 'SAMPLE' } } });
    expect(byProvince.events).toEqual(byAlliance.events);
    expect(other.events).toEqual([]);
    for (const c of [byAlliance, byProvince, other]) c.stop();
  });

  it('governance: a recorded meeting reaches its committee subscribers only', async () => {
    const client = connectTo(stack.subgraphUrls.governance, await token('governance'));
    const mine = collect(client, MEETING_RECORDED, { committeeId: 'steering-committee' });
    const other = collect(client, MEETING_RECORDED, { committeeId: 'regional-guidance-committee' });
    await ready('governance.meetingRecorded', 2);
    const input = { committeeId: 'steering-committee', date: '2014-04-04', title: 'Events', decisions: [{ summary: 'publish changes' }], provenance: 'SAMPLE' };
    ok(await stack.subgraphQuery('governance', mutation('recordMeeting'), { input }, EDITOR));
    await settle([mine]);
    expect(mine.events).toEqual([
      {
        data: {
          meetingRecorded: {
            kind: 'RECORDED',
            at: expect.any(String),
            meeting: { id: 'steering-committee:2014-04-04', date: '2014-04-04', title: 'Events', version: 1, decisions: [{ number: 1, summary: 'publish changes' }], committee: { id: 'steering-committee' } },
          },
        },
      },
    ]);
    expect(other.events).toEqual([]);
    mine.stop();
    other.stop();
  });

  it('releases every subscription when clients subscribe and disconnect 100 times', async () => {
    const t = await token('reuse');
    for (let i = 0; i < 100; i++) {
      const client = createClient({ url: wsUrl(stack.subgraphUrls.reuse), webSocketImpl: WebSocket, connectionParams: { [GATEWAY_TOKEN_HEADER]: t }, retryAttempts: 0 });
      const c = collect(client, ADOPTION_CHANGED, { provinceCode: '001' });
      await ready('reuse.adoptionChanged', 1);
      if (i % 2 === 0) c.stop();
      await client.dispose();
      await until('the subscription to end', () => bus.subscriberCount('reuse.adoptionChanged') === 0);
    }
    expect(bus.subscriberCount()).toBe(0);
  });
});

describe('two instances of a subgraph over one Redis', () => {
  let redis: RunningRedis;
  const buses: LocalEventBus[] = [];
  const instances: RunningSubgraph[] = [];
  const start = async (extra: { changeStreams?: 'auto'; log?: (line: string) => void } = {}) => {
    const events = createEventBus({ redisUrl: redis.url });
    buses.push(events);
    const running = await startSubgraph(reuse, { db: stack.dbs.reuse, gatewaySecret: stack.gatewaySecret, limits: TEST_LIMITS, port: 0, host: '127.0.0.1', events, ...extra });
    instances.push(running);
    return { running, events };
  };
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    for (const s of instances) await s.stop();
    for (const b of buses) await b.close();
    await redis?.stop();
  });

  it('an event of a mutation on instance A reaches the subscribers on A and on B, once each', async () => {
    const a = await start();
    const b = await start();
    const onA = collect(connectTo(a.running.url, await token('reuse')), ADOPTION_CHANGED, { provinceCode: '006' });
    const onB = collect(connectTo(b.running.url, await token('reuse')), ADOPTION_CHANGED, { provinceCode: '006' });
    const elsewhere = collect(connectTo(b.running.url, await token('reuse')), ADOPTION_CHANGED, { provinceCode: '001' });
    const probe = new Redis(redis.url);
    await until('both instances to subscribe the channel', async () => {
      const [, n] = (await probe.pubsub('NUMSUB', `${DEFAULT_CHANNEL_PREFIX}reuse.adoptionChanged`)) as [string, number];
      return a.events.subscriberCount() === 1 && b.events.subscriberCount() === 2 && Number(n) === 2;
    });
    const comune = piedmontMunicipalities().find((m) => m.provinceCode === '006' && m.istatCode.endsWith('11'))!;
    const input = { solutionId: 'acquisti-on-line-piemonte', municipalityIstatCode: comune.istatCode, provenance: 'SAMPLE' };
    ok(await postTo(a.running.url, mutation('registerAdoption'), { input }, EDITOR));
    await settle([onA, onB], 1);
    expect(onA.events).toHaveLength(1);
    expect(onB.events).toEqual(onA.events);
    expect(onB.events[0]!.data.adoptionChanged).toMatchObject({ kind: 'REGISTERED', adoption: { id: `acquisti-on-line-piemonte:${comune.istatCode}`, municipality: { istatCode: comune.istatCode } } });
    expect(elsewhere.events).toEqual([]);
    await probe.quit();
  });

  it('closes its subscribers with 1001 when the instance stops', async () => {
    const { running } = await start();
    const c = collect(connectTo(running.url, await token('reuse')), ADOPTION_CHANGED);
    await until('the subscription', () => buses.at(-1)!.subscriberCount() === 1);
    await running.stop();
    instances.splice(instances.indexOf(running), 1);
    await until('the close', () => c.errors.length > 0);
    expect((c.errors[0] as { code: number }).code).toBe(1001);
  });

  it('CHANGE_STREAMS=auto on FerretDB: detected as unavailable, said in the log, and API events still flow once, through the log', async () => {
    expect(await detectCapabilities(stack.dbs.reuse)).toMatchObject({ server: 'ferretdb', changeStreams: false });
    const lines: string[] = [];
    const { running } = await start({ changeStreams: 'auto', log: (l) => lines.push(l) });
    expect(lines).toContainEqual(expect.stringMatching(/^reuse: change streams off \(FerretDB .* has none\)/));
    const c = collect(connectTo(running.url, await token('reuse')), ADOPTION_CHANGED, { provinceCode: '096' });
    await until('the subscription', () => buses.at(-1)!.subscriberCount() === 1);
    const comune = piedmontMunicipalities().find((m) => m.provinceCode === '096')!;
    const input = { solutionId: 'sigma-ter-piemonte', municipalityIstatCode: comune.istatCode, provenance: 'SAMPLE' };
    ok(await stack.subgraphQuery('reuse', mutation('registerAdoption'), { input }, EDITOR)); // the stack's instance: memory bus
    const id = `sigma-ter-piemonte:${comune.istatCode}`;
    ok(await postTo(running.url, mutation('changeAdoptionStatus'), { id, status: 'IN_PROGRESS', expectedVersion: 1 }, EDITOR));
    await settle([c], 2);
    // The stack's instance published REGISTERED on its own memory bus only, but wrote it to the
    // shared event log: the position of STATUS_CHANGED shows this instance the gap, and its stream
    // reads REGISTERED from the log first. Each once, in order.
    expect(c.events.map((e) => e.data.adoptionChanged.kind)).toEqual(['REGISTERED', 'STATUS_CHANGED']);
  });
});
