/**
 * Pinning: the gateway under test alone on one core; this process (the load generator), the
 * subgraphs and the database, which inherit this process's affinity, on the other(s).
 */
import { execFileSync } from 'node:child_process';

export interface Pinning {
  /** taskset CPU list for the gateway, or undefined when not pinned. */
  readonly gatewayCpus: string | undefined;
  /** The cores of the gateway and of the rest, when pinned. */
  readonly gatewayCores: number[] | undefined;
  readonly loadCores: number[] | undefined;
  readonly description: string;
}

function expandCpuList(list: string): number[] {
  return list.split(',').flatMap((part) => {
    const [a, b] = part.split('-').map(Number);
    return b === undefined ? [a!] : Array.from({ length: b - a! + 1 }, (_, i) => a! + i);
  });
}

/** Moves this process off the first available core, which the gateways will get alone. */
export function pin(noPin: boolean): Pinning {
  const none = { gatewayCpus: undefined, gatewayCores: undefined, loadCores: undefined };
  if (noPin) return { ...none, description: 'not pinned (--no-pin)' };
  if (process.platform !== 'linux') return { ...none, description: `not pinned (taskset needs Linux, this is ${process.platform})` };
  let cpus: number[];
  try {
    const out = execFileSync('taskset', ['-cp', String(process.pid)], { encoding: 'utf8' });
    cpus = expandCpuList(/list:\s*(\S+)/.exec(out)?.[1] ?? '');
  } catch {
    return { ...none, description: 'not pinned (taskset not available)' };
  }
  if (cpus.length < 2) return { ...none, description: `not pinned (only CPU ${cpus.join(',')} available)` };
  const gateway = String(cpus[0]);
  const load = cpus.slice(1).join(',');
  execFileSync('taskset', ['-a', '-cp', load, String(process.pid)], { stdio: 'ignore' });
  return {
    gatewayCpus: gateway,
    gatewayCores: [cpus[0]!],
    loadCores: cpus.slice(1),
    description: `taskset: the gateway under test alone on CPU ${gateway}; the load generator (autocannon in the bench process), the subgraphs and the database on CPU ${load}`,
  };
}
