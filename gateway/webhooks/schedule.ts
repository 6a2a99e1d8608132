/**
 * When webhook attempts happen: a clock (the system's, or a test's that advances at will) and the
 * retry schedule, exponential backoff with jitter ("equal jitter": between half and all of the
 * doubled delay, so retries of many deliveries spread out and none comes much earlier than the
 * schedule).
 */

export interface Clock {
  now(): number;
  /** Calls `fn` once `ms` have passed on this clock; the handle cancels it. */
  setTimeout(fn: () => void, ms: number): { cancel(): void };
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, Math.max(0, ms));
    t.unref();
    return { cancel: () => clearTimeout(t) };
  },
};

export interface RetrySchedule {
  /** Delay before the first retry, doubled for each one after (default 5 s). */
  readonly baseMs: number;
  /** Longest delay between two attempts (default 1 h). */
  readonly maxMs: number;
}

export const DEFAULT_SCHEDULE: RetrySchedule = { baseMs: 5_000, maxMs: 60 * 60 * 1000 };

/** The wait after the `failures`-th failed attempt (1-based), between half and all of base·2^(failures−1), capped. */
export function retryDelay(failures: number, schedule: RetrySchedule, random: () => number = Math.random): number {
  const ceiling = Math.min(schedule.maxMs, schedule.baseMs * 2 ** (failures - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
