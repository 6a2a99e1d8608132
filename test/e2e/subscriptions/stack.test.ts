/**
 * Subscriptions through the gateway over the real stack: a mutation reaches each matching
 * subscriber once, with the fields other subgraphs contribute; scopes refuse over both transports;
 * two gateways and two reuse instances over one Redis. (Against fixture subgraphs: ./gateway.test.ts.)
 */
import { readFileSync } from 'node:fs';
import { createClient as createSseClient } from 'graphql-sse';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createEventBus, type LocalEventBus } from '../../../lib/events.ts';
import { piedmontMunicipalities } from '../../../lib/domain/registry.ts';
import { startSubgraph, type RunningSubgraph } from '../../../lib/subgraph.ts';
import { subgraphModules } from '../../../subgraphs/index.ts';
import { adoptionDocs } from '../../../subgraphs/reuse/data/seed.ts';
import { startRedis, type RunningRedis } from '../../helpers/redis.ts';
import { startStack, TEST_LIMITS, type Stack } from '../../helpers/stack.ts';
import { bearer, postJson, sleep, subscribe, waitFor, wsClient, type Result } from './fixtures/clients.ts';

const operation = (name: string) => readFileSync(new URL(`./fixtures/operations/${name}.graphql`, import.meta.url), 'utf8');

const SUBSCRIBE = operation('adoptionsWithAlliance');
const REGISTER = operation('registerAdoption');
const MUNICIPALITY_ALLIANCE = operation('municipalityAlliance');
let stack: Stack;
let redis: RunningRedis;
/** The reuse subgraph instances the tests watch (their buses tell when a subscription is in place). */
const instances: { bus: LocalEventBus; subgraph: RunningSubgraph }[] = [];
const keys = {} as Record<'editor' | 'partner' | 'noReuse', string>;
const seeded = new Set(adoptionDocs().map((a) => a._id));
let used = 0;
/** A Comune of `province` without an adoption of `solution` yet (a new one per call). */
const freshComune = (solution: string, province: string) =>
  piedmontMunicipalities().filter((m) => m.provinceCode === province && !seeded.has(`${solution}:${m.istatCode}`))[used++]!.istatCode;

async function reuseInstance(bus: LocalEventBus): Promise<RunningSubgraph> {
  const subgraph = await startSubgraph(subgraphModules.reuse, { db: stack.dbs.reuse, gatewaySecret: stack.gatewaySecret, limits: TEST_LIMITS, port: 0, host: '127.0.0.1', events: bus });
  instances.push({ bus, subgraph });
  return subgraph;
}

beforeAll(async () => {
  stack = await startStack();
  keys.editor = await stack.createKey({ name: 'editor-reuse', role: 'editor', subgraphs: ['reuse'] });
  keys.partner = await stack.createKey({ name: 'partner-reuse-alliances', role: 'partner', subgraphs: ['reuse', 'alliances'] });
  keys.noReuse = await stack.createKey({ name: 'partner-alliances', role: 'partner', subgraphs: ['alliances', 'funding'] });
});

afterAll(async () => {
  for (const { bus, subgraph } of instances) {
    await subgraph.stop();
    await bus.close();
  }
  await stack?.stop();
  await redis?.stop();
});

it('a mutation through the gateway reaches each matching subscriber exactly once, with the alliance resolved from `alliances`', async () => {
  const bus = createEventBus();
  const reuse = await reuseInstance(bus);
  const gw = await stack.startGateway({ urlOverrides: { ...stack.subgraphUrls, reuse: reuse.url } });
  const client = wsClient(gw, bearer(keys.partner));
  const cuneo = subscribe(client, SUBSCRIBE, { provinceCode: '004' });
  const torino = subscribe(client, SUBSCRIBE, { provinceCode: '001' });
  await waitFor('2 subscriptions on the reuse subgraph', () => bus.subscriberCount() === 2);

  const istatCode = freshComune('sigma-ter-piemonte', '004');
  const input = { solutionId: 'sigma-ter-piemonte', municipalityIstatCode: istatCode, status: 'PLANNED', provenance: 'SAMPLE' };
  const write = await postJson(gw, REGISTER, { input }, bearer(keys.editor));
  expect(write.body.errors).toBeUndefined();
  const municipality = (await postJson(gw, MUNICIPALITY_ALLIANCE, { istatCode }, bearer(keys.partner))).body.data.municipality;
  // A member Comune: the event's alliance name comes from `alliances` through the entity fetch.
  expect(municipality).toEqual({ istatCode, name: expect.any(String), membership: { alliance: { name: expect.stringMatching(/^ALI /) } } });

  await waitFor('the event', () => cuneo.results.length >= 1);
  await sleep(300); // and no second one
  expect(cuneo.results).toEqual([
    {
      data: { adoptionChanged: { kind: 'REGISTERED', previousStatus: null, adoption: { id: `sigma-ter-piemonte:${istatCode}`, status: 'PLANNED', municipality } } },
      // The event's id in the reuse subgraph's event log: the position to resume from.
      extensions: { eventId: expect.stringMatching(/^reuse\.\d+$/) },
    },
  ]);
  expect(torino.results).toEqual([]);
  cuneo.dispose();
  torino.dispose();
  await client.dispose();
  await waitFor('released', () => bus.subscriberCount() === 0);
});

it('refuses a partner without `reuse`, over graphql-ws and SSE', async () => {
  const ws = createClient({ url: `${stack.gatewayUrl.replace(/^http/, 'ws')}graphql`, webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: bearer(keys.noReuse) });
  const sub = subscribe(ws, SUBSCRIBE);
  await sub.done;
  expect(sub.errors[0]).toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code: 'SUBGRAPH_NOT_SUBSCRIBED', subgraphs: ['reuse'] }) })]);
  await ws.dispose();
  const res = await fetch(`${stack.gatewayUrl}graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...bearer(keys.noReuse) },
    body: JSON.stringify({ query: SUBSCRIBE }),
  });
  expect(res.status).toBe(403);
  expect(((await res.json()) as any).errors[0].extensions.code).toBe('SUBGRAPH_NOT_SUBSCRIBED');
});

it('with two gateways and two reuse instances sharing Redis, a mutation through one reaches a subscriber on the other', async () => {
  redis = await startRedis();
  const busA = createEventBus({ redisUrl: redis.url });
  const busB = createEventBus({ redisUrl: redis.url });
  const reuseA = await reuseInstance(busA);
  const reuseB = await reuseInstance(busB);
  const gatewayA = await stack.startGateway({ urlOverrides: { ...stack.subgraphUrls, reuse: reuseA.url } });
  const gatewayB = await stack.startGateway({ urlOverrides: { ...stack.subgraphUrls, reuse: reuseB.url } });
  const onB = wsClient(gatewayB, bearer(keys.partner));
  const sub = subscribe(onB, SUBSCRIBE, { provinceCode: '006' });
  await waitFor('the subscription on reuse B', () => busB.subscriberCount() === 1);
  // SSE on gateway A as well: both instances' subscribers get the event.
  const sse = createSseClient({ url: `${gatewayA.url}graphql`, headers: bearer(keys.partner), retryAttempts: 0 });
  const viaSse: Result[] = [];
  const iterator = sse.iterate<Record<string, any>, unknown>({ query: SUBSCRIBE, variables: { provinceCode: '006' } });
  const reading = (async () => {
    for await (const r of iterator) viaSse.push(r);
  })();
  await waitFor('the SSE subscription on reuse A', () => busA.subscriberCount() === 1);
  await sleep(200); // Redis SUBSCRIBE acknowledged

  const istatCode = freshComune('sigma-ter-piemonte', '006');
  const input = { solutionId: 'sigma-ter-piemonte', municipalityIstatCode: istatCode, status: 'PLANNED', provenance: 'SAMPLE' };
  const write = await postJson(gatewayA, REGISTER, { input }, bearer(keys.editor));
  expect(write.body.errors).toBeUndefined();
  await waitFor('the event on gateway B', () => sub.results.length >= 1 && viaSse.length >= 1);
  await sleep(300);
  expect(sub.results).toHaveLength(1);
  expect(viaSse).toHaveLength(1);
  expect(sub.results[0]).toEqual(viaSse[0]);
  expect(sub.results[0]!.data!['adoptionChanged']).toMatchObject({ kind: 'REGISTERED', adoption: { id: `sigma-ter-piemonte:${istatCode}`, municipality: { istatCode } } });
  sub.dispose();
  await onB.dispose();
  await iterator.return?.();
  await reading;
  sse.dispose();
});
