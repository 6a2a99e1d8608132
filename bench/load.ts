/**
 * Load generation with autocannon (programmatic, in the bench process) and the check of every
 * response against the expected answer.
 *
 * Checking every response stays cheap: a gateway serialises the same answer to the same bytes, so
 * a response is first compared byte for byte with the bodies already found correct, and only a
 * body not seen before is parsed, written back in normal form ({@link normalForm}) and compared
 * with the expected answer, field order included. autocannon keeps bodies as strings decoded chunk by chunk, which can split a UTF-8
 * character (Comuni names have accents) and corrupt a correct answer; `keepRawBodies` makes its
 * clients keep the raw bytes instead (autocannon 8 internals, checked at start).
 */
import { createHash } from 'node:crypto';
import autocannon from 'autocannon';
import { comparable, type RawAnswer } from '../test/integration/differential/compare.ts';

/**
 * The normal form answers are compared in: exactly the differential suite's
 * (test/integration/differential/compare.ts `comparable`), so that "identical to stock's" means the
 * same here as in the gate of the lean executor. The HTTP status, then the body as parsed and
 * written back: field order at every level (the GraphQL spec requires selection order), values,
 * errors whole and top-level extensions are kept; only how the JSON text is spelled (whitespace,
 * `"\u00e8"` or `"è"`, `1e3` or `1000`), the order of errors and stack traces are not
 * (test/unit/benchAnswers.test.ts shows both).
 */
export function normalForm(status: number, body: RawAnswer['body']): string {
  return comparable({ status, body });
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export type Verdict = 'ok' | 'error' | 'wrong';

/** Compares responses with one expected answer (its {@link normalForm}). */
export class AnswerChecker {
  private readonly known: Buffer[] = [];
  checked = 0;
  ok = 0;
  errors = 0;
  wrong = 0;
  firstProblem: string | null = null;

  constructor(private readonly expected: string) {}

  check(status: number, body: Buffer): Verdict {
    this.checked++;
    const verdict = this.judge(status, body);
    if (verdict === 'ok') this.ok++;
    else if (verdict === 'error') this.errors++;
    else this.wrong++;
    return verdict;
  }

  /** Counts a failure that produced no response (connection error, timeout). */
  transportErrors(n: number, what: string): void {
    if (n <= 0) return;
    this.errors += n;
    this.firstProblem ??= `${n} ${what}`;
  }

  private judge(status: number, body: Buffer): Verdict {
    if (status === 200) for (const good of this.known) if (good.equals(body)) return 'ok';
    let parsed: RawAnswer['body'];
    try {
      parsed = JSON.parse(body.toString('utf8')) as typeof parsed;
    } catch {
      this.firstProblem ??= `HTTP ${status}, not JSON: ${body.toString('utf8').slice(0, 200)}`;
      return status === 200 ? 'wrong' : 'error';
    }
    if (status !== 200 || (Array.isArray(parsed.errors) && parsed.errors.length > 0)) {
      this.firstProblem ??= `HTTP ${status}, errors: ${JSON.stringify(parsed.errors ?? parsed).slice(0, 300)}`;
      return 'error';
    }
    const normal = normalForm(status, parsed);
    if (normal !== this.expected) {
      this.firstProblem ??= `wrong answer (${body.length} bytes, sha256 of normal form ${sha256(normal).slice(0, 12)})`;
      return 'wrong';
    }
    // Bounded: a gateway that varies its bytes (it should not) is still checked, just slower.
    if (this.known.length < 16) this.known.push(Buffer.from(body));
    return 'ok';
  }
}

interface QueueEntry {
  body: unknown;
  chunks?: Buffer[];
}
interface PipelinedQueue {
  peek(): QueueEntry | undefined;
  addBody(data: Buffer): void;
  terminateRequest(): QueueEntry | undefined;
}

/** Makes an autocannon client hand raw response bytes (a Buffer) to `onResponse`. */
function keepRawBodies(client: unknown): void {
  const queue = (client as { pipelinedRequests?: PipelinedQueue }).pipelinedRequests;
  if (!queue || typeof queue.addBody !== 'function' || typeof queue.terminateRequest !== 'function') {
    throw new Error('autocannon internals changed (no pipelinedRequests queue): cannot check raw response bodies');
  }
  queue.addBody = function addBody(this: PipelinedQueue, data: Buffer) {
    const entry = this.peek();
    if (entry) (entry.chunks ??= []).push(data);
  };
  const terminate = queue.terminateRequest.bind(queue);
  queue.terminateRequest = () => {
    const entry = terminate();
    if (entry) entry.body = entry.chunks ? Buffer.concat(entry.chunks) : Buffer.alloc(0);
    return entry;
  };
}

export interface LoadOptions {
  readonly url: string;
  /** The JSON request body. */
  readonly body: string;
  readonly connections: number;
  /** Either a duration (s) or a number of requests, after which the window closes. */
  readonly durationSec?: number;
  readonly amount?: number;
  readonly checker: AnswerChecker;
  /** Per-request timeout (s), default 60: longer than any gateway's own subgraph timeout. */
  readonly timeoutSec?: number;
  /** Called when the last of `amount` responses arrives (or when the window ends, if some never did). */
  readonly atLastResponse?: () => void;
}

export interface LoadResult {
  /** Responses received (any status). */
  readonly responses: number;
  /**
   * From the start to the last response (at least the duration of a timed window). autocannon
   * notices the end of a window on its 1-second tick only, so its own duration can be up to a
   * second too long.
   */
  readonly elapsedMs: number;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  /** Connection errors and timeouts (responses never received). */
  readonly transportErrors: number;
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

/** Runs one autocannon window and checks every response. */
export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  const latencies: number[] = [];
  const started = performance.now();
  let lastResponseAt = started;
  let atLastCalled = false;
  const instance = autocannon({
    url: opts.url,
    connections: opts.connections,
    ...(opts.amount ? { amount: opts.amount } : { duration: opts.durationSec ?? 10 }),
    pipelining: 1,
    timeout: opts.timeoutSec ?? 60,
    setupClient: keepRawBodies,
    requests: [
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: opts.body,
        onResponse: (status: number, body: unknown) => {
          opts.checker.check(status, Buffer.isBuffer(body) ? body : Buffer.from(String(body)));
        },
      },
    ],
  } as autocannon.Options);
  instance.on('response', (_client: unknown, _status: number, _bytes: number, responseTime: number) => {
    lastResponseAt = performance.now();
    latencies.push(responseTime);
    if (opts.amount !== undefined && latencies.length === opts.amount && opts.atLastResponse && !atLastCalled) {
      atLastCalled = true;
      opts.atLastResponse();
    }
  });
  // A window of N requests ends when all are answered or time out; never wait forever.
  const guard = setTimeout(() => instance.stop(), 5 * 60_000);
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    instance.once('done', resolve);
    instance.once('error', reject);
  }).finally(() => clearTimeout(guard));
  if (opts.atLastResponse && !atLastCalled) opts.atLastResponse();
  // A timed window lasts its duration whenever its responses came; a counted one ends with its last response.
  const elapsedMs = opts.amount === undefined ? Math.max(lastResponseAt - started, (opts.durationSec ?? 10) * 1000) : lastResponseAt - started;
  const transportErrors = result.errors;
  opts.checker.transportErrors(transportErrors, `connection errors or timeouts (${result.timeouts} timeouts)`);
  const sorted = Float64Array.from(latencies).sort();
  return {
    responses: latencies.length,
    elapsedMs,
    rps: latencies.length / (elapsedMs / 1000),
    p50Ms: percentile(sorted, 50),
    p95Ms: percentile(sorted, 95),
    p99Ms: percentile(sorted, 99),
    transportErrors,
  };
}
