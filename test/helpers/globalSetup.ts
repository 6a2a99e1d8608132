/**
 * Starts the database server once for each test project that needs one (integration, e2e; see
 * vitest.config.ts), chosen like `npm start` does (MONGODB_URI, then FerretDB, then
 * mongodb-memory-server), and hands its URI to every test file of the project.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { startDbServer, type DbServer } from '../../lib/dbServer.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    mongoUri: string;
    dbServerKind: string;
  }
}

let server: DbServer | undefined;
let dir: string | undefined;

export async function setup(project: TestProject): Promise<void> {
  dir = await mkdtemp(path.join(os.tmpdir(), 'ali-graph-test-db-'));
  server = await startDbServer({
    uri: process.env.MONGODB_URI,
    dataDir: dir,
    ferretdbBin: process.env.FERRETDB_BIN,
    root: path.resolve(import.meta.dirname, '..', '..'),
    log: (line) => console.log(`[test] ${line}`),
  });
  project.provide('mongoUri', server.uri);
  project.provide('dbServerKind', server.kind);
}

export async function teardown(): Promise<void> {
  await server?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
}
