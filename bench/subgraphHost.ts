/**
 * The subgraphs of one workload, in a process of their own that bench/run.ts starts (pinned to
 * the load generator's core, away from the gateway's) and talks to over the IPC channel.
 *
 *   ali            a database server (MONGODB_URI, else an embedded FerretDB in a temp dir, as
 *                  lib/dbServer.ts chooses), fresh databases seeded the way scripts/seed.ts
 *                  does, the four real subgraphs on port 0 in production mode; MongoDB commands
 *                  counted with the driver's command monitoring; and the same four again,
 *                  signed, for the cached gateway's reads and writes (an editor key in the
 *                  key store of `<prefix>_gateway`)
 *   gateway-bound  the four in-memory subgraphs of bench/subgraphs/
 *
 * Both count the fetches every subgraph answers. Messages: parent → `{type:'reset'}` |
 * `{type:'counters'}` | `{type:'stop'}`; child → `{type:'ready', ...}` | `{type:'counters', ...}`.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ApolloServerPlugin } from '@apollo/server';
import type { CommandStartedEvent, MongoClient } from 'mongodb';
import { SUBGRAPH_NAMES } from '../lib/config.ts';
import { composeSupergraph } from '../lib/composition.ts';
import { startDbServer, type DbServer } from '../lib/dbServer.ts';
import { connect, ensureIndexes } from '../lib/mongo.ts';
import { startSubgraph, type RunningSubgraph } from '../lib/subgraph.ts';
import { subgraphModules } from '../subgraphs/index.ts';
import { composeBenchSupergraph, startBenchSubgraphs, type FetchCounter } from './subgraphs/index.ts';
import { KeyStore } from '../gateway/access/keys.ts';
import type { HostCounters, HostMessage, HostReady, WorkloadName, WritableSubgraphs } from './types.ts';

const workload = process.argv[2] as WorkloadName;
const supergraphFile = process.argv[3] ?? '';
if ((workload !== 'ali' && workload !== 'gateway-bound') || !supergraphFile) {
  console.error('usage: subgraphHost.ts ali|gateway-bound SUPERGRAPH_OUT_FILE');
  process.exit(2);
}
const root = path.resolve(import.meta.dirname, '..');

// Commands the driver sends on its own (handshakes, heartbeats, sessions), not for a query.
const HOUSEKEEPING = new Set(['hello', 'isMaster', 'ismaster', 'ping', 'endSessions', 'buildInfo', 'saslStart', 'saslContinue']);

interface Host {
  readonly ready: Omit<HostReady, 'type'>;
  readonly supergraphSdl: string;
  readonly fetches: Record<string, FetchCounter>;
  readonly commands: Record<string, number> | undefined;
  stop(): Promise<void>;
}

/** Stops whatever has been started so far (set as soon as there is something to stop). */
let stopStarted: (() => Promise<void>) | undefined;
let exiting = false;
function exitAfterStop(code: number): void {
  if (exiting) return;
  exiting = true;
  void (stopStarted ?? (async () => {}))()
    .catch(() => {})
    .then(() => process.exit(code));
}
// Registered before anything starts: a signal, or the parent going away, during start-up (seeding
// takes a while) must not leave a database server behind.
process.once('SIGTERM', () => exitAfterStop(0));
process.once('SIGINT', () => exitAfterStop(0));
process.on('disconnect', () => exitAfterStop(0));

/**
 * To the parent, if it is still there. With a callback, a send on a channel that closed meanwhile
 * (the parent went away during start-up) reports to it instead of an unhandled 'error' event
 * that would end the process before its database server is stopped.
 */
function send(message: HostReady | HostCounters | { type: 'error'; message: string }): void {
  if (!process.send || !process.connected) return;
  process.send(message, () => {});
}

/** Counts the commands the subgraphs send to their databases (by subgraph.command:collection) once `counting()` says so. */
function countCommands(client: MongoClient, prefix: string, counting: () => boolean): Record<string, number> {
  const commands: Record<string, number> = {};
  const byDb = new Map<string, string>(SUBGRAPH_NAMES.map((n) => [`${prefix}_${n}`, n]));
  client.on('commandStarted', (e: CommandStartedEvent) => {
    const subgraph = byDb.get(e.databaseName);
    if (!counting() || !subgraph || HOUSEKEEPING.has(e.commandName)) return;
    const target = e.command[e.commandName];
    const key = `${subgraph}.${e.commandName}${typeof target === 'string' ? `:${target}` : ''}`;
    commands[key] = (commands[key] ?? 0) + 1;
  });
  return commands;
}

/** An Apollo Server plugin counting the requests a subgraph answers. */
function countFetches(counter: FetchCounter): ApolloServerPlugin {
  return {
    async requestDidStart({ request }) {
      counter.requests++;
      counter.inFlight++;
      if (Array.isArray(request.variables?.['representations'])) counter.entityRequests++;
      return {
        async willSendResponse() {
          counter.inFlight--;
        },
      };
    },
  };
}

/**
 * The same subgraphs again over the same databases, signed: the cached gateway reads and writes
 * through these (the open ones refuse writes). They count their fetches in the same counters: only
 * one gateway receives traffic at a time. An editor key for the reuse subgraph goes to the key store.
 */
async function startWritable(client: MongoClient, uri: string, prefix: string, fetches: Record<string, FetchCounter>, running: RunningSubgraph[]): Promise<WritableSubgraphs> {
  const gatewaySecret = randomBytes(32).toString('base64url');
  const urls: Record<string, string> = {};
  for (const name of SUBGRAPH_NAMES) {
    const s = await startSubgraph(subgraphModules[name], {
      gatewaySecret,
      db: client.db(`${prefix}_${name}`),
      limits: { defaultSize: 20, maxSize: 500 },
      production: true,
      port: 0,
      host: '127.0.0.1',
      plugins: [countFetches(fetches[name]!)],
    });
    running.push(s);
    urls[name] = `${s.url}graphql`.replace('//localhost:', '//127.0.0.1:');
  }
  const { key } = await new KeyStore(client.db(`${prefix}_gateway`), { cacheMs: 0 }).create({ name: 'bench-editor', role: 'editor', subgraphs: ['reuse'] });
  return { urls, gatewaySecret, mongoUri: uri, dbPrefix: prefix, editorKey: key };
}

/** Seeds the four subgraphs' databases as scripts/seed.ts does (indexes, then the idempotent seed) and starts them on port 0. */
async function seedAndStart(client: MongoClient, prefix: string, running: RunningSubgraph[]): Promise<{ fetches: Record<string, FetchCounter>; seeded: string[] }> {
  const fetches: Record<string, FetchCounter> = {};
  const seeded: string[] = [];
  for (const name of SUBGRAPH_NAMES) {
    const mod = subgraphModules[name];
    const db = client.db(`${prefix}_${name}`);
    await ensureIndexes(db, mod.collections);
    const counts = await mod.seed(db);
    seeded.push(`${name}: ${counts.map((c) => `${c.inserted} ${c.collection}`).join(', ')}`);
    const counter: FetchCounter = (fetches[name] = { requests: 0, entityRequests: 0, memoHits: 0, inFlight: 0 });
    running.push(
      await startSubgraph(mod, {
        // Stock Apollo and Hive Gateway cannot sign requests: the benchmark's subgraphs are open (read-only).
        gatewaySecret: null,
        db,
        limits: { defaultSize: 20, maxSize: 500 },
        production: true,
        port: 0,
        host: '127.0.0.1',
        plugins: [countFetches(counter)],
      }),
    );
  }
  return { fetches, seeded };
}

async function startAli(): Promise<Host> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ali-bench-db-'));
  const log = (line: string) => console.error(`[subgraphs] ${line}`);
  let serverStarting: Promise<DbServer> | undefined;
  let client: MongoClient | undefined;
  const running: RunningSubgraph[] = [];
  const prefix = `bench_${randomBytes(4).toString('hex')}`;
  const stop = async () => {
    // Also when stopped while the database server is still starting: wait for it, then stop it.
    const server = await serverStarting?.catch(() => undefined);
    for (const s of running) await s.stop().catch(() => {});
    if (client && server?.kind === 'external') {
      for (const name of [...SUBGRAPH_NAMES, 'gateway']) await client.db(`${prefix}_${name}`).dropDatabase().catch(() => {});
    }
    await client?.close().catch(() => {});
    await server?.stop().catch(() => {});
    await rm(dir, { recursive: true, force: true });
  };
  stopStarted = stop;
  try {
    serverStarting = startDbServer({ uri: process.env.MONGODB_URI, dataDir: dir, ferretdbBin: process.env.FERRETDB_BIN, root, log });
    const server = await serverStarting;
    client = await connect(server.uri, { monitorCommands: true });
    let counting = false;
    const commands = countCommands(client, prefix, () => counting);
    const { fetches, seeded } = await seedAndStart(client, prefix, running);
    const urls = Object.fromEntries(running.map((s) => [s.name, `${s.url}graphql`.replace('//localhost:', '//127.0.0.1:')]));
    const writable = await startWritable(client, server.uri, prefix, fetches, running);
    counting = true;
    const composed = composeSupergraph(urls);
    if (!composed.ok) throw new Error(`the subgraphs in schema/ do not compose:\n${composed.errors.join('\n')}`);
    return {
      ready: { urls, supergraphFile, database: server.description, seeded, databasePid: server.pid ?? null, writable },
      supergraphSdl: composed.supergraphSdl,
      fetches,
      commands,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function startGatewayBound(): Promise<Host> {
  const running = await startBenchSubgraphs();
  return {
    ready: { urls: running.urls, supergraphFile, database: 'none (in-memory subgraphs)', seeded: [], databasePid: null, writable: null },
    supergraphSdl: composeBenchSupergraph(running.urls),
    fetches: running.counters as Record<string, FetchCounter>,
    commands: undefined,
    stop: () => running.stop(),
  };
}

function reset(host: Host): void {
  for (const c of Object.values(host.fetches)) {
    c.requests = 0;
    c.entityRequests = 0;
    c.memoHits = 0; // inFlight is a gauge, never reset
  }
  if (host.commands) for (const k of Object.keys(host.commands)) delete host.commands[k];
}

try {
  const host = workload === 'ali' ? await startAli() : await startGatewayBound();
  stopStarted = host.stop;
  await writeFile(supergraphFile, host.supergraphSdl);
  process.on('message', (message: HostMessage) => {
    if (message.type === 'reset') {
      reset(host);
      send({ type: 'counters', fetches: {}, commands: host.commands ? {} : null });
    } else if (message.type === 'counters') {
      send({ type: 'counters', fetches: structuredClone(host.fetches), commands: host.commands ? { ...host.commands } : null });
    } else if (message.type === 'stop') {
      exitAfterStop(0);
    }
  });
  // Started by a parent that went away while we were starting: there is no one to serve. Told to
  // stop while starting (the stop already under way): not ready either.
  if (process.send && !process.connected) exitAfterStop(0);
  else if (!exiting) send({ type: 'ready', ...host.ready });
} catch (err) {
  // When stopping already, start-up failed because we stopped it: exitAfterStop exits when done.
  if (!exiting) {
    send({ type: 'error', message: (err as Error).stack ?? String(err) });
    console.error(err);
    process.exit(1);
  }
}
