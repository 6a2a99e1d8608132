/** The command line of `npm run bench`: its options with their defaults, and the command that reproduces a run. */
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { WorkloadName } from './types.ts';

const root = path.resolve(import.meta.dirname, '..');

export interface BenchOptions {
  readonly quick: boolean;
  readonly rounds: number;
  readonly durationSec: number;
  readonly warmupSec: number;
  readonly connections: number;
  /** Warm-up connections: enough to exercise the gateway, few enough that draining them is quick. */
  readonly warmupConnections: number;
  readonly outDir: string;
  readonly workloads: readonly WorkloadName[];
  readonly noPin: boolean;
  /** Only the @defer rows (bench/defer.ts): each workload's gateways start, its other operations are not measured. */
  readonly deferOnly: boolean;
  /** The cached gateway's rows: one write through it after every this many reads. */
  readonly writeEvery: number;
  /** The command that reproduces this run. */
  readonly command: string;
}

function positive(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) {
    console.error(`--${name} must be a positive number, got ${value}`);
    process.exit(2);
  }
  return n;
}

/** Parses process.argv; exits 2 on a bad option. */
export function parseOptions(): BenchOptions {
  const { values: flags } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      rounds: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string' },
      out: { type: 'string' },
      workload: { type: 'string', multiple: true },
      'no-pin': { type: 'boolean', default: false },
      'defer-only': { type: 'boolean', default: false },
      'write-every': { type: 'string' },
    },
  });
  const quick = flags.quick ?? false;
  const rounds = Math.round(positive('rounds', flags.rounds, quick ? 1 : 3));
  const durationSec = positive('duration', flags.duration, quick ? 2 : 6);
  const warmupSec = positive('warmup', flags.warmup, quick ? 1 : 5);
  const connections = Math.round(positive('connections', flags.connections, quick ? 5 : 50));
  const workloads = (flags.workload ?? ['ali', 'gateway-bound']) as WorkloadName[];
  for (const w of workloads) {
    if (w !== 'ali' && w !== 'gateway-bound') {
      console.error(`--workload must be ali or gateway-bound, got ${w}`);
      process.exit(2);
    }
  }
  const noPin = flags['no-pin'] ?? false;
  const writeEvery = Math.round(positive('write-every', flags['write-every'], quick ? 20 : 1000));
  const args: string[] = [];
  if (quick) args.push('--quick');
  if (flags.rounds !== undefined || !quick) args.push('--rounds', String(rounds));
  if (flags.duration !== undefined || !quick) args.push('--duration', String(durationSec));
  if (flags.warmup !== undefined || !quick) args.push('--warmup', String(warmupSec));
  args.push('--connections', String(connections));
  if (flags.workload) for (const w of workloads) args.push('--workload', w);
  if (noPin) args.push('--no-pin');
  const deferOnly = flags['defer-only'] ?? false;
  if (deferOnly) args.push('--defer-only');
  if (flags['write-every'] !== undefined) args.push('--write-every', String(writeEvery));
  return {
    quick,
    rounds,
    durationSec,
    warmupSec,
    connections,
    warmupConnections: Math.min(connections, 5),
    outDir: path.resolve(flags.out ?? path.join(root, 'bench', 'results')),
    workloads,
    noPin,
    deferOnly,
    writeEvery,
    command: `npm run bench -- ${args.join(' ')}`,
  };
}
