/**
 * The gateways under test, each started as one process (no cluster workers) on the same
 * supergraph file, optionally pinned to a core with taskset, and measured from the outside
 * (bench/proc.ts).
 *
 * Ours and stock run as JavaScript, as production runs (`node dist/gateway/index.js`): their
 * entry points are compiled once per benchmark process by the production build's tsc into
 * .cache/bench-gateways/ (bench/tsconfig.gateways.json), so that neither carries a TypeScript
 * loader (tsx's loader thread and transformed sources cost each 35–50 MB of resident memory at idle).
 *
 *   ours            gateway/index.ts, NODE_ENV=production, LOG_LEVEL=silent, SUBGRAPH_<NAME>_URL overrides and
 *                   DEDUPE_SUBGRAPH_QUERIES=false (no sharing of subgraph requests between
 *                   concurrent client requests: the comparison counts no merging of requests)
 *   ours-dedupe     the same with DEDUPE_SUBGRAPH_QUERIES=true, its production default: identical
 *                   subgraph requests in flight at the same time are sent once (nothing cached)
 *   apollo-gateway  stock @apollo/gateway in @apollo/server, defaults (bench/gateways/apollo.ts)
 *   hive-gateway    `hive-gateway supergraph FILE --fork 1`, defaults except in-flight
 *                   de-duplication off (bench/gateways/hive.config.ts)
 *   ours-cache      ours with its production defaults (de-duplication on) and CACHE=memory,
 *                   over the signed set of the same subgraphs (`HostReady.writable`), with the
 *                   key store that holds the editor key its writes use
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { freePort } from '../lib/dbServer.ts';
import { build } from '../scripts/build.ts';
import type { GatewayName, WritableSubgraphs } from './types.ts';

const root = path.resolve(import.meta.dirname, '..');
/** The compiled gateways (inside the repository, so that Node finds node_modules from there). */
const compiledRoot = path.join(root, '.cache', 'bench-gateways');
let compiled: Promise<string> | undefined;

/** Ours and stock's entry points compiled to JavaScript, once per process (about 10 s). */
export function compileGateways(): Promise<string> {
  return (compiled ??= build({ outDir: compiledRoot, project: path.join(root, 'bench', 'tsconfig.gateways.json') }));
}

function packageVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(path.join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** What each gateway is, for the report. */
export function describeGateways(): Record<GatewayName, string> {
  const ours = (dedupe: boolean) =>
    `gateway/index.ts compiled to JavaScript (@apollo/gateway ${packageVersion('@apollo/gateway')} + our runtime), NODE_ENV=production, ANONYMOUS_SCOPE=*, LOG_LEVEL=silent, DEDUPE_SUBGRAPH_QUERIES=${dedupe}, rate limits, operation limits and execution limits on (anonymous budget 10^9/min, cost limit 10^9, response ceiling 1 GiB, deadline 300 s), SUBGRAPH_TIMEOUT_MS=300000`;
  return {
    ours: `${ours(false)}: no subgraph request shared between clients`,
    'ours-dedupe': `${ours(true)} (its production default): identical subgraph requests in flight at the same time sent once, nothing cached`,
    'apollo-gateway': `stock @apollo/gateway ${packageVersion('@apollo/gateway')} in @apollo/server ${packageVersion('@apollo/server')} standalone (bench/gateways/apollo.ts compiled to JavaScript), default settings, NODE_ENV=production, APOLLO_TELEMETRY_DISABLED=true`,
    'ours-cache': `${ours(true)}, CACHE=memory (fetch and response caches in this process), GATEWAY_SIGNING_SECRET set and the subgraphs checking it (writes need it), MONGODB_URI for the key store of the writer's editor key, METRICS_ACCESS=open (the hit ratios are read from /metrics)`,
    'hive-gateway': `@graphql-hive/gateway ${packageVersion('@graphql-hive/gateway')} CLI, --fork 1, NODE_ENV=production, in-flight de-duplication off, no usage reporting`,
  };
}

/** A minimal environment: nothing of the caller's (OTEL_*, MONGODB_URI, HIVE_*, APOLLO_KEY…) leaks in. */
function baseEnv(): NodeJS.ProcessEnv {
  const keep = ['PATH', 'HOME', 'LANG', 'TMPDIR', 'TZ'];
  const env: NodeJS.ProcessEnv = {};
  for (const k of keep) if (process.env[k] !== undefined) env[k] = process.env[k];
  env.NODE_ENV = 'production';
  env.APOLLO_TELEMETRY_DISABLED = 'true';
  return env;
}

function command(name: GatewayName, supergraphFile: string, port: number, opts: StartOptions): { args: string[]; env: NodeJS.ProcessEnv } {
  const env = baseEnv();
  let subgraphUrls = opts.subgraphUrls;
  switch (name) {
    case 'ours-cache': {
      const w = opts.writable;
      if (!w) throw new Error('ours-cache needs the writable subgraphs (ALI workload only)');
      subgraphUrls = w.urls;
      env.CACHE = 'memory';
      env.GATEWAY_SIGNING_SECRET = w.gatewaySecret;
      env.MONGODB_URI = w.mongoUri;
      env.MONGODB_DB_PREFIX = w.dbPrefix;
      // The benchmark reads its hit ratios from /metrics (on the API port, loopback only).
      env.METRICS_ACCESS = 'open';
    }
    // falls through: otherwise configured as ours
    case 'ours':
    case 'ours-dedupe':
      env.LOG_LEVEL = 'silent';
      env.DEDUPE_SUBGRAPH_QUERIES = String(name !== 'ours');
      // Production defaults otherwise, rate limiting included (it runs on every request), with a
      // budget the benchmark cannot exhaust: stock gateways have no such limiter to pass.
      env.RATE_LIMITS = 'anonymous=1000000000/60';
      // Stock gateways wait for a subgraph as long as it takes; under 50 connections on the
      // embedded FerretDB the ALI workload's answers can take longer than our default 30 s.
      env.SUBGRAPH_TIMEOUT_MS = '300000';
      // Operation and execution limits stay on (the cost is estimated and the answers measured on
      // every request) with a cost budget and ceilings no measured operation reaches: stock gateways
      // have none to pass, and the gateway-bound subgraphs declare no list sizes.
      env.OPERATION_LIMITS = JSON.stringify({ anonymous: { maxCost: 1_000_000_000 } });
      env.EXECUTION_LIMITS = JSON.stringify({ anonymous: { maxResponseBytes: 1_073_741_824, deadlineMs: 300_000 } });
      env.HOST = '127.0.0.1';
      // Production requires an explicit anonymous scope; the benchmark reads as an anonymous
      // caller, like the stock gateways. /metrics stays on the API port (no second listener).
      env.ANONYMOUS_SCOPE = '*';
      env.METRICS_PORT = 'gateway';
      for (const [subgraph, url] of Object.entries(subgraphUrls)) env[`SUBGRAPH_${subgraph.toUpperCase()}_URL`] = url;
      return { args: [path.join(compiledRoot, 'gateway/index.js'), '--supergraph', supergraphFile, '--port', String(port)], env };
    case 'apollo-gateway':
      return { args: [path.join(compiledRoot, 'bench/gateways/apollo.js'), '--supergraph', supergraphFile, '--port', String(port)], env };
    case 'hive-gateway':
      return {
        args: [
          path.join(root, 'node_modules/@graphql-hive/gateway/dist/bin.js'),
          'supergraph',
          supergraphFile,
          '--host',
          '127.0.0.1',
          '--port',
          String(port),
          '--fork',
          '1',
          '--config-path',
          path.join(root, 'bench/gateways/hive.config.ts'),
        ],
        env,
      };
  }
}

export interface GatewayProcess {
  readonly name: GatewayName;
  readonly pid: number;
  /** The GraphQL endpoint. */
  readonly url: string;
  /** The last lines the process printed. */
  output(): string;
  exited(): boolean;
  stop(): Promise<void>;
}

export interface StartOptions {
  readonly supergraphFile: string;
  readonly subgraphUrls: Record<string, string>;
  /** The signed subgraphs and the key store, for `ours-cache`. */
  readonly writable?: WritableSubgraphs | null;
  /** taskset CPU list for the gateway, or undefined not to pin. */
  readonly cpus: string | undefined;
  /** Extra node options before the entry point (the profiler's `--cpu-prof`). */
  readonly nodeArgs?: readonly string[];
  readonly timeoutMs?: number;
}

/** Starts one gateway and waits until it answers `{ __typename }`. */
export async function startGatewayProcess(name: GatewayName, opts: StartOptions): Promise<GatewayProcess> {
  if (name !== 'hive-gateway') await compileGateways();
  const port = await freePort();
  const built = command(name, opts.supergraphFile, port, opts);
  const env = built.env;
  const args = [...(opts.nodeArgs ?? []), ...built.args];
  // taskset execs node: the pid stays the gateway's.
  const child: ChildProcess = opts.cpus
    ? spawn('taskset', ['-c', opts.cpus, process.execPath, ...args], { env, cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(process.execPath, args, { env, cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let tail = '';
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-8000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}/graphql`;
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${name} exited (code ${child.exitCode}, signal ${child.signalCode}) before answering:\n${tail.trim()}`);
    }
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"query":"{ __typename }"}',
        signal: AbortSignal.timeout(2000),
      });
      const body = (await res.json()) as { data?: { __typename?: string } };
      if (res.status === 200 && body.data?.__typename === 'Query') break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${name} did not answer { __typename } within ${opts.timeoutMs ?? 60_000} ms:\n${tail.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { name, pid: child.pid!, url, output: () => tail, exited: () => child.exitCode !== null || child.signalCode !== null, stop };
}
