/**
 * The instances of one subgraph the gateway addresses itself: SUBGRAPH_<NAME>_URL may list several
 * URLs, comma-separated (two processes of a subgraph on one machine; behind a Kubernetes Service
 * there is one URL and the Service spreads the connections). Requests go round-robin; an instance
 * whose connection failed is passed over for a while (a passive health check, as nginx's
 * `max_fails`/`fail_timeout` and HAProxy's `observe layer4` do): `restMs` after one failure,
 * twice as long after each further failure in a row, up to 8 × `restMs`; its first answer ends
 * that. So after a crash only the requests already on their way to it, and one request now and
 * then, meet it. When every instance is resting, all are tried again.
 */

/** One instance: where its pool connects, and the path and query of its GraphQL endpoint. */
export interface SubgraphInstance {
  readonly url: string;
  readonly origin: string;
  readonly path: string;
}

/** Connection errors that say the instance is gone (refused, reset, closed mid-request), as undici and Node name them. */
const CONNECTION_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'EHOSTUNREACH', 'ENETUNREACH']);

/** Whether a failed request failed to reach, or lost, its instance (not a timeout of a live one, not an answer). */
export function isConnectionFailure(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && CONNECTION_ERRORS.has(code)) return true;
  }
  return false;
}

/** The URLs of a comma-separated list (one URL: a list of one). */
export function instanceUrls(list: string): string[] {
  const urls = list
    .split(',')
    .map((u) => u.trim())
    .filter(Boolean);
  if (urls.length === 0) throw new Error(`no subgraph URL in ${JSON.stringify(list)}`);
  return urls;
}

export class SubgraphInstances {
  readonly all: readonly SubgraphInstance[];
  private readonly restingUntil: number[];
  /** Connection failures in a row, per instance. */
  private readonly failures: number[];
  private turn = 0;

  constructor(
    urls: readonly string[],
    private readonly restMs: number,
  ) {
    this.all = urls.map((url) => {
      const target = new URL(url);
      return { url, origin: target.origin, path: `${target.pathname}${target.search}` };
    });
    this.restingUntil = this.all.map(() => 0);
    this.failures = this.all.map(() => 0);
  }

  /** The next instance in turn that is not resting (every one rests: the next in turn). */
  pick(now: number): SubgraphInstance {
    const n = this.all.length;
    const start = this.turn++ % n;
    for (let i = 0; i < n; i++) {
      const k = (start + i) % n;
      if (this.restingUntil[k]! <= now) return this.all[k]!;
    }
    return this.all[start]!;
  }

  /** Another instance than `failed` to retry on, preferring one that is not resting; undefined with one instance. */
  other(failed: SubgraphInstance, now: number): SubgraphInstance | undefined {
    const others = this.all.filter((i) => i !== failed);
    return others.find((i) => this.restingUntil[this.all.indexOf(i)]! <= now) ?? others[0];
  }

  /** An instance whose connection failed: passed over for `restMs`, doubled for each failure in a row (at most 8 ×). */
  rest(instance: SubgraphInstance, now: number): void {
    const k = this.all.indexOf(instance);
    if (k < 0) return;
    const failures = ++this.failures[k]!;
    this.restingUntil[k] = now + this.restMs * 2 ** Math.min(failures - 1, 3);
  }

  /** An instance that answered: back in the rotation with a clean record. */
  answered(instance: SubgraphInstance): void {
    const k = this.all.indexOf(instance);
    if (k >= 0 && this.failures[k] !== 0) {
      this.failures[k] = 0;
      this.restingUntil[k] = 0;
    }
  }
}
