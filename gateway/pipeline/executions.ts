/**
 * How many operations one gateway process executes at once. Under load, every operation in
 * flight holds its subgraphs' answers until it is answered; when many interleave on the one
 * JavaScript thread, each lives longer than the young generation of the heap, so the garbage
 * collector copies and promotes all of it, and CPU per request rises with the number in flight
 * (docs/performance.md: about a third more CPU per request with 50 operations interleaved than
 * with 8). {@link ExecutionSlots} lets a few execute and queues the others in arrival order: the
 * same work in less memory and CPU, each operation answered sooner once started.
 *
 * A slot is for an operation competing for the CPU, so a queue must not hold operations back
 * behind slow ones:
 * - an operation that has executed for {@link SLOT_MS} ms gives its slot to the next in the
 *   queue, and no longer counts against the limit, while the event loop has time to spare (it
 *   waits on a slow subgraph, then: on a busy loop, operations take that long for want of CPU
 *   alone, and letting more in would make each slower still, until the limit no longer held);
 * - when the event loop was mostly idle over the last {@link IDLE_WINDOW_MS} ms, every waiting
 *   operation goes in (checked every {@link CHECK_MS} ms while any waits);
 * - no operation waits longer than {@link MAX_WAIT_MS} ms.
 */
import { performance, type EventLoopUtilization } from 'node:perf_hooks';

/** How long an executing operation holds its slot. */
export const SLOT_MS = 50;

/** How often, while operations wait, slots are reclaimed and the event loop's idleness is checked. */
const CHECK_MS = 20;

/** The window over which the event loop's idleness is judged. */
const IDLE_WINDOW_MS = 100;

/** Event-loop utilisation (0..1) over the window below which waiting operations are let in. */
const IDLE_BELOW = 0.3;

/** Event-loop utilisation (0..1) over the last check from which slots held long are kept (the CPU is the limit). */
const BUSY_FROM = 0.9;

/** The longest an operation waits for a slot: then it goes in whatever the limit. */
export const MAX_WAIT_MS = 1000;

export interface ExecutionSlotsState {
  /** Operations executing (those that have given their slot back included). */
  readonly executing: number;
  /** Operations waiting for a slot. */
  readonly waiting: number;
  /** Operations that have waited for a slot since the process started. */
  readonly queued: number;
  /** Of those, operations let in past the limit: the event loop was idle, or they had waited {@link MAX_WAIT_MS} ms. */
  readonly letInEarly: number;
}

/** A first-in first-out list, without the copying of `Array.prototype.shift` on long lists. */
class Fifo<T> {
  private items: (T | undefined)[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  peek(): T | undefined {
    return this.items[this.head];
  }

  shift(): T | undefined {
    const item = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
}

/** How busy the event loop was, from a sample taken at each check while operations wait. */
class LoopUtilization {
  /** Samples of the current window, oldest first. */
  private readonly samples: EventLoopUtilization[] = [];

  restart(): void {
    this.samples.length = 0;
    this.samples.push(performance.eventLoopUtilization());
  }

  /**
   * A new sample: `busy`, the loop was busy at least {@link BUSY_FROM} of the time since the last
   * one; `idle`, less than {@link IDLE_BELOW} of the last {@link IDLE_WINDOW_MS} ms (judged once
   * the window is full).
   */
  sample(): { busy: boolean; idle: boolean } {
    const samples = this.samples;
    const now = performance.eventLoopUtilization();
    const busy = performance.eventLoopUtilization(now, samples[samples.length - 1]).utilization >= BUSY_FROM;
    samples.push(now);
    if (samples.length <= IDLE_WINDOW_MS / CHECK_MS) return { busy, idle: false };
    const oldest = samples.shift()!;
    return { busy, idle: performance.eventLoopUtilization(now, oldest).utilization < IDLE_BELOW };
  }
}

/** An operation's slot, held until it ends or has held it {@link SLOT_MS} ms. */
interface Slot {
  readonly since: number;
  held: boolean;
}

interface Waiter {
  readonly since: number;
  readonly resolve: () => void;
}

export class ExecutionSlots {
  /** Operations holding a slot, oldest first (a Set iterates in insertion order). */
  private readonly holders = new Set<Slot>();
  private held = 0;
  private released = 0;
  private readonly waiting = new Fifo<Waiter>();
  private queued = 0;
  private letInEarly = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly utilization = new LoopUtilization();

  /** `limit`: operations holding a slot at once before others wait; 0: no limit. */
  constructor(private readonly limit: number) {}

  /** Runs `operation` in a slot (at once when one is free, else after those waiting before it). */
  async run<T>(operation: () => Promise<T>): Promise<T> {
    if (this.limit <= 0) return operation();
    if (this.held >= this.limit) await this.wait();
    else this.held++;
    const slot: Slot = { since: performance.now(), held: true };
    this.holders.add(slot);
    try {
      return await operation();
    } finally {
      this.end(slot);
    }
  }

  state(): ExecutionSlotsState {
    return { executing: this.held + this.released, waiting: this.waiting.length, queued: this.queued, letInEarly: this.letInEarly };
  }

  private wait(): Promise<void> {
    this.queued++;
    if (!this.timer) {
      this.utilization.restart();
      this.timer = setInterval(() => this.check(), CHECK_MS);
      this.timer.unref();
    }
    return new Promise<void>((resolve) => this.waiting.push({ since: performance.now(), resolve }));
  }

  private end(slot: Slot): void {
    if (slot.held) {
      slot.held = false;
      this.holders.delete(slot);
      this.giveBack();
    } else {
      this.released--;
    }
  }

  /** A slot given back: the next waiting operation takes it, or it is free. */
  private giveBack(): void {
    if (this.waiting.length > 0) this.letIn();
    else this.held--;
  }

  /** The next waiting operation goes in (its slot counted already). */
  private letIn(): void {
    this.waiting.shift()!.resolve();
    if (this.waiting.length === 0) this.stopChecks();
  }

  /** While operations wait: slots held too long are given back, then an idle event loop or a long wait lets operations in. */
  private check(): void {
    const now = performance.now();
    const { busy, idle } = this.utilization.sample();
    for (const slot of this.holders) {
      if (busy || this.waiting.length === 0 || slot.since > now - SLOT_MS) break;
      slot.held = false;
      this.holders.delete(slot);
      this.released++;
      this.giveBack();
    }
    const overdue = now - MAX_WAIT_MS;
    while (this.waiting.length > 0 && (idle || this.waiting.peek()!.since <= overdue)) {
      this.held++;
      this.letInEarly++;
      this.letIn();
    }
  }

  private stopChecks(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
