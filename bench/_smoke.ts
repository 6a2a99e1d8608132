import { spawn } from 'node:child_process';
const child = spawn(process.execPath, ['--import', 'tsx', 'bench/subgraphHost.ts', process.argv[2]!, '/tmp/sg.graphql'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
const t0 = Date.now();
child.on('message', (m: any) => { console.log(Date.now() - t0, 'ms', JSON.stringify(m).slice(0, 500)); if (m.type === 'ready') { /* keep running */ } });
process.on('SIGTERM', () => child.send({ type: 'stop' }));
setTimeout(() => child.send({ type: 'stop' }), Number(process.argv[3] ?? 60) * 1000);
