/**
 * HTTP exchanges with a subgraph and the requests waiting for their answers. While a query is in
 * flight to a subgraph, an identical one (same URL, body and forwarded headers) joins it instead of
 * sending its own request; only in flight: nothing is cached. The answer's body is parsed once for
 * all who share it, each getting a copy of its own (`SharedBody`, ./response.ts).
 *
 * Each waiting request may carry a budget (./budget.ts): the bytes of the answer are counted
 * against every waiting budget as they arrive, and a request whose budget is spent (its deadline,
 * or too many bytes) stops waiting at once. When no one waits any more the exchange is aborted, so
 * one request's ceiling never fails another request sharing the same answer.
 */
import { REQUEST_ID_HEADER } from '../context.ts';
import { SharedBody, type RawResponse } from './response.ts';

/** A request waiting for an answer: gives up when its signal aborts (with the reason it rejects with). */
export interface Participant {
  readonly signal: AbortSignal;
  /** Counts bytes of the answer as they arrive (spending the budget aborts the signal). */
  take(bytes: number): boolean;
}

/** What the one sending the HTTP request gets. */
export interface ExchangeHooks {
  /** Aborted once no request waits for the answer any more. */
  readonly signal: AbortSignal;
  /** To call with the size of each chunk of the answer as it arrives. */
  onBytes(bytes: number): void;
}

export type Send = (hooks: ExchangeHooks) => Promise<RawResponse>;

/** One HTTP exchange and the requests waiting for it. */
class Exchange {
  private readonly controller = new AbortController();
  private readonly waiting = new Set<Participant>();
  /** A caller without a budget waits for the end, whatever the others do. */
  private kept = false;
  /** Callers given the answer, or waiting for it. */
  private takers = 0;
  readonly answer: Promise<RawResponse>;

  constructor(send: Send) {
    this.answer = send({ signal: this.controller.signal, onBytes: (n) => this.received(n) }).then((raw) => ({
      ...raw,
      shared: new SharedBody(raw.body, () => this.takers),
    }));
    this.answer.catch(() => {}); // every waiting request gets the failure through join()
  }

  get aborted(): boolean {
    return this.controller.signal.aborted;
  }

  join(participant: Participant | undefined): Promise<RawResponse> {
    if (!participant) {
      this.kept = true;
      this.takers++;
      return this.answer;
    }
    if (participant.signal.aborted) return Promise.reject(participant.signal.reason);
    this.waiting.add(participant);
    this.takers++;
    return new Promise<RawResponse>((resolve, reject) => {
      const leave = () => {
        this.waiting.delete(participant);
        participant.signal.removeEventListener('abort', onAbort);
      };
      const onAbort = () => {
        leave();
        this.takers--;
        reject(participant.signal.reason);
        if (this.waiting.size === 0 && !this.kept) this.controller.abort(participant.signal.reason);
      };
      participant.signal.addEventListener('abort', onAbort, { once: true });
      this.answer.then(
        (r) => (leave(), resolve(r)),
        (e: unknown) => (leave(), reject(e)),
      );
    });
  }

  private received(bytes: number): void {
    for (const p of this.waiting) p.take(bytes);
  }
}

/** The signal of an exchange no budget can stop. */
const NEVER_ABORTED = new AbortController().signal;

/**
 * One exchange that no other request shares. With one caller, "no one waits any more" is that
 * caller's own signal: the exchange is sent with it, without an Exchange (and the abort
 * controller, listener and promise of one) on every fetch.
 */
export function exchangeAlone(send: Send, participant: Participant | undefined): Promise<RawResponse> {
  if (!participant) return send({ signal: NEVER_ABORTED, onBytes: () => {} });
  if (participant.signal.aborted) return Promise.reject(participant.signal.reason);
  return send({ signal: participant.signal, onBytes: (n) => participant.take(n) });
}

/** Requests are identical when body and forwarded headers are; the request id does not count. */
function sharingKey(url: string, headers: Record<string, string>, body: string): string {
  const forwarded = Object.entries(headers)
    .filter(([name]) => name.toLowerCase() !== REQUEST_ID_HEADER)
    .map(([name, value]) => `${name.toLowerCase()}:${value}`)
    .sort()
    .join('\n');
  return `${url}\n${forwarded}\n\n${body}`;
}

/** The queries in flight to one subgraph. */
export class InFlightQueries {
  private readonly inFlight = new Map<string, Exchange>();

  /** The answer of an identical query in flight, or of `send()`, which others may join until it settles. */
  share(url: string, headers: Record<string, string>, body: string, send: Send, participant: Participant | undefined): Promise<RawResponse> {
    const key = sharingKey(url, headers, body);
    const shared = this.inFlight.get(key);
    if (shared && !shared.aborted) return shared.join(participant);
    const exchange = new Exchange(send);
    this.inFlight.set(key, exchange);
    const settled = () => {
      if (this.inFlight.get(key) === exchange) this.inFlight.delete(key);
    };
    exchange.answer.then(settled, settled);
    return exchange.join(participant);
  }
}
