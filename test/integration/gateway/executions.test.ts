/**
 * The production gateway (gateway/runtime.ts) with one slot for executing operations
 * (GATEWAY_CONCURRENT_OPERATIONS=1) over the two fixture subgraphs: an operation stuck on a
 * subgraph that does not answer does not hold back the operations queued behind it, and the
 * queue shows in /metrics.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startGateway } from '../../../gateway/runtime.ts';
import { SECRET, startBothSubgraphs } from './fixtures/subgraphs.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function series(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.slice(name.length + 1)) : NaN;
}

describe('operations executing at once, production gateway', () => {
  it('answers queued operations while the one holding the only slot waits on a subgraph that does not answer', async () => {
    const { funding, supergraphSdl } = await startBothSubgraphs(cleanups);
    const gateway = await startGateway({ supergraph: { sdl: supergraphSdl }, gatewaySecret: SECRET, timeoutMs: 10_000, concurrentOperations: 1, port: 0, host: '127.0.0.1' });
    cleanups.push(() => gateway.stop(0));
    const post = async (query: string) => {
      const res = await fetch(`${gateway.url}graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
      return { status: res.status, body: (await res.json()) as { data?: unknown; errors?: unknown[] } };
    };
    const metrics = async () => (await fetch(`${gateway.url}metrics`)).text();
    expect(series(await metrics(), 'ali_gateway_operations_queued_total')).toBe(0);

    funding.hang = () => true;
    const stuck = post('{ fundingSources }');
    // The stuck operation has the slot: wait until its fetch reached funding.
    for (let i = 0; i < 200 && funding.requests.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(funding.requests.length).toBe(1);

    const started = performance.now();
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => post(`{ alliances { id name } a${i}: alliances { id } }`)));
    const ms = performance.now() - started;
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(answer.body.errors).toBeUndefined();
      expect(answer.body.data).toMatchObject({ alliances: expect.any(Array) });
    }
    // Far sooner than the stuck operation's 10 s timeout, which a plain limit of one would wait for.
    expect(ms).toBeLessThan(3_000);
    const text = await metrics();
    expect(series(text, 'ali_gateway_operations_queued_total')).toBeGreaterThanOrEqual(1);
    expect(series(text, 'ali_gateway_operations_executing')).toBe(1);
    expect(series(text, 'ali_gateway_operations_waiting')).toBe(0);
    await funding.kill();
    expect((await stuck).status).toBe(200);
  });
});
