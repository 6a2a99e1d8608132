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

  it(`gives the slot of an operation executing for ${SLOT_MS} ms to the next, while the event loop is busy`, async () => {
    const slots = new ExecutionSlots(1);
    const slow = operation(slots, 'slow');
    const next = operation(slots, 'next');
    const queuedAt = performance.now();
    await busy(SLOT_MS / 2);
    expect(next.isStarted()).toBe(false);
    await busy(2_000, next.isStarted);
    expect(next.isStarted()).toBe(true);
    expect(performance.now() - queuedAt).toBeGreaterThanOrEqual(SLOT_MS);
    // The slow one still executes, no longer counted against the limit; nothing went in early.
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
    // Busy: only slots held too long were given back, one per check at most.
    const early = ops.filter((op) => op.isStarted()).length;
    expect(early).toBeGreaterThan(1);
    expect(early).toBeLessThan(60);
    expect(slots.state().letInEarly).toBe(0);
    await busy(5 * MAX_WAIT_MS, () => ops.every((op) => op.isStarted()));
    expect(ops.every((op) => op.isStarted())).toBe(true);
    expect(performance.now() - queuedAt).toBeLessThan(MAX_WAIT_MS + 500);
    expect(slots.state().letInEarly).toBeGreaterThan(100);
    for (const op of ops) op.finish();
    await Promise.all(ops.map((op) => op.done));
    expect(slots.state()).toMatchObject({ executing: 0, waiting: 0 });
  });
});
