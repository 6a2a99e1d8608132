/**
 * The system scaled out on one machine, every service a real process so that SIGTERM and SIGKILL
 * are real: two instances of each subgraph (`subgraphs/<name>/index.ts`), two gateways
 * (`gateway/index.ts`) each given both instances of every subgraph (SUBGRAPH_<NAME>_URL, a
 * comma-separated list), one Redis (rate limits and subscription events shared), the run's
 * embedded database, and Debian's HAProxy in front of the gateways, as a Kubernetes Service or
 * an ingress would be. Services run from the sources through tsx, as `npm start` does.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { SUBGRAPH_NAMES, type SubgraphName } from '../../lib/config.ts';
import { freePort } from '../../lib/dbServer.ts';
import { startRedis, type RunningRedis } from '../helpers/redis.ts';

const root = path.resolve(import.meta.dirname, '..', '..');
const HAPROXY = process.env.HAPROXY_BIN ?? '/usr/sbin/haproxy';

export interface Service {
  readonly name: string;
  readonly port: number;
  readonly url: string;
  child: ChildProcess;
  /** stdout and stderr, for the failure message of a service that does not come up. */
  output: string;
  exited: Promise<number | null>;
}

export interface Cluster {
  /** HAProxy's frontend: GraphQL at `${url}graphql`, over HTTP and WebSocket. */
  readonly url: string;
  readonly gateways: readonly [Service, Service];
  readonly subgraphs: Readonly<Record<SubgraphName, readonly [Service, Service]>>;
  /** The database name prefix of this run (MONGODB_DB_PREFIX). */
  readonly prefix: string;
  /** What HAProxy logged: the requests that did not end well, with its termination state. */
  lbLog(): string;
  /** Sends `signal`, waits for the process to exit; when the signal was sent and when the exit was seen (performance.now()). */
  kill(service: Service, signal: 'SIGTERM' | 'SIGKILL'): Promise<{ sent: number; exited: number }>;
  /** Starts a stopped service again on its port, and waits until it is up. */
  restart(service: Service): Promise<void>;
  stop(): Promise<void>;
}

export interface ClusterOptions {
  readonly mongoUri: string;
  /** RATE_LIMITS of both gateways. */
  readonly rateLimits: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `url` until it answers 200, the process exits, or `timeoutMs` passes. */
async function waitUp(service: Service, url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void service.exited.then(() => (exited = true));
  while (Date.now() < deadline && !exited) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`${service.name} did not come up at ${url}:\n${service.output.slice(-3000)}`);
}

function spawnService(service: Omit<Service, 'child' | 'output' | 'exited'>, command: string, args: string[], env: Record<string, string>): Service {
  const child = spawn(command, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const running: Service = { ...service, child, output: '', exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))) };
  const keep = (c: Buffer) => {
    running.output = (running.output + c.toString()).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return running;
}

/** HAProxy in front of the two gateways; see docs/deployment.md (scale-out proof) for each line's reason. */
function haproxyConfig(port: number, gateways: readonly Service[]): string {
  return [
    'global',
    '  maxconn 2000',
    '  log stderr format raw local0',
    'defaults',
    '  mode http',
    // Every request with HAProxy's termination state; cluster.lbLog() keeps those that did not end well.
    '  log global',
    '  option httplog',
    '  timeout connect 1s',
    '  timeout client 30s',
    '  timeout server 30s',
    '  timeout tunnel 1h',
    // Longer than the clients' idle keep-alive (undici: 4 s), so a client never reuses a
    // connection HAProxy is closing.
    '  timeout http-keep-alive 10s',
    // A gateway busy with the load may take a while to answer its check: that is not down.
    '  timeout check 2s',
    // A request that did not reach a gateway (refused connection) or that a draining gateway
    // refused unexecuted (503 SHUTTING_DOWN: the gateway's only 503 on /graphql) goes to the other.
    '  retries 3',
    '  retry-on conn-failure 503',
    '  option redispatch 1',
    // Keeps the whole request (GraphQL bodies are small) so that it can be sent again.
    '  option http-buffer-request',
    // A connection to a gateway per request: a client's kept-alive connection to HAProxy is then
    // tied to no gateway, and is not closed under it when one goes away.
    '  option http-server-close',
    'frontend graphql',
    `  bind 127.0.0.1:${port}`,
    '  default_backend gateways',
    'backend gateways',
    '  balance roundrobin',
    // /health answers 503 as soon as a gateway starts draining: it leaves the rotation within two
    // checks, and what it refuses meanwhile (503 SHUTTING_DOWN) is sent to the other (retry-on).
    '  option httpchk GET /health',
    '  http-check expect status 200',
    '  default-server inter 250ms fall 2 rise 2',
    ...gateways.map((g) => `  server ${g.name} 127.0.0.1:${g.port} check`),
    '',
  ].join('\n');
}

/** HAProxy in front of `gateways`, and the lines of its log that are not a request that ended well. */
async function startHaproxy(dir: string, gateways: readonly Service[]): Promise<{ lb: Service; lbLog: string[] }> {
  const port = await freePort();
  const cfgPath = path.join(dir, 'haproxy.cfg');
  await writeFile(cfgPath, haproxyConfig(port, gateways));
  const lb = spawnService({ name: 'haproxy', port, url: `http://127.0.0.1:${port}/` }, HAPROXY, ['-db', '-f', cfgPath], { PATH: process.env.PATH ?? '/usr/bin:/bin' });
  const lbLog: string[] = [];
  lb.child.stderr?.on('data', (c: Buffer) => {
    for (const line of c.toString().split('\n')) if (line.trim() && !/ (200|101) \d+ - - ---- /.test(line)) lbLog.push(line);
  });
  await waitUp(lb, `${lb.url}health`, 10_000);
  return { lb, lbLog };
}

// One function over 80 lines: the start order (seeding instances, then the others with the
// gateways, then HAProxy) and the handles the test gets read best top to bottom.
export async function startCluster(opts: ClusterOptions): Promise<Cluster> {
  await access(HAPROXY).catch(() => {
    throw new Error(`${HAPROXY} not found: install Debian's haproxy (apt-get install haproxy) to run the scale-out test`);
  });
  const prefix = `scale${Date.now().toString(36)}`;
  const secret = randomBytes(32).toString('base64url');
  const redis: RunningRedis = await startRedis();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ali-graph-scale-'));
  const common: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? dir,
    NODE_ENV: 'development',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    MONGODB_URI: opts.mongoUri,
    MONGODB_DB_PREFIX: prefix,
    REDIS_URL: redis.url,
    // The proof is about instances lost under subgraph traffic: with the caches on (the default
    // with REDIS_URL), the repeated queries of the load would mostly not reach a subgraph at all.
    CACHE: 'off',
    GATEWAY_SIGNING_SECRET: secret,
    OTEL_SDK_DISABLED: 'true',
    APOLLO_TELEMETRY_DISABLED: 'true',
  };
  // Node itself with tsx's loader, not the tsx CLI: the CLI runs the service in a child process,
  // which a SIGKILL to the CLI would leave running.
  const tsx = ['--import', 'tsx'];
  const starts = new Map<Service, () => Service>();
  const all: Service[] = [];

  const subgraphs = {} as Record<SubgraphName, [Service, Service]>;
  const subgraphService = (name: SubgraphName, n: 1 | 2, port: number): Service => {
    const service = { name: `${name}-${n}`, port, url: `http://127.0.0.1:${port}/` };
    // Only the first instance seeds its (empty) database: two seeding at once would collide.
    const env = { ...common, [`${name.toUpperCase()}_PORT`]: String(port), SEED_ON_START: n === 1 ? 'true' : 'false' };
    const start = () => spawnService(service, process.execPath, [...tsx, `subgraphs/${name}/index.ts`], env);
    const running = start();
    starts.set(running, start);
    all.push(running);
    return running;
  };
  const gatewayEnv: Record<string, string> = {
    ...common,
    RATE_LIMITS: opts.rateLimits,
    SUPERGRAPH_WATCH: 'false',
    SHUTDOWN_GRACE_MS: '5000',
    // HAProxy checks every 250 ms and needs two failed checks: a second covers it on a busy machine.
    SHUTDOWN_LISTEN_MS: '1000',
  };
  const ports = Object.fromEntries(await Promise.all(SUBGRAPH_NAMES.map(async (name) => [name, [await freePort(), await freePort()]] as const)));
  for (const name of SUBGRAPH_NAMES) gatewayEnv[`SUBGRAPH_${name.toUpperCase()}_URL`] = ports[name]!.map((p) => `http://127.0.0.1:${p}/graphql`).join(',');
  const gateways: Service[] = [];
  const startGateways = async () => {
    for (const name of ['gateway-a', 'gateway-b']) {
      const port = await freePort();
      const start = () => spawnService({ name, port, url: `http://127.0.0.1:${port}/` }, process.execPath, [...tsx, 'gateway/index.ts'], { ...gatewayEnv, GATEWAY_PORT: String(port) });
      const service = start();
      starts.set(service, start);
      gateways.push(service);
    }
    all.push(...gateways);
  };
  // The second instances start once the first have seeded, and the gateways with them.
  for (const n of [1, 2] as const) {
    const started = SUBGRAPH_NAMES.map((name) => subgraphService(name, n, ports[name]![n - 1]!));
    if (n === 2) await startGateways();
    await Promise.all(started.map((s) => waitUp(s, `${s.url}health`, 90_000)));
    SUBGRAPH_NAMES.forEach((name, i) => ((subgraphs[name] ??= [] as unknown as [Service, Service])[n - 1] = started[i]!));
  }
  await Promise.all(gateways.map((g) => waitUp(g, `${g.url}ready`, 90_000)));

  const { lb, lbLog } = await startHaproxy(dir, gateways);

  const kill = async (service: Service, signal: 'SIGTERM' | 'SIGKILL') => {
    service.child.kill(signal);
    const sent = performance.now();
    await service.exited;
    return { sent, exited: performance.now() };
  };
  return {
    url: lb.url,
    gateways: gateways as [Service, Service],
    subgraphs,
    prefix,
    lbLog: () => lbLog.join('\n'),
    kill,
    async restart(service) {
      const fresh = starts.get(service)!();
      service.child = fresh.child;
      service.exited = fresh.exited;
      fresh.child.stdout?.on('data', (c: Buffer) => (service.output += c.toString()));
      fresh.child.stderr?.on('data', (c: Buffer) => (service.output += c.toString()));
      await waitUp(service, `${service.url}${service.name.startsWith('gateway') ? 'ready' : 'health'}`, 60_000);
    },
    async stop() {
      for (const service of [lb, ...all]) {
        if (service.child.exitCode === null && service.child.signalCode === null) {
          service.child.kill('SIGTERM');
          const timer = setTimeout(() => service.child.kill('SIGKILL'), 8_000);
          await service.exited;
          clearTimeout(timer);
        }
      }
      await redis.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
