/** What Linux's /proc says about a process and the cores: CPU time, peak memory, core utilisation. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let clockTicks: number | undefined;
/** Clock ticks per second of /proc times (`getconf CLK_TCK`). */
export function clkTck(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** utime + stime of a process, all its threads, in ms (/proc/<pid>/stat fields 14 and 15). */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The fields after the command name (which may contain spaces) start with the state, field 3.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / clkTck();
}

/** Peak resident set (VmHWM) of a process, in MB. */
export function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmHWM:\s+(\d+)\s+kB/m.exec(status)?.[1] ?? NaN) / 1024;
}

/** Busy and total jiffies of each core (/proc/stat); busy excludes idle and iowait. */
export function coreTimes(): Map<number, { busy: number; total: number }> {
  const out = new Map<number, { busy: number; total: number }>();
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = /^cpu(\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const v = m[2]!.trim().split(/\s+/).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already in user)
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    out.set(Number(m[1]), { busy: total - v[3]! - v[4]!, total });
  }
  return out;
}

/** Share of the time the given cores were busy between two coreTimes() readings (all cores if none given). */
export function busyShare(
  before: Map<number, { busy: number; total: number }>,
  after: Map<number, { busy: number; total: number }>,
  cores?: readonly number[],
): number {
  let busy = 0;
  let total = 0;
  for (const [core, a] of after) {
    if (cores && !cores.includes(core)) continue;
    const b = before.get(core);
    if (!b) continue;
    busy += a.busy - b.busy;
    total += a.total - b.total;
  }
  return total > 0 ? busy / total : NaN;
}
