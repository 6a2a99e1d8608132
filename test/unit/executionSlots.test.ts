/**
 * gateway/pipeline/executions.ts: how many operations execute at once, and the three ways a
 * waiting operation gets in besides a slot given back (a slot held too long, an idle event loop,
 * a long wait). Operations here are promises the test settles; "busy" keeps the event loop
 * working, as a gateway with no CPU to spare does.
 */
import { describe, expect, it } from 'vitest';
import { ExecutionSlots, MAX_WAIT_MS, SLOT_MS } from '../../gateway/pipeline/executions.ts';

interface Held {
  readonly started: Promise<void>;
  readonly isStarted: () => boolean;
  readonly finish: () => void;
  readonly fail: (err: Error) => void;
  readonly done: Promise<string>;
}

/** An operation run in `slots` that starts when let in and ends when the test says. */
function operation(slots: ExecutionSlots, name: string): Held {
  let started = false;
  let markStarted!: () => void;
  const startedPromise = new Promise<void>((resolve) => (markStarted = resolve));
  let finish!: () => void;
  let fail!: (err: Error) => void;
  const done = slots.run(
    () =>
      new Promise<string>((resolve, reject) => {
        started = true;
        markStarted();
        finish = () => resolve(name);
        fail = reject;
      }),
  );
  return { started: startedPromise, isStarted: () => started, finish: () => finish(), fail: (err) => fail(err), done };
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The private state the accounting tests check. */
interface Internals {
  holders: Set<unknown>;
  held: number;
  released: number;
  timer: NodeJS.Timeout | undefined;
}
const internals = (s: ExecutionSlots) => s as unknown as Internals;

/** Keeps the event loop busy (2 ms of work per turn) for `ms`, or until `until` holds. */
async function busy(ms: number, until: () => boolean = () => false): Promise<void> {
  const end = performance.now() + ms;
  while (performance.now() < end && !until()) {
    const turn = performance.now() + 2;
    while (performance.now() < turn);
    await tick();
  }
}

describe('ExecutionSlots', () => {
  it('runs at most the limit at once, the others in arrival order as slots are given back', async () => {
    const slots = new ExecutionSlots(2);
    const ops = ['a', 'b', 'c', 'd', 'e'].map((name) => operation(slots, name));
    await tick();
    expect(ops.map((op) => op.isStarted())).toEqual([true, true, false, false, false]);
    expect(slots.state()).toMatchObject({ executing: 2, waiting: 3, queued: 3 });
    ops[1]!.finish();
    expect(await ops[1]!.done).toBe('b');
    await tick();
    expect(ops.map((op) => op.isStarted())).toEqual([true, true, true, false, false]);
    ops[0]!.fail(new Error('boom'));
    await expect(ops[0]!.done).rejects.toThrow('boom');
    await tick();
    // A failed operation gives its slot back too.
    expect(ops.map((op) => op.isStarted())).toEqual([true, true, true, true, false]);
    for (const op of ops.slice(2, 4)) op.finish();
    await ops[4]!.started;
    ops[4]!.finish();
    expect(await Promise.all(ops.slice(2).map((op) => op.done))).toEqual(['c', 'd', 'e']);
    expect(slots.state()).toEqual({ executing: 0, waiting: 0, queued: 3, letInEarly: 0 });
  });

  it('with limit 0, never queues', async () => {
    const slots = new ExecutionSlots(0);
    const ops = Array.from({ length: 50 }, (_, i) => operation(slots, String(i)));
    await tick();
    expect(ops.every((op) => op.isStarted())).toBe(true);
    for (const op of ops) op.finish();
    await Promise.all(ops.map((op) => op.done));
    expect(slots.state().queued).toBe(0);
  });

  it(`gives the slot of an operation executing for ${SLOT_MS} ms to the next while the event loop has time to spare`, async () => {
    const slots = new ExecutionSlots(1);
    const slow = operation(slots, 'slow');
    const next = operation(slots, 'next');
    const queuedAt = performance.now();
    await sleep(SLOT_MS / 2);
    expect(next.isStarted()).toBe(false);
    await next.started;
    expect(performance.now() - queuedAt).toBeGreaterThanOrEqual(SLOT_MS);
    // The slow one still executes, no longer counted against the limit; nothing went in early
    // (the idle loop would have let it in too, but only after its 100 ms window).
    expect(slots.state()).toEqual({ executing: 2, waiting: 0, queued: 1, letInEarly: 0 });
    // A third waits for the slot "next" holds, not for "slow" to end.
    const third = operation(slots, 'third');
    await tick();
    expect(third.isStarted()).toBe(false);
    next.finish();
    await third.started;
    slow.finish();
    third.finish();
    await Promise.all([slow.done, next.done, third.done]);
    expect(slots.state()).toMatchObject({ executing: 0, waiting: 0 });
  });

  // On a busy loop an operation takes long for want of CPU; giving its slot away would let more
  // in, each slower still, until the limit no longer held.
  it(`keeps the slot of an operation executing for ${SLOT_MS} ms while the event loop is busy, and gives it once the loop has time`, async () => {
    const slots = new ExecutionSlots(1);
    const slow = operation(slots, 'slow');
    const next = operation(slots, 'next');
    await busy(6 * SLOT_MS);
    expect(next.isStarted()).toBe(false);
    expect(slots.state()).toEqual({ executing: 1, waiting: 1, queued: 1, letInEarly: 0 });
    const freedAt = performance.now();
    await next.started;
    expect(performance.now() - freedAt).toBeLessThan(500);
    expect(slots.state().letInEarly).toBe(0);
    slow.finish();
    next.finish();
    await Promise.all([slow.done, next.done]);
  });

  it('lets every waiting operation in when the event loop is idle', async () => {
    const slots = new ExecutionSlots(1);
    const ops = Array.from({ length: 20 }, (_, i) => operation(slots, String(i)));
    // Idle: within a few checks all of them execute, far sooner than one slot every SLOT_MS.
    await Promise.all(ops.map((op) => op.started));
    expect(slots.state().letInEarly).toBeGreaterThanOrEqual(10);
    for (const op of ops) op.finish();
    await Promise.all(ops.map((op) => op.done));
  });

  it('keeps operations waiting while the event loop is busy, and none longer than MAX_WAIT_MS', async () => {
    const slots = new ExecutionSlots(1);
    const ops = Array.from({ length: 200 }, (_, i) => operation(slots, String(i)));
    const queuedAt = performance.now();
    await busy(MAX_WAIT_MS / 2);
    // Busy: no slot given away, no one let in.
    expect(ops.filter((op) => op.isStarted()).length).toBe(1);
    expect(slots.state().letInEarly).toBe(0);
    await busy(5 * MAX_WAIT_MS, () => ops.every((op) => op.isStarted()));
    expect(ops.every((op) => op.isStarted())).toBe(true);
    expect(performance.now() - queuedAt).toBeLessThan(MAX_WAIT_MS + 500);
    expect(slots.state().letInEarly).toBeGreaterThan(100);
    for (const op of ops) op.finish();
    await Promise.all(ops.map((op) => op.done));
    expect(slots.state()).toMatchObject({ executing: 0, waiting: 0 });
  });

  it('counts back to zero after random mixes of synchronous throws, rejections, long and short operations', async () => {
    let seed = 42;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (const limit of [1, 2, 3]) {
      const slots = new ExecutionSlots(limit);
      const all: Promise<unknown>[] = [];
      for (let i = 0; i < 300; i++) {
        const kind = rnd();
        const ms = Math.floor(rnd() * 120);
        all.push(
          slots
            .run(() => {
              if (kind < 0.15) throw new Error('sync');
              if (kind < 0.3) return sleep(ms).then(() => Promise.reject(new Error('async')));
              if (kind < 0.6) {
                // busy: keeps the loop from looking idle
                const end = performance.now() + 3;
                while (performance.now() < end);
              }
              return sleep(ms);
            })
            .catch(() => undefined),
        );
        if (rnd() < 0.3) await sleep(Math.floor(rnd() * 10));
        const st = slots.state();
        expect(st.executing).toBeGreaterThanOrEqual(0);
        expect(internals(slots).held).toBeGreaterThanOrEqual(0);
        expect(internals(slots).released).toBeGreaterThanOrEqual(0);
      }
      await Promise.all(all);
      await tick();
      expect(slots.state()).toMatchObject({ executing: 0, waiting: 0 });
      expect(internals(slots).held).toBe(0);
      expect(internals(slots).released).toBe(0);
      expect(internals(slots).holders.size).toBe(0);
      expect(internals(slots).timer).toBeUndefined();
    }
  });

  it('keeps no entry for a finished operation while an older one holds its slot and no one waits', async () => {
    const slots = new ExecutionSlots(8);
    let finishLong!: () => void;
    const long = slots.run(() => new Promise<void>((resolve) => (finishLong = resolve)));
    // 100 000 short operations, one after another: never more than 2 at once, so no one waits.
    for (let i = 0; i < 100_000; i++) await slots.run(async () => undefined);
    expect(slots.state()).toMatchObject({ executing: 1, waiting: 0, queued: 0 });
    // One operation executing: one slot kept, not 100 001.
    const length = internals(slots).holders.size;
    finishLong();
    await long;
    expect(length).toBe(1);
  });

  it('lets in an operation that another waits on in its own slot (limit 1): no deadlock', async () => {
    const slots = new ExecutionSlots(1);
    const t0 = performance.now();
    const outer = slots.run(async () => slots.run(async () => 'inner'));
    expect(await outer).toBe('inner');
    expect(performance.now() - t0).toBeLessThan(500);
    expect(slots.state()).toMatchObject({ executing: 0, waiting: 0 });
    expect(internals(slots).timer).toBeUndefined();
  });
});
