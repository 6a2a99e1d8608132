/**
 * `npx tsx bench/profile.ts [--gateway ours|ours-dedupe|apollo-gateway] [--operation NAME]
 * [--requests N] [--connections C] [--out DIR] [--node-option OPT]...`: where a gateway's CPU goes on the gateway-bound
 * workload. Starts the in-memory subgraphs (bench/subgraphs/) in this process and the gateway as
 * the benchmark does (bench/gateways.ts) under `node --cpu-prof`, warms it up, sends N checked
 * requests at C connections, stops it (the profile is written on exit) and prints the functions
 * self time by stage of a request (bench/profileSummary.ts), by package and by function. The .cpuprofile file opens in
 * Chrome DevTools or speedscope. Not a measurement of speed: the profiler itself costs CPU.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startGatewayProcess } from './gateways.ts';
import { AnswerChecker, runLoad } from './load.ts';
import { peakRssMb } from './proc.ts';
import { summariseProfile, type CpuProfile } from './profileSummary.ts';
import { composeBenchSupergraph, startBenchSubgraphs } from './subgraphs/index.ts';
import type { GatewayName } from './types.ts';
import { referenceAnswer, requestBody, WORKLOADS } from './workloads.ts';

const root = path.resolve(import.meta.dirname, '..');
const { values: flags } = parseArgs({
  options: {
    gateway: { type: 'string', default: 'ours' },
    operation: { type: 'string', default: 'heavyNested' },
    requests: { type: 'string', default: '3000' },
    connections: { type: 'string', default: '50' },
    out: { type: 'string', default: path.join(os.tmpdir(), 'ali-bench-profile') },
    'node-option': { type: 'string', multiple: true, default: [] },
  },
});
const spec = WORKLOADS['gateway-bound'].find((s) => s.name === flags.operation);
if (!spec) throw new Error(`no gateway-bound operation ${flags.operation}`);
const gatewayName = flags.gateway as GatewayName;
const outDir = path.resolve(flags.out!);
mkdirSync(outDir, { recursive: true });

const subgraphs = await startBenchSubgraphs();
const supergraphFile = path.join(outDir, 'supergraph.graphql');
writeFileSync(supergraphFile, composeBenchSupergraph(subgraphs.urls));
const profDir = path.join(outDir, `${gatewayName}-${spec.name}-${Date.now()}`);
const reference = await startGatewayProcess('apollo-gateway', { supergraphFile, subgraphUrls: subgraphs.urls, cpus: undefined });
const expected = await referenceAnswer(reference.url, spec);
await reference.stop();
if (!expected.ok) throw new Error(`no reference answer: ${expected.reason}`);
const gateway = await startGatewayProcess(gatewayName, {
  supergraphFile,
  subgraphUrls: subgraphs.urls,
  cpus: undefined,
  nodeArgs: [...(flags['node-option'] ?? []), '--cpu-prof', '--cpu-prof-dir', profDir],
});
const body = requestBody(spec);
const requests = Number(flags.requests);
const warm = new AnswerChecker(expected.expected);
await runLoad({ url: gateway.url, body, connections: 5, amount: Math.min(500, requests), checker: warm });
const checker = new AnswerChecker(expected.expected);
await runLoad({ url: gateway.url, body, connections: Number(flags.connections), amount: requests, checker });
const peakRss = peakRssMb(gateway.pid);
await gateway.stop();
await subgraphs.stop();
if (checker.firstProblem || warm.firstProblem) throw new Error(`wrong answers: ${warm.firstProblem ?? checker.firstProblem}`);
const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
if (!file) throw new Error(`no profile written in ${profDir}`);
const summary = summariseProfile(JSON.parse(readFileSync(path.join(profDir, file), 'utf8')) as CpuProfile, requests + Math.min(500, requests));
writeFileSync(path.join(profDir, 'summary.txt'), `${summary}\n`);
console.log(`${summary}\n\npeak RSS ${peakRss.toFixed(0)} MB`);
console.log(`\nprofile: ${path.join(profDir, file)}`);
