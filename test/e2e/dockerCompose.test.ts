/**
 * docker-compose.yml, Dockerfile and .dockerignore, checked without a Docker engine.
 *
 * We do not trust a plain YAML parse. The compose file goes through compose-go, the library
 * that `docker compose` itself uses. test/e2e/tools/composecheck wraps it in a small Go program,
 * which we build once and cache under .cache/. compose-go validates the file against the
 * compose-spec schema, resolves anchors, merge keys and interpolation, checks consistency
 * (such as depends_on targets) and prints the normalised project. The assertions below run
 * on that normalised project, so they see what `docker compose` would run, not how the YAML
 * happens to be spelled.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { configSpec, loadConfig, SUBGRAPH_NAMES } from '../../lib/config.ts';
import { gatewayOptionsFromConfig } from '../../gateway/runtime.ts';
import { resolveGatewayOptions } from '../../gateway/options.ts';

const execFileAsync = promisify(execFile);

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const TOOL_DIR = path.join(ROOT, 'test', 'e2e', 'tools', 'composecheck');
const COMPOSE_FILE = path.join(ROOT, 'docker-compose.yml');
/** Building compose-go from scratch (module download and compile) takes about 15 s here. The limit leaves room for a slow proxy. */
const BUILD_TIMEOUT_MS = 5 * 60_000;

const REPLICA_SET_URI = 'mongodb://mongo:27017/?replicaSet=rs0';
const SECRET = 'compose-test-secret-0123456789abcdefghijkl';
const APP_SERVICES = [...SUBGRAPH_NAMES, 'gateway'] as const;
type AppService = (typeof APP_SERVICES)[number];

/** Container port of each app service: its default in lib/config.ts, which the compose file relies on. */
const PORTS: Record<AppService, number> = {
  gateway: Number(configSpec.GATEWAY_PORT.default),
  alliances: Number(configSpec.ALLIANCES_PORT.default),
  governance: Number(configSpec.GOVERNANCE_PORT.default),
  funding: Number(configSpec.FUNDING_PORT.default),
  reuse: Number(configSpec.REUSE_PORT.default),
};
/** Source entry point of each app service; the image runs its compiled form, dist/<entry>.js. */
const ENTRY: Record<AppService, string> = {
  gateway: 'gateway/index.ts',
  alliances: 'subgraphs/alliances/index.ts',
  governance: 'subgraphs/governance/index.ts',
  funding: 'subgraphs/funding/index.ts',
  reuse: 'subgraphs/reuse/index.ts',
};
const compiled = (entry: string) => `dist/${entry.replace(/\.ts$/, '.js')}`;
/** tsconfig.build.json's entry points: what `npm run build` compiles into dist/. */
const BUILD_ENTRIES: string[] = (JSON.parse(readFileSync(path.join(ROOT, 'tsconfig.build.json'), 'utf8')) as { files: string[] }).files;

/** The part of compose-go's normalised project (`Project.MarshalJSON`) these tests read. */
interface ComposeProject {
  name: string;
  services: Record<string, ComposeService>;
  volumes?: Record<string, { name?: string; external?: boolean }>;
}
interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile?: string };
  command?: string[] | null;
  environment?: Record<string, string | null>;
  depends_on?: Record<string, { condition: string; required?: boolean }>;
  healthcheck?: { test?: string[]; disable?: boolean; interval?: string; timeout?: string; retries?: number };
  ports?: { target: number; published?: string; protocol?: string }[];
  volumes?: { type: string; source?: string; target: string }[];
}

/** Finds `go`, or fails with a message that says what the test needs it for. */
async function goVersion(): Promise<string> {
  try {
    const { stdout } = await execFileAsync('go', ['env', 'GOVERSION'], { timeout: 60_000 });
    return stdout.trim();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') {
      throw new Error(
        'Go is not installed (no `go` on PATH). test/e2e/dockerCompose.test.ts builds test/e2e/tools/composecheck, ' +
          'a small Go program around compose-go (the compose-file loader inside `docker compose`), to validate ' +
          'docker-compose.yml. Install Go 1.24 or newer and run the tests again.',
      );
    }
    throw new Error(`\`go env GOVERSION\` failed: ${e.message}`);
  }
}

/**
 * Builds composecheck into .cache/composecheck/ unless that exact build is there already. The key
 * covers the Go version, the platform and the tool's sources, so a change to any of them rebuilds.
 */
async function buildComposecheck(): Promise<string> {
  const hash = createHash('sha256').update(await goVersion()).update(`${process.platform}-${process.arch}`);
  for (const f of ['go.mod', 'go.sum', 'main.go']) hash.update(f).update(readFileSync(path.join(TOOL_DIR, f)));
  const dir = path.join(ROOT, '.cache', 'composecheck');
  const bin = path.join(dir, `composecheck-${hash.digest('hex').slice(0, 16)}${process.platform === 'win32' ? '.exe' : ''}`);
  if (existsSync(bin)) return bin;
  mkdirSync(dir, { recursive: true });
  // Build to a temporary name and rename it into place, so that a build that was cut short
  // or a concurrent one never leaves a half-written binary under the cached name.
  const tmp = `${bin}.${process.pid}.tmp`;
  try {
    await execFileAsync('go', ['build', '-trimpath', '-buildvcs=false', '-o', tmp, '.'], {
      cwd: TOOL_DIR,
      timeout: BUILD_TIMEOUT_MS - 10_000,
      maxBuffer: 16 * 1024 * 1024,
      // -mod=readonly: go.sum must already pin every module, so a build never rewrites the
      // tool's go.mod or go.sum. No cgo: then no C compiler is needed.
      env: { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-mod=readonly' },
    });
  } catch (err) {
    rmSync(tmp, { force: true });
    const e = err as Error & { stderr?: string };
    throw new Error(`building test/e2e/tools/composecheck failed:\n${e.stderr?.trim() || e.message}`);
  }
  renameSync(tmp, bin);
  return bin;
}

/**
 * Loads a compose file with composecheck. The child gets only PATH, so ${VAR} interpolation
 * cannot pick up a value from the developer's shell.
 */
async function loadCompose(bin: string, file: string, env: Record<string, string> = {}): Promise<ComposeProject> {
  const { stdout } = await execFileAsync(bin, [file], {
    env: { PATH: process.env.PATH ?? '', ...env },
    timeout: 60_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  return JSON.parse(stdout) as ComposeProject;
}

/** Runs a health-check command (`[CMD, ...argv]`) as the container would, and returns its exit code. */
function runHealthcheck(test: readonly string[]): Promise<number | null> {
  const [kind, cmd, ...args] = test;
  if (kind !== 'CMD' || cmd === undefined) throw new Error(`not an exec-form health check: ${JSON.stringify(test)}`);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd === 'node' ? process.execPath : cmd, args, { stdio: 'ignore' });
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

/** The instructions of a Dockerfile, with line continuations joined and comments dropped. */
function dockerfileInstructions(text: string): { instruction: string; args: string }[] {
  const logical = text
    .split('\n')
    .filter((l) => !/^\s*#/.test(l))
    .join('\n')
    .replace(/\\\r?\n/g, ' ');
  return logical
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .map((l) => {
      const m = /^(\S+)\s*(.*)$/.exec(l);
      return { instruction: (m?.[1] ?? '').toUpperCase(), args: m?.[2] ?? '' };
    });
}

describe('docker-compose.yml (loaded by compose-go, as `docker compose` loads it)', () => {
  let bin: string;
  let project: ComposeProject;
  const service = (name: string): ComposeService => {
    const s = project.services[name];
    if (!s) throw new Error(`docker-compose.yml has no service "${name}"`);
    return s;
  };

  beforeAll(async () => {
    bin = await buildComposecheck();
    project = await loadCompose(bin, COMPOSE_FILE, { GATEWAY_SIGNING_SECRET: SECRET });
  }, BUILD_TIMEOUT_MS);

  it('refuses to start without GATEWAY_SIGNING_SECRET, and gives it to the gateway and every subgraph', async () => {
    await expect(loadCompose(bin, COMPOSE_FILE)).rejects.toThrow(/set GATEWAY_SIGNING_SECRET/);
    for (const name of APP_SERVICES) expect(service(name).environment?.GATEWAY_SIGNING_SECRET, name).toBe(SECRET);
  });

  it('runs redis for shared rate limits and events, unpublished, and every app service uses it', () => {
    const redis = service('redis');
    expect(redis.image).toMatch(/^redis:7(\.|$)/);
    expect(redis.ports ?? []).toEqual([]);
    expect(redis.healthcheck?.test).toEqual(['CMD', 'redis-cli', 'ping']);
    for (const name of APP_SERVICES) {
      expect(service(name).environment?.REDIS_URL, name).toBe('redis://redis:6379');
      expect(service(name).depends_on?.['redis']?.condition ?? service('gateway').depends_on?.['redis']?.condition, name).toBe('service_healthy');
    }
  });

  it('rejects a compose file the compose spec does not allow (so the validation is real)', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ali-composecheck-'));
    try {
      const misspelt = path.join(dir, 'misspelt.yml');
      writeFileSync(misspelt, 'services:\n  a:\n    image: busybox\n    helthcheck:\n      test: [CMD, "true"]\n');
      await expect(loadCompose(bin, misspelt)).rejects.toThrow(/helthcheck/);
      const dangling = path.join(dir, 'dangling.yml');
      writeFileSync(dangling, 'services:\n  a:\n    image: busybox\n    depends_on:\n      b:\n        condition: service_healthy\n');
      await expect(loadCompose(bin, dangling)).rejects.toThrow(/undefined service "b"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('has exactly the database, redis, the four subgraphs and the gateway', () => {
    expect(project.name).toBe('ali-graph');
    expect(Object.keys(project.services).sort()).toEqual(['mongo', 'redis', ...APP_SERVICES].sort());
  });

  it('runs mongo:7 as the single-node replica set rs0, with its data in a named volume', () => {
    const mongo = service('mongo');
    expect(mongo.image).toMatch(/^mongo:7(\.|$)/);
    const command = mongo.command ?? [];
    expect(command[command.indexOf('--replSet') + 1], `mongo command: ${JSON.stringify(command)}`).toBe('rs0');
    const data = (mongo.volumes ?? []).find((v) => v.target === '/data/db');
    expect(data?.type).toBe('volume');
    expect(Object.keys(project.volumes ?? {})).toContain(data?.source);
    expect(mongo.depends_on ?? {}).toEqual({});
  });

  it("mongo's health check initiates rs0 idempotently as mongo:27017 and waits for primary", () => {
    const test = service('mongo').healthcheck?.test ?? [];
    expect(test.slice(0, 2)).toEqual(['CMD', 'mongosh']);
    const script = test[test.indexOf('--eval') + 1] ?? '';
    expect(() => new Function(script), 'the mongosh script must be valid JavaScript').not.toThrow();
    expect(script).toMatch(/rs\.status\(\)/);
    expect(script).toMatch(/catch\s*\(\w*\)\s*\{\s*rs\.initiate\(/);
    expect(script).toMatch(/rs\.initiate\(\{\s*_id:\s*'rs0'/);
    // The member host must be the service name, because the driver connects to the address
    // stored in the replica set config.
    expect(script).toMatch(/host:\s*'mongo:27017'/);
    expect(script).toMatch(/isWritablePrimary/);
  });

  it.each(APP_SERVICES)('%s is built from the Dockerfile and runs its own compiled entry point', (name) => {
    const s = service(name);
    expect(s.build?.context).toBe(ROOT);
    expect(s.build?.dockerfile ?? 'Dockerfile').toBe('Dockerfile');
    expect(s.command).toEqual(['node', compiled(ENTRY[name])]);
    expect(existsSync(path.join(ROOT, ENTRY[name])), `${ENTRY[name]} must exist`).toBe(true);
    expect(BUILD_ENTRIES, `tsconfig.build.json must compile ${ENTRY[name]}`).toContain(ENTRY[name]);
  });

  it.each(APP_SERVICES)('%s publishes its port and probes /health on it', (name) => {
    const s = service(name);
    expect(s.ports).toEqual([expect.objectContaining({ target: PORTS[name], published: String(PORTS[name]) })]);
    const hc = s.healthcheck;
    expect(hc?.disable ?? false).toBe(false);
    expect(hc?.test?.slice(0, 3)).toEqual(['CMD', 'node', '-e']);
    expect(hc?.test?.at(-1)).toBe(`http://127.0.0.1:${PORTS[name]}/health`);
  });

  it('publishes ports 4000-4004 on the host', () => {
    const published = Object.values(project.services)
      .flatMap((s) => s.ports ?? [])
      .map((p) => Number(p.published))
      .sort();
    expect(published).toEqual([4000, 4001, 4002, 4003, 4004]);
  });

  it('the subgraphs wait for a healthy mongo and connect to the replica set', () => {
    for (const name of SUBGRAPH_NAMES) {
      const s = service(name);
      expect(s.depends_on, name).toEqual({
        mongo: expect.objectContaining({ condition: 'service_healthy' }),
        redis: expect.objectContaining({ condition: 'service_healthy' }),
      });
      expect(s.environment?.MONGODB_URI, name).toBe(REPLICA_SET_URI);
      expect(s.environment?.HOST, name).toBe('0.0.0.0');
    }
  });

  it('the gateway waits for every healthy subgraph and reaches each one by service name', () => {
    const gateway = service('gateway');
    expect(Object.keys(gateway.depends_on ?? {}).sort()).toEqual(['redis', ...SUBGRAPH_NAMES].sort());
    for (const dep of Object.values(gateway.depends_on ?? {})) expect(dep.condition).toBe('service_healthy');
    for (const name of SUBGRAPH_NAMES) {
      expect(gateway.environment?.[`SUBGRAPH_${name.toUpperCase()}_URL`]).toBe(
        `http://${name}:${PORTS[name]}/graphql`,
      );
    }
    expect(gateway.environment?.HOST).toBe('0.0.0.0');
  });

  it('every app service environment is a valid configuration for lib/config.ts', () => {
    for (const name of APP_SERVICES) {
      const env = service(name).environment ?? {};
      for (const key of Object.keys(env)) expect(Object.keys(configSpec), `${name}: ${key}`).toContain(key);
      const values = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v ?? undefined]));
      expect(() => loadConfig(values), name).not.toThrow();
    }
  });

  it('the gateway starts in production with what it is given: ANONYMOUS_SCOPE explicit, /metrics on its own unpublished port', async () => {
    const env = Object.fromEntries(Object.entries(service('gateway').environment ?? {}).map(([k, v]) => [k, v ?? undefined]));
    expect(env.NODE_ENV).toBe('production');
    const options = resolveGatewayOptions({ supergraph: { sdl: '' }, ...gatewayOptionsFromConfig(loadConfig(env)) });
    expect(options).toMatchObject({ production: true, anonymousScope: '*', corsOrigins: 'none', metricsPort: 9464 });
    expect((service('gateway').ports ?? []).map((p) => p.target)).not.toContain(9464);
    const closed = await loadCompose(bin, COMPOSE_FILE, { GATEWAY_SIGNING_SECRET: SECRET, ANONYMOUS_SCOPE: 'none' });
    expect(closed.services['gateway']?.environment?.ANONYMOUS_SCOPE).toBe('none');
  });

  it('the health-check probe passes on a 200 from /health and fails otherwise or when nothing listens', async () => {
    const probes = new Set(APP_SERVICES.map((n) => service(n).healthcheck?.test?.[3]));
    expect(probes.size, 'every app service uses the same probe').toBe(1);
    const test = service('gateway').healthcheck?.test ?? [];
    const server = createServer((req, res) => {
      const ok = req.method === 'GET' && req.url === '/health';
      res.writeHead(ok ? 200 : 404, { 'content-type': 'application/json' });
      res.end(ok ? '{"status":"ok"}' : '{"errors":[{"message":"no route"}]}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const url = `http://127.0.0.1:${port}/health`;
      expect(await runHealthcheck([...test.slice(0, -1), url])).toBe(0);
      expect(await runHealthcheck([...test.slice(0, -1), `http://127.0.0.1:${port}/nothing-here`])).not.toBe(0);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    // Nothing listens on the port once the server is closed.
    expect(await runHealthcheck([...test.slice(0, -1), `http://127.0.0.1:${port}/health`])).not.toBe(0);
  });
});

describe('Dockerfile', () => {
  const text = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
  const instructions = dockerfileInstructions(text);
  const args = (name: string) => instructions.filter((i) => i.instruction === name).map((i) => i.args);

  it('builds on a Node LTS image (24 or a later even release)', () => {
    const from = args('FROM');
    expect(from.length).toBeGreaterThan(0);
    for (const line of from) {
      const image = line.split(/\s+/).find((w) => !w.startsWith('--')) ?? '';
      const m = /^(?:docker\.io\/(?:library\/)?)?node:(\d+)(?:[.-].*)?$/.exec(image);
      expect(m, `FROM ${line}`).not.toBeNull();
      const major = Number(m?.[1]);
      expect(major % 2, `node:${major} is not an LTS line`).toBe(0);
      expect(major).toBeGreaterThanOrEqual(24);
    }
  });

  it('installs production dependencies from the lock file and runs as node (uid 1000), with the compiled gateway by default', () => {
    expect(args('RUN').some((r) => /\bnpm ci\b/.test(r) && /--omit=dev\b/.test(r))).toBe(true);
    expect(args('COPY').some((c) => c.includes('package-lock.json'))).toBe(true);
    // Numeric, so that Kubernetes can check runAsNonRoot; 1000 is the official image's `node`.
    expect(args('USER').at(-1)).toBe('1000:1000');
    const env = args('ENV').join(' ');
    expect(env).toMatch(/\bNODE_ENV=production\b/);
    expect(env).toMatch(/\bHOST=0\.0\.0\.0\b/);
    expect(env).toMatch(/\bSUPERGRAPH_PATH=\/app\/dist\/schema\/supergraph\.graphql\b/);
    expect(JSON.parse(args('CMD').at(-1) ?? 'null')).toEqual(['node', compiled(ENTRY.gateway)]);
  });

  it('compiles in a build stage and gives the runtime stage dist/ and production node_modules only', () => {
    const stages = text.split(/^FROM /m).slice(1);
    expect(stages.length, 'build, production dependencies, runtime').toBeGreaterThanOrEqual(3);
    expect(args('RUN')).toContain('npm run build');
    const runtime = dockerfileInstructions(`FROM ${stages.at(-1) ?? ''}`);
    const copies = runtime.filter((i) => i.instruction === 'COPY').map((i) => i.args);
    expect(copies.some((c) => /^--from=\S+ \S*\/dist dist$/.test(c)), copies.join('\n')).toBe(true);
    expect(copies.some((c) => /^--from=\S+ \S*\/node_modules node_modules$/.test(c)), copies.join('\n')).toBe(true);
    // No sources in the runtime image: nothing copied from the build context but package.json.
    expect(copies.filter((c) => !c.startsWith('--from=')), copies.join('\n')).toEqual(['package.json ./']);
    expect(runtime.map((i) => `${i.instruction} ${i.args}`).join('\n')).not.toMatch(/\btsx\b/);
  });

  it('.dockerignore keeps local state out of the build context', () => {
    const ignored = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim());
    for (const entry of ['node_modules', '.git', '.data', '.cache', '.env', 'test/artifacts']) {
      expect(ignored, entry).toContain(entry);
    }
  });
});
