/**
 * Databases for tests on the run's database server (test/helpers/globalSetup.ts): the recording
 * of the MongoDB commands the code under test sends, and a fresh, seeded database of one
 * subgraph for tests of its data layer (data/) without any server.
 */
import { randomBytes } from 'node:crypto';
import type { CommandStartedEvent, Db, MongoClient } from 'mongodb';
import { afterAll, beforeAll, beforeEach, inject } from 'vitest';
import type { Caller } from '../../lib/access.ts';
import type { SubgraphName } from '../../lib/config.ts';
import { connect, ensureIndexes } from '../../lib/mongo.ts';
import { primeEventLog } from '../../lib/events/log.ts';
import type { PageLimits } from '../../lib/pagination.ts';
import type { DataScope, SubgraphModule } from '../../lib/subgraph.ts';

export interface RecordedCommand {
  subgraph: SubgraphName;
  commandName: string;
  collection?: string;
}

// Commands the driver sends on its own (handshakes, heartbeats, sessions), not for a query.
const HOUSEKEEPING = new Set(['hello', 'isMaster', 'ismaster', 'ping', 'endSessions', 'buildInfo', 'saslStart', 'saslContinue']);

/**
 * Records, while `active()`, every command `client` (connected with `monitorCommands: true`)
 * sends to one of the databases named in `subgraphOf`, under that subgraph.
 */
export function recordCommands(
  client: MongoClient,
  subgraphOf: ReadonlyMap<string, SubgraphName>,
  active: () => boolean = () => true,
): RecordedCommand[] {
  const commands: RecordedCommand[] = [];
  client.on('commandStarted', (e: CommandStartedEvent) => {
    const subgraph = subgraphOf.get(e.databaseName);
    if (!active() || !subgraph || HOUSEKEEPING.has(e.commandName)) return;
    const target = e.command[e.commandName];
    commands.push({ subgraph, commandName: e.commandName, ...(typeof target === 'string' ? { collection: target } : {}) });
  });
  return commands;
}

/** Commands counted by `<subgraph>.<command>:<collection>`. */
export function commandSummary(commands: readonly RecordedCommand[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of commands) {
    const key = `${c.subgraph}.${c.commandName}${c.collection ? `:${c.collection}` : ''}`;
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}

/** The page limits of every test subgraph. */
export const TEST_LIMITS: PageLimits = { defaultSize: 20, maxSize: 500 };

/** An editor of every subgraph, as the gateway would sign it. */
export const EDITOR: Caller = Object.freeze({ sub: 'data-test-editor', role: 'editor', read: '*', write: ['alliances', 'governance', 'funding', 'reuse'] });

export interface SubgraphDb {
  readonly db: Db;
  /** Every command sent to `db` since the last `commands.length = 0` (seeding not included). */
  readonly commands: RecordedCommand[];
  /** What the context factory binds the data layer to for a request of `caller`. */
  scope(caller?: Caller, requestId?: string): DataScope;
  /** Drops the database and closes the connection. */
  drop(): Promise<void>;
}

/** A fresh database of `mod` on the run's server, with its indexes and seed. */
async function seededDb(mod: SubgraphModule<unknown>, limits: PageLimits = TEST_LIMITS): Promise<SubgraphDb> {
  const name = `t_${randomBytes(5).toString('hex')}_${mod.name}`;
  const client = await connect(inject('mongoUri'), { monitorCommands: true });
  const db = client.db(name);
  let seeded = false;
  const commands = recordCommands(client, new Map([[name, mod.name]]), () => seeded);
  await ensureIndexes(db, mod.collections);
  await mod.seed(db);
  // As a subgraph does at start-up: its first write then appends without reading the log's head.
  await primeEventLog(db);
  seeded = true;
  return {
    db,
    commands,
    scope: (caller = EDITOR, requestId) => ({ db, limits, caller, requestId }),
    async drop() {
      seeded = false;
      await db.dropDatabase().catch(() => {});
      await client.close();
    },
  };
}

/**
 * For the tests of one file or describe block: a fresh seeded database of `mod` (dropped after
 * them), its recorded commands cleared before each test. Use it inside the tests.
 */
export function useSeededDb(mod: SubgraphModule<unknown>): SubgraphDb {
  let current: SubgraphDb | undefined;
  const ready = () => current ?? raise(new Error('the seeded database exists once beforeAll has run'));
  beforeAll(async () => {
    current = await seededDb(mod);
  });
  afterAll(() => current?.drop());
  beforeEach(() => {
    if (current) current.commands.length = 0;
  });
  return {
    get db() {
      return ready().db;
    },
    get commands() {
      return ready().commands;
    },
    scope: (caller, requestId) => ready().scope(caller, requestId),
    drop: () => ready().drop(),
  };
}

function raise(err: Error): never {
  throw err;
}

/** A data function run as a promise: argument checks that throw before any await reject it (as in a resolver). */
export const attempt = <T>(run: () => Promise<T>): Promise<T> => (async () => run())();
