/**
 * What a running `npm start` tells other commands on the same machine (`npm run keys`): where its
 * database listens. Kept in DATA_DIR/runtime.json while it runs; ignored once its process is gone.
 */
import { readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';

export interface RuntimeInfo {
  readonly mongoUri: string;
  readonly pid: number;
}

const file = (dataDir: string) => path.resolve(dataDir, 'runtime.json');

export async function writeRuntime(dataDir: string, info: RuntimeInfo): Promise<void> {
  await mkdir(path.resolve(dataDir), { recursive: true });
  await writeFile(file(dataDir), `${JSON.stringify(info)}\n`);
}

export async function clearRuntime(dataDir: string): Promise<void> {
  await rm(file(dataDir), { force: true });
}

/** The running instance's info, or undefined if none runs. */
export async function readRuntime(dataDir: string): Promise<RuntimeInfo | undefined> {
  let info: RuntimeInfo;
  try {
    info = JSON.parse(await readFile(file(dataDir), 'utf8')) as RuntimeInfo;
  } catch {
    return undefined;
  }
  try {
    process.kill(info.pid, 0);
  } catch {
    return undefined;
  }
  return info;
}
