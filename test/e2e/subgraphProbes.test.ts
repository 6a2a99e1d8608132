/**
 * A subgraph's probes for orchestrators: /health says the process serves HTTP (liveness), /ready
 * that its database answers too (readiness), so Kubernetes stops routing to an instance that
 * lost its database without restarting it.
 */
import { afterAll, describe, expect, inject, it } from 'vitest';
import { connect } from '../../lib/mongo.ts';
import { startSubgraph, type RunningSubgraph } from '../../lib/subgraph.ts';
import { subgraphModules } from '../../subgraphs/index.ts';

let running: RunningSubgraph | undefined;
const dbName = `probes${Date.now().toString(36)}_alliances`;
afterAll(async () => {
  await running?.stop();
  const client = await connect(inject('mongoUri'));
  await client.db(dbName).dropDatabase();
  await client.close();
});

describe('subgraph probes', () => {
  it('/ready answers 200 while the database answers and 503 once it does not; /health stays 200', async () => {
    const client = await connect(inject('mongoUri'));
    running = await startSubgraph(subgraphModules.alliances, {
      db: client.db(dbName),
      gatewaySecret: 'subgraph-probes-test-secret-0123456789',
      limits: { defaultSize: 20, maxSize: 500 },
      port: 0,
      host: '127.0.0.1',
    });
    expect((await fetch(`${running.url}health`)).status).toBe(200);
    const ready = await fetch(`${running.url}ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', subgraph: 'alliances' });

    await client.close();
    const lost = await fetch(`${running.url}ready`);
    expect(lost.status).toBe(503);
    expect(await lost.json()).toEqual({ status: 'database unreachable', subgraph: 'alliances' });
    expect((await fetch(`${running.url}health`)).status).toBe(200);
  });
});
