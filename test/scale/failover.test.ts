/**
 * Scale-out on one machine (./cluster.ts: HAProxy, two gateways, two instances of each subgraph,
 * one Redis, the embedded database, every service a real process) under a bounded load of queries,
 * writes and subscriptions (./load.ts), while instances are lost:
 *
 * 1. one instance of every subgraph is SIGKILLed: queries in flight to it are sent again to the
 *    other instance by the gateway; no query fails; writes are never sent twice;
 * 2. one gateway gets SIGTERM: it drains, HAProxy takes it out of the rotation, nothing fails;
 *    its subscribers reconnect through HAProxy to the other gateway and resume;
 * 3. it is started again, and the other gateway is SIGKILLed: only the requests that were in
 *    flight on it fail.
 *
 * Rate limits are shared through Redis (one budget for both gateways). The figures are printed
 * and are in docs/deployment.md (scale-out proof); the targets are asserted.
 */
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { KeyStore } from '../../gateway/access/keys.ts';
import { SUBGRAPH_NAMES } from '../../lib/config.ts';
import { freshComuni } from '../helpers/eventClients.ts';
import { startCluster, type Cluster, type Service } from './cluster.ts';
import { figures, Load, operation, subscriber, type Subscriber } from './load.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Anonymous callers' limit, per address, for both gateways together. */
const ANONYMOUS_LIMIT = 40;
const RATE_LIMITS = `anonymous=${ANONYMOUS_LIMIT}/60,frontend=100000/60,analyst=100000/60,partner=100000/60,editor=100000/60,admin=600/60`;
const SUBSCRIBERS = 6;

let cluster: Cluster;
let mongo: MongoClient;
let editor: string;

beforeAll(async () => {
  cluster = await startCluster({ mongoUri: inject('mongoUri'), rateLimits: RATE_LIMITS });
  mongo = await MongoClient.connect(inject('mongoUri'));
  const keys = new KeyStore(mongo.db(`${cluster.prefix}_gateway`), { cacheMs: 0 });
  await keys.init();
  editor = (await keys.create({ name: 'scale-editor', role: 'editor', subgraphs: [...SUBGRAPH_NAMES] })).key;
}, 180_000);

afterAll(async () => {
  await cluster?.stop();
  await mongo?.close();
});

/** Sum of one counter over a gateway's /metrics. */
async function counter(gateway: Service, name: string): Promise<number> {
  const text = await (await fetch(`${gateway.url}metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

it('rate limits are one budget for both gateways (Redis)', async () => {
  const query = operation('allianceMembers');
  const [a, b] = cluster.gateways;
  const statuses: number[] = [];
  for (let i = 0; i < 25; i++) {
    for (const gateway of [a, b]) {
      const res = await fetch(`${gateway.url}graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
      await res.arrayBuffer();
      statuses.push(res.status);
    }
  }
  // Each gateway alone would have let all 25 through.
  expect(statuses.filter((s) => s === 200)).toHaveLength(ANONYMOUS_LIMIT);
  expect(statuses.filter((s) => s === 429)).toHaveLength(50 - ANONYMOUS_LIMIT);
});

// One scenario over 80 lines: its phases share the load, the subscribers and the timeline they are judged by.
it('survives losing a subgraph instance of each subgraph (SIGKILL), a gateway (SIGTERM), then the other gateway (SIGKILL)', async () => {
  const reuseDb = mongo.db(`${cluster.prefix}_reuse`);
  const comuni = (await Promise.all(['001', '002', '003', '004', '005', '006', '096', '103'].map((p) => freshComuni(reuseDb, 'sigma-ter-piemonte', p)))).flat();
  const load = new Load(cluster.url, editor, comuni, { workers: 4, pauseMs: 25 });

  // Subscribers first, each on one of the gateways (HAProxy alternates), all receiving events.
  const subscribers: Subscriber[] = Array.from({ length: SUBSCRIBERS }, () => subscriber(cluster.url, editor));
  const [probe] = await Promise.all([
    (async () => {
      // Writes until every subscriber has one event: then each subscription is in place upstream.
      // Up to 30 s: on a busy machine the subscriptions take a while to reach the subgraphs.
      for (let i = 0; i < 100 && !subscribers.every((s) => s.received.length > 0); i++) {
        const input = { solutionId: 'sigma-ter-piemonte', municipalityIstatCode: comuni.shift(), status: 'PLANNED', provenance: 'SAMPLE' };
        await fetch(`${cluster.url}graphql`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': editor }, body: JSON.stringify({ query: operation('registerAdoption'), variables: { input } }) });
        await sleep(300);
      }
      return subscribers.every((s) => s.received.length > 0);
    })(),
  ]);
  expect(probe).toBe(true);
  const subscribedAt = performance.now();

  const [a, b] = cluster.gateways;
  const t = { start: performance.now() } as Record<'start' | 'subgraphKill' | 'subgraphRestart' | 'sigterm' | 'gatewayRestart' | 'sigkill' | 'sigkillExited' | 'end', number>;
  load.start();
  await sleep(2_000);

  // 1. One instance of every subgraph, SIGKILLed at once.
  t.subgraphKill = Math.min(...(await Promise.all(SUBGRAPH_NAMES.map((name) => cluster.kill(cluster.subgraphs[name][0], 'SIGKILL').then((k) => k.sent)))));
  // At least 3 s of load on the surviving instances; longer if no query has met a killed one yet.
  const retriedNow = async () => (await counter(a, 'ali_gateway_subgraph_retries_total')) + (await counter(b, 'ali_gateway_subgraph_retries_total'));
  let retried = 0;
  for (const end = t.subgraphKill + 15_000; ; await sleep(250)) {
    retried = await retriedNow();
    if ((retried > 0 && performance.now() - t.subgraphKill >= 3_000) || performance.now() > end) break;
  }
  // As an orchestrator would, start them again.
  t.subgraphRestart = performance.now();
  await Promise.all(SUBGRAPH_NAMES.map((name) => cluster.restart(cluster.subgraphs[name][0])));
  await sleep(1_000);

  // 2. Gateway a: SIGTERM, drained; then started again.
  t.sigterm = (await cluster.kill(a, 'SIGTERM')).sent;
  await sleep(1_000);
  t.gatewayRestart = performance.now();
  await cluster.restart(a);
  await sleep(1_000); // HAProxy's checks (every 250 ms, two in a row) put it back in the rotation

  // 3. Gateway b: SIGKILL.
  ({ sent: t.sigkill, exited: t.sigkillExited } = await cluster.kill(b, 'SIGKILL'));
  await sleep(3_000);
  t.end = performance.now();
  await load.stop();

  // Every successful write after the subscriptions were in place must reach every subscriber.
  const written = load.outcomes.filter((o) => o.ok && o.adoption && o.started >= subscribedAt).map((o) => o.adoption!);
  const missing = (s: Subscriber) => written.filter((id) => !s.received.includes(id));
  for (let i = 0; i < 150 && subscribers.some((s) => missing(s).length > 0); i++) await sleep(100);
  const lost = subscribers.map((s) => missing(s).length);
  const duplicates = subscribers.map((s) => s.received.length - new Set(s.received).size);
  await Promise.all(subscribers.map((s) => s.client.dispose()));

  const subgraphPhase = figures(load.outcomes, t.subgraphKill, t.subgraphRestart);
  const restarts = [figures(load.outcomes, t.subgraphRestart, t.sigterm), figures(load.outcomes, t.gatewayRestart, t.sigkill)];
  const sigtermPhase = figures(load.outcomes, t.sigterm, t.gatewayRestart);
  const sigkillPhase = figures(load.outcomes, t.sigkill, Infinity);
  const all = figures(load.outcomes, -Infinity, Infinity);
  const failedAtSigkill = load.outcomes.filter((o) => !o.ok && o.ended >= t.sigkill);
  // In flight on either gateway between the signal and the process's exit (until the kernel has
  // torn it down, the process still accepts what HAProxy sends it): at most that many may fail.
  const inFlightAtKill = load.inFlightDuring(t.sigkill, t.sigkillExited).length;
  const phase = (f: ReturnType<typeof figures>) =>
    `${f.sent} answered, ${f.failedQueries} queries and ${f.failedMutations} writes failed${f.failureCodes.length ? ` (${f.failureCodes.join(', ')})` : ''}, max latency ${f.maxLatencyMs} ms`;
  const writes = load.outcomes.filter((o) => o.kind === 'mutation').length;
  console.log(
    [
      `scale-out figures: ${all.sent} requests (${writes} writes) in ${((t.end - t.start) / 1000).toFixed(1)} s, ${all.failedQueries + all.failedMutations} failed`,
      `  subgraph instances SIGKILLed: ${phase(subgraphPhase)}; queries the gateways sent again to the other instance: ${retried}`,
      `  restarting the subgraph instances: ${phase(restarts[0]!)}`,
      `  gateway SIGTERM: ${phase(sigtermPhase)}`,
      `  restarting that gateway: ${phase(restarts[1]!)}`,
      `  gateway SIGKILL: ${phase(sigkillPhase)}; in flight at the kill: ${inFlightAtKill}`,
      `  subscribers: ${SUBSCRIBERS}, reconnections ${subscribers.map((s) => s.connections - 1).join('/')}, events written ${written.length}, lost ${lost.join('/')}, received twice ${duplicates.join('/')}`,
    ].join('\n'),
  );
  if (all.failedQueries + all.failedMutations > 0) {
    console.log(`HAProxy's log of the requests that did not end well:\n${cluster.lbLog()}`);
    // What the gateways logged (warnings and errors), to tell why a request failed.
    for (const gateway of [a!, b!]) console.log(`${gateway.name}'s log:\n${gateway.output.slice(-6000)}`);
  }

  // Subgraph instances lost: no query fails, the gateway sent some again to the other instance.
  expect(subgraphPhase.failedQueries).toBe(0);
  expect(retried).toBeGreaterThan(0);
  // A write that met the killed instance fails as unavailable, and is not sent again.
  for (const o of load.outcomes.filter((x) => x.kind === 'mutation' && !x.ok && x.started < t.sigterm)) expect(o.codes).toEqual(['SUBGRAPH_UNAVAILABLE']);
  // A gateway stopped with SIGTERM, and instances coming back: nothing fails.
  expect(sigtermPhase.failedQueries + sigtermPhase.failedMutations).toBe(0);
  for (const restart of restarts) expect(restart.failedQueries).toBe(0);
  // A gateway SIGKILLed: only requests that were in flight on it fail.
  for (const o of failedAtSigkill) expect(o.started).toBeLessThan(t.sigkillExited);
  expect(failedAtSigkill.length).toBeLessThanOrEqual(inFlightAtKill);
  // Subscribers of both lost gateways reconnected through HAProxy and missed no event.
  expect(subscribers.reduce((n, s) => n + s.connections - 1, 0)).toBeGreaterThanOrEqual(SUBSCRIBERS);
  expect(lost).toEqual(subscribers.map(() => 0));
}, 170_000);
