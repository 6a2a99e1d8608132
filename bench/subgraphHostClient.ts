/** The bench process's side of the subgraph host process (bench/subgraphHost.ts): start, counters, stop. */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { HostCounters, HostMessage, HostReady, WorkloadName } from './types.ts';

const root = path.resolve(import.meta.dirname, '..');

export class SubgraphHost {
  private readonly waiting: { resolve: (m: HostCounters) => void; reject: (e: Error) => void }[] = [];
  private exitError: Error | undefined;

  private constructor(
    private readonly child: ChildProcess,
    readonly ready: HostReady,
    tail: () => string,
  ) {
    child.on('message', (m: HostCounters | HostReady) => {
      if (m.type === 'counters') this.waiting.shift()?.resolve(m);
    });
    child.once('exit', (code, signal) => {
      this.exitError = new Error(`the subgraph host exited (code ${code}, signal ${signal}):\n${tail()}`);
      for (const w of this.waiting.splice(0)) w.reject(this.exitError);
    });
  }

  /** The host process (the subgraphs), for its CPU time. */
  get pid(): number {
    return this.child.pid!;
  }

  /** Starts the host of `workload`, which writes the supergraph to `supergraphFile`; its `[subgraphs]` lines go to `log`. */
  static async start(workload: WorkloadName, supergraphFile: string, log: (line: string) => void): Promise<SubgraphHost> {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'bench/subgraphHost.ts'), workload, supergraphFile], {
      cwd: root,
      env: process.env,
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    });
    let tail = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      tail = (tail + text).slice(-8000);
      for (const line of text.split('\n')) if (line.startsWith('[subgraphs]')) log(`  ${line}`);
    });
    const ready = await new Promise<HostReady>((resolve, reject) => {
      child.on('message', (m: HostReady | { type: 'error'; message: string }) => {
        if (m.type === 'ready') resolve(m);
        else if (m.type === 'error') reject(new Error(`the ${workload} subgraphs did not start: ${m.message}`));
      });
      child.once('exit', (code) => reject(new Error(`the ${workload} subgraph host exited (code ${code}) before it was ready:\n${tail}`)));
    });
    return new SubgraphHost(child, ready, () => tail);
  }

  private ask(message: HostMessage): Promise<HostCounters> {
    if (this.exitError) return Promise.reject(this.exitError);
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.child.send(message);
    });
  }

  reset(): Promise<HostCounters> {
    return this.ask({ type: 'reset' });
  }

  counters(): Promise<HostCounters> {
    return this.ask({ type: 'counters' });
  }

  async stop(): Promise<void> {
    if (this.exitError) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.send({ type: 'stop' } satisfies HostMessage);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }
}

export function sumFetches(c: HostCounters): number {
  return Object.values(c.fetches).reduce((n, f) => n + f.requests, 0);
}

export function memoHits(c: HostCounters): number {
  return Object.values(c.fetches).reduce((n, f) => n + f.memoHits, 0);
}
