/**
 * The circuit breaker of one subgraph: after `failureThreshold` consecutive failures it opens and
 * every fetch fails fast; after `resetMs` it lets one probe through, whose outcome closes or
 * re-opens it. Outcomes of requests admitted in an earlier state are ignored once the circuit has
 * moved on (a late success does not close an open circuit; only the probe decides).
 */

export type CircuitState = 'closed' | 'open' | 'half_open';

type Circuit =
  | { readonly state: 'closed'; readonly failures: number }
  | { readonly state: 'open'; readonly openedAt: number }
  /** `probe`: the one request let through; null when it was cancelled, and the next request probes. */
  | { readonly state: 'half_open'; readonly probe: symbol | null };

/** Admission of one HTTP request; `probe` marks the one request a half-open circuit lets through. */
export interface Ticket {
  readonly probe?: symbol;
}

export class CircuitBreaker {
  private circuit: Circuit = { state: 'closed', failures: 0 };

  constructor(
    private readonly subgraph: string,
    private readonly failureThreshold: number,
    private readonly resetMs: number,
    private readonly onState: (state: CircuitState) => void,
  ) {}

  get state(): CircuitState {
    return this.circuit.state;
  }

  /** A ticket to send, or the milliseconds until a probe may be sent. */
  admit(now: number): Ticket | { readonly retryInMs: number } {
    const c = this.circuit;
    switch (c.state) {
      case 'closed':
        return {};
      case 'open': {
        const waited = now - c.openedAt;
        if (waited < this.resetMs) return { retryInMs: this.resetMs - waited };
        const probe = Symbol(`${this.subgraph} probe`);
        this.move({ state: 'half_open', probe });
        return { probe };
      }
      case 'half_open': {
        if (c.probe) return { retryInMs: 0 }; // the probe is in flight
        const probe = Symbol(`${this.subgraph} probe`);
        this.circuit = { state: 'half_open', probe };
        return { probe };
      }
    }
  }

  record(ticket: Ticket, ok: boolean, now: number): void {
    const c = this.circuit;
    switch (c.state) {
      case 'closed':
        if (ok) {
          if (c.failures > 0) this.circuit = { state: 'closed', failures: 0 };
        } else if (c.failures + 1 >= this.failureThreshold) {
          this.move({ state: 'open', openedAt: now });
        } else {
          this.circuit = { state: 'closed', failures: c.failures + 1 };
        }
        return;
      case 'half_open':
        if (ticket.probe !== c.probe) return;
        this.move(ok ? { state: 'closed', failures: 0 } : { state: 'open', openedAt: now });
        return;
      case 'open':
        return;
    }
  }

  /**
   * A request the gateway cancelled itself (its request's budget was spent): no evidence either
   * way. A cancelled probe lets the next request probe.
   */
  release(ticket: Ticket): void {
    const c = this.circuit;
    if (c.state === 'half_open' && ticket.probe !== undefined && ticket.probe === c.probe) this.circuit = { state: 'half_open', probe: null };
  }

  private move(next: Circuit): void {
    this.circuit = next;
    this.onState(next.state);
  }
}
