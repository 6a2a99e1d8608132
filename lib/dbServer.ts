/**
 * Finds a MongoDB-compatible server for `npm start` and the tests, in this order, and says which:
 * `MONGODB_URI` if set; a FerretDB 1.24 binary (FERRETDB_BIN, PATH, or built once with `go` into
 * .cache/ferretdb); `mongodb-memory-server` (a real mongod, where it can be downloaded).
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync, openSync, readFileSync } from 'node:fs';
import { chmod, cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

const FERRETDB_VERSION = 'v1.24.2';
const FERRETDB_MODULE = 'github.com/FerretDB/FerretDB';

export interface DbServer {
  readonly uri: string;
  readonly kind: 'external' | 'ferretdb' | 'mongodb-memory-server';
  readonly description: string;
  /** The embedded server's process (for CPU accounting), when we started one. */
  readonly pid?: number | undefined;
  stop(): Promise<void>;
}

/**
 * The Go garbage collector's target for the embedded FerretDB unless GOGC is set: FerretDB 1.24
 * decodes every document a query reads (only `{_id: value}` and an unfiltered, unsorted limit are
 * pushed down to SQLite), so scans allocate heavily and the default (100) spends a large share of
 * its CPU collecting. 400 cut its CPU per dashboard operation by about 30% here (docs/mongodb.md).
 */
export const FERRETDB_GOGC = '400';

export interface DbServerOptions {
  /** Connection string to use as is. */
  readonly uri?: string | undefined;
  /** Folder where the embedded server keeps its files. */
  readonly dataDir: string;
  /** Explicit ferretdb binary. */
  readonly ferretdbBin?: string | undefined;
  /** Port for the embedded server; 0 picks a free one. */
  readonly port?: number;
  /** Project root, for the .cache folder. */
  readonly root?: string;
  readonly log?: (line: string) => void;
}

export async function startDbServer(opts: DbServerOptions): Promise<DbServer> {
  const log = opts.log ?? ((l: string) => console.log(l));
  if (opts.uri) {
    log(`database: using MONGODB_URI (${redact(opts.uri)})`);
    return { uri: opts.uri, kind: 'external', description: `MONGODB_URI ${redact(opts.uri)}`, stop: async () => {} };
  }
  const root = opts.root ?? process.cwd();
  const problems: string[] = [];
  let bin: string | undefined;
  try {
    bin = await findFerretdb(root, opts.ferretdbBin, log);
  } catch (err) {
    problems.push(`FerretDB: ${(err as Error).message}`);
  }
  if (bin) return startFerretdb(bin, opts.dataDir, opts.port ?? 0, log);
  try {
    return await startMemoryServer(opts.dataDir, log);
  } catch (err) {
    problems.push(`mongodb-memory-server: ${(err as Error).message.split('\n')[0]}`);
  }
  throw new Error(
    'No MongoDB-compatible server is available. Set MONGODB_URI to a MongoDB 6+ server, or install Go ' +
      `(to build FerretDB ${FERRETDB_VERSION}) or put a ferretdb binary on PATH.\n  ` +
      problems.join('\n  '),
  );
}

function redact(uri: string): string {
  return uri.replace(/\/\/([^@/]*)@/, '//***@');
}

async function onPath(name: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, name);
    if (dir && existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** A ferretdb binary: explicit, on PATH, cached, or built now from the Go module proxy. */
async function findFerretdb(root: string, explicit: string | undefined, log: (l: string) => void): Promise<string> {
  if (explicit) {
    if (!existsSync(explicit)) throw new Error(`FERRETDB_BIN=${explicit} does not exist`);
    return explicit;
  }
  const found = await onPath('ferretdb');
  if (found && (await ferretdbWorks(found))) return found;
  const cached = path.join(root, '.cache', 'ferretdb', FERRETDB_VERSION, 'ferretdb');
  if (existsSync(cached)) return cached;
  const go = await onPath('go');
  if (!go) throw new Error('no ferretdb on PATH and no `go` to build it');
  log(`database: building FerretDB ${FERRETDB_VERSION} with go (once, cached in ${path.dirname(cached)})`);
  await buildFerretdb(cached);
  return cached;
}

async function ferretdbWorks(bin: string): Promise<boolean> {
  try {
    const { stdout } = await run(bin, ['--version'], { timeout: 10_000 });
    return /version: v1\./.test(stdout);
  } catch {
    return false;
  }
}

/**
 * Builds the official ferretdb command from its module source. `go install …@v1.24.2` alone
 * produces a binary that panics at start (the module ships without build/version/version.txt,
 * which release builds generate), so the source is copied and the version file written first.
 */
async function buildFerretdb(target: string): Promise<void> {
  const { stdout } = await run('go', ['mod', 'download', '-json', `${FERRETDB_MODULE}@${FERRETDB_VERSION}`], {
    maxBuffer: 16 * 1024 * 1024,
    timeout: 15 * 60_000,
  });
  const dir = (JSON.parse(stdout) as { Dir: string }).Dir;
  const src = await mkdtemp(path.join(os.tmpdir(), 'ferretdb-src-'));
  try {
    await cp(dir, src, { recursive: true });
    await run('chmod', ['-R', 'u+w', src]);
    await writeFile(path.join(src, 'build', 'version', 'version.txt'), `${FERRETDB_VERSION}\n`);
    await mkdir(path.dirname(target), { recursive: true });
    await run('go', ['build', '-trimpath', '-o', target, './cmd/ferretdb'], {
      cwd: src,
      timeout: 20 * 60_000,
      env: { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-mod=mod' },
    });
    await chmod(target, 0o755);
  } finally {
    await rm(src, { recursive: true, force: true });
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, child: ChildProcess, timeoutMs: number, output: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`ferretdb exited with code ${child.exitCode}: ${output()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`ferretdb did not listen on port ${port} within ${timeoutMs} ms: ${output()}`);
}

async function startFerretdb(bin: string, dataDir: string, wantedPort: number, log: (l: string) => void): Promise<DbServer> {
  const dir = path.resolve(dataDir, 'ferretdb');
  await mkdir(dir, { recursive: true });
  const port = wantedPort || (await freePort());
  const logPath = path.join(dir, 'ferretdb.log');
  const logFile = openSync(logPath, 'a');
  const child = spawn(
    bin,
    [
      '--handler=sqlite',
      `--sqlite-url=file:${dir}/`,
      `--state-dir=${dir}`,
      `--listen-addr=127.0.0.1:${port}`,
      '--telemetry=disable',
      '--log-level=warn',
      '--debug-addr=-',
    ],
    // FerretDB's own log goes to a file beside its data, not into our output.
    { stdio: ['ignore', logFile, logFile], env: { ...process.env, GOGC: process.env.GOGC ?? FERRETDB_GOGC } },
  );
  const stderr = () => readFileSync(logPath, 'utf8').slice(-4000);
  let stopping = false;
  child.once('exit', (code, signal) => {
    if (!stopping) log(`database: FerretDB exited unexpectedly (code ${code}, signal ${signal}); see ${logPath}`);
  });
  await waitForPort(port, child, 20_000, stderr);
  const uri = `mongodb://127.0.0.1:${port}/`;
  log(`database: embedded FerretDB ${FERRETDB_VERSION} (SQLite files in ${dir}) at ${uri}`);
  return {
    uri,
    kind: 'ferretdb',
    description: `FerretDB ${FERRETDB_VERSION} at ${uri}, data in ${dir}`,
    pid: child.pid,
    stop: () =>
      new Promise<void>((resolve) => {
        stopping = true;
        if (child.exitCode !== null) return resolve();
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        child.once('exit', () => (clearTimeout(timer), resolve()));
        child.kill('SIGTERM');
      }),
  };
}

async function startMemoryServer(dataDir: string, log: (l: string) => void): Promise<DbServer> {
  const { MongoMemoryReplSet } = await import('mongodb-memory-server-core');
  const dbPath = path.resolve(dataDir, 'mongod');
  await mkdir(dbPath, { recursive: true });
  const replSet = await MongoMemoryReplSet.create({
    replSet: { count: 1, storageEngine: 'wiredTiger' },
    instanceOpts: [{ dbPath }],
  });
  const uri = replSet.getUri();
  log(`database: mongodb-memory-server (mongod replica set, data in ${dbPath}) at ${uri}`);
  return {
    uri,
    kind: 'mongodb-memory-server',
    description: `mongod (mongodb-memory-server) at ${uri}`,
    stop: async () => {
      await replSet.stop({ doCleanup: false });
    },
  };
}
