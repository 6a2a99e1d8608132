/**
 * The budget of one request across all of its subgraph fetches, from its role's execution limits
 * (gateway/operationLimits.ts): a deadline, and the bytes of subgraph answers received, counted as
 * they arrive. When either is spent the budget's signal aborts: the fetches in flight for the
 * request are aborted (./sharing.ts) and those not yet sent are not sent (./dataSource.ts). The
 * executor starts a budget for each execution (gateway/executor/ceilings.ts) on the request's
 * context object, where the data sources find it.
 */

/** The limits a budget enforces (gateway/operationLimits.ts ExecutionLimits). */
export interface BudgetLimits {
  readonly maxResponseBytes: number;
  readonly deadlineMs: number;
}

/** Which limit a spent budget ran out of. */
export type Spent = 'deadline' | 'bytes';

/** The abort reason of a spent budget's signal. */
export class BudgetSpent extends Error {
  override readonly name = 'BudgetSpent';
  constructor(
    readonly spent: Spent,
    readonly limits: BudgetLimits,
  ) {
    super(spent === 'deadline' ? `the request's deadline of ${limits.deadlineMs} ms ran out` : `the request's answers exceeded ${limits.maxResponseBytes} bytes`);
  }
}

export class RequestBudget {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private received = 0;

  constructor(readonly limits: BudgetLimits) {
    this.timer = setTimeout(() => this.spend('deadline'), limits.deadlineMs);
    this.timer.unref();
  }

  /** Aborted, with a {@link BudgetSpent} reason, once the budget is spent. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get spent(): BudgetSpent | undefined {
    return this.controller.signal.aborted ? (this.controller.signal.reason as BudgetSpent) : undefined;
  }

  /** Counts `bytes` more of subgraph answers; false once the budget is spent. */
  take(bytes: number): boolean {
    if (this.controller.signal.aborted) return false;
    this.received += bytes;
    if (this.received <= this.limits.maxResponseBytes) return true;
    this.spend('bytes');
    return false;
  }

  /** The client went away (a deferred answer cut short): its deadline is now, the fetches in flight are aborted. */
  cancel(): void {
    this.spend('deadline');
  }

  /** The request is over: no deadline any more. */
  end(): void {
    clearTimeout(this.timer);
  }

  private spend(spent: Spent): void {
    clearTimeout(this.timer);
    if (!this.controller.signal.aborted) this.controller.abort(new BudgetSpent(spent, this.limits));
  }
}

const budgets = new WeakMap<object, RequestBudget>();

/** Starts the budget of one execution, on its context object (replacing an earlier one). */
export function startBudget(context: object, limits: BudgetLimits): RequestBudget {
  const budget = new RequestBudget(limits);
  budgets.set(context, budget);
  return budget;
}

/** The budget of the execution a data source is called for, if one was started. */
export function budgetOf(context: unknown): RequestBudget | undefined {
  return typeof context === 'object' && context !== null ? budgets.get(context) : undefined;
}
