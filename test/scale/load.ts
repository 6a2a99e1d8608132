/**
 * The bounded load of the scale-out test: a fixed number of workers, each sending one request at a
 * time with a pause between them (queries of every subgraph and a write in every eighth request),
 * every request recorded with its start, end and outcome; and subscribers over graphql-ws that
 * reconnect through the load balancer and resume from the last event they received, the way a
 * client of docs/realtime.md does.
 */
import { readFileSync } from 'node:fs';
import { createClient, type Client } from 'graphql-ws';
import { Agent, fetch } from 'undici';
import WebSocket from 'ws';

export const operation = (name: string) => readFileSync(new URL(`./operations/${name}.graphql`, import.meta.url), 'utf8');

const QUERIES = ['allianceMembers', 'governance', 'fundingSources', 'solutions'].map((name) => ({ name, query: operation(name) }));
const REGISTER = operation('registerAdoption');
const SOLUTION = 'sigma-ter-piemonte';

export interface Outcome {
  readonly kind: 'query' | 'mutation';
  readonly name: string;
  readonly started: number;
  readonly ended: number;
  readonly ok: boolean;
  readonly status: number;
  /** `extensions.code` of its errors, or the transport failure. */
  readonly codes: readonly string[];
  /** The adoption a successful mutation created. */
  readonly adoption?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A connection per request (`pipelining: 0` disables keep-alive): with kept-alive connections to
 * HAProxy, around a gateway's restart a request now and then was written into a connection
 * HAProxy had just closed (undici's UND_ERR_SOCKET, with no trace in HAProxy's log): a client-side
 * race that browsers absorb by sending such a request again, and that is not what is measured here.
 */
const dispatcher = new Agent({ pipelining: 0 });

async function send(url: string, apiKey: string, query: string, variables?: Record<string, unknown>): Promise<{ status: number; body: any }> {
  try {
    const res = await fetch(`${url}graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': apiKey },
      body: JSON.stringify({ query, variables }),
      signal: AbortSignal.timeout(20_000),
      dispatcher,
    });
    const text = await res.text();
    let body: any;
    try {
      body = JSON.parse(text);
    } catch {
      body = { errors: [{ message: text.slice(0, 200), extensions: { code: `HTTP_${res.status}` } }] };
    }
    return { status: res.status, body };
  } catch (err) {
    // The code says where: the client's connection to the load balancer failed or was closed.
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
    return { status: 0, body: { errors: [{ message: String(err), extensions: { code: `CONNECTION_FAILED (${cause})` } }] } };
  }
}

export class Load {
  readonly outcomes: Outcome[] = [];
  private running = false;
  private workers: Promise<void>[] = [];
  private sent = 0;

  constructor(
    private readonly url: string,
    private readonly apiKey: string,
    /** Comuni without an adoption of the solution: one per write. */
    private readonly comuni: string[],
    private readonly opts: { workers: number; pauseMs: number },
  ) {}

  /** The requests in flight at any moment from `from` to `to`. */
  inFlightDuring(from: number, to: number): Outcome[] {
    return this.outcomes.filter((o) => o.started <= to && o.ended > from);
  }

  start(): void {
    this.running = true;
    this.workers = Array.from({ length: this.opts.workers }, () => this.work());
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.workers);
  }

  private async work(): Promise<void> {
    while (this.running) {
      const n = this.sent++;
      const write = n % 8 === 7 && this.comuni.length > 0;
      const started = performance.now();
      if (write) {
        const input = { solutionId: SOLUTION, municipalityIstatCode: this.comuni.shift(), status: 'PLANNED', provenance: 'SAMPLE' };
        const { status, body } = await send(this.url, this.apiKey, REGISTER, { input });
        const adoption: string | undefined = body.data?.registerAdoption?.adoption?.id;
        this.record('mutation', 'RegisterAdoption', started, status, body, adoption);
      } else {
        const q = QUERIES[n % QUERIES.length]!;
        const { status, body } = await send(this.url, this.apiKey, q.query);
        this.record('query', q.name, started, status, body);
      }
      await sleep(this.opts.pauseMs);
    }
  }

  private record(kind: Outcome['kind'], name: string, started: number, status: number, body: any, adoption?: string): void {
    const errors: any[] = body.errors ?? [];
    const ok = status === 200 && errors.length === 0 && body.data != null;
    const codes = errors.map((e) => String(e.extensions?.code ?? 'NO_CODE'));
    this.outcomes.push({ kind, name, started, ended: performance.now(), ok, status, codes, ...(adoption ? { adoption } : {}) });
  }
}

/** One subscriber: every adoption id it received, and how often it (re)connected. */
export interface Subscriber {
  readonly received: string[];
  connections: number;
  readonly errors: unknown[];
  readonly client: Client;
}

export function subscriber(url: string, apiKey: string): Subscriber {
  // graphql-ws sends this very payload again on every reconnection: `lastEventId` follows the events.
  const payload: { query: string; extensions: { lastEventId?: string } } = { query: operation('adoptionChanged'), extensions: {} };
  const client = createClient({
    url: `${url.replace(/^http/, 'ws')}graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { 'x-api-key': apiKey },
    retryAttempts: 50,
    retryWait: async () => {
      await sleep(100);
    },
    shouldRetry: () => true,
    on: { connected: () => void sub.connections++ },
  });
  const sub: Subscriber = { received: [], connections: 0, errors: [], client };
  client.subscribe<any, any>(payload, {
    next: (result) => {
      const id: string | undefined = result.data?.adoptionChanged?.adoption?.id;
      if (id) sub.received.push(id);
      const eventId = result.extensions?.['eventId'];
      if (typeof eventId === 'string') payload.extensions.lastEventId = eventId;
    },
    error: (err) => void sub.errors.push(err),
    complete: () => {},
  });
  return sub;
}

/**
 * The figures of the requests that ended in [from, to): how many, failed (by kind), max latency. By
 * their end, so that a request in flight when a process is killed counts where it failed.
 */
export function figures(outcomes: readonly Outcome[], from: number, to: number) {
  const within = outcomes.filter((o) => o.ended >= from && o.ended < to);
  const failed = within.filter((o) => !o.ok);
  return {
    sent: within.length,
    failedQueries: failed.filter((o) => o.kind === 'query').length,
    failedMutations: failed.filter((o) => o.kind === 'mutation').length,
    failureCodes: [...new Set(failed.flatMap((o) => o.codes))],
    maxLatencyMs: Math.round(Math.max(0, ...within.map((o) => o.ended - o.started))),
  };
}
