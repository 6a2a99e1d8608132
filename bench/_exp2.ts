import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { startGatewayProcess } from './gateways.ts';
const file = '/tmp/exp2.supergraph.graphql';
const child = spawn(process.execPath, ['--import', 'tsx', 'bench/subgraphHost.ts', 'ali', file], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
const ready: any = await new Promise((r) => child.on('message', (m: any) => m.type === 'ready' && r(m)));
const gw = await startGatewayProcess('ours', { supergraphFile: file, subgraphUrls: ready.urls, cpus: '0' });
const ops: [string, any][] = [
  ['test/operations/batching/dashboard.graphql', { first: 500 }],
  ['test/operations/batching/dashboard.graphql', { first: 50 }],
  ['test/operations/batching/dashboard.graphql', { first: 20 }],
  ['bench/operations/ali-municipalities.graphql', { first: 400 }],
  ['bench/operations/ali-municipalities.graphql', { first: 200 }],
  ['bench/operations/ali-analytics.graphql', {}],
];
for (const [f, v] of ops) {
  const body = JSON.stringify({ query: readFileSync(f, 'utf8'), variables: v });
  const times: number[] = []; let size = 0;
  for (let i = 0; i < 6; i++) { const t = performance.now(); const r = await fetch(gw.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body }); size = (await r.text()).length; times.push(performance.now() - t); }
  console.log(f, JSON.stringify(v), size, times.map((t) => t.toFixed(0)).join(' '));
}
await gw.stop(); child.send({ type: 'stop' });
