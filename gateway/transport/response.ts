/**
 * A subgraph's answer, read once into memory (`RawResponse`), and the fetch `Response` the stock
 * pipeline reads it through (`BufferedResponse`). Callers sharing one HTTP request (./sharing.ts)
 * each get their own parsed copy, as the executor mutates what it receives: parsed once
 * ({@link SharedBody}), then copied, which costs about a third of parsing again.
 */
import type { RemoteGraphQLDataSource } from '@apollo/gateway';

type Fetcher = RemoteGraphQLDataSource['fetcher'];
export type FetcherRequestInit = NonNullable<Parameters<Fetcher>[1]>;
export type FetcherResponse = Awaited<ReturnType<Fetcher>>;

export interface RawResponse {
  readonly url: string;
  readonly status: number;
  readonly statusText: string;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body: string;
  /** Set when several requests share the answer: its body parsed once for all of them. */
  readonly shared?: SharedBody;
}

export class BufferedResponse implements FetcherResponse {
  readonly redirected = false;
  private used = false;
  private fetchHeaders: Headers | undefined;

  constructor(private readonly raw: RawResponse) {}

  /** Built when first read (most answers are never asked for a header). */
  get headers(): Headers {
    return (this.fetchHeaders ??= new Headers(this.raw.headers as [string, string][]));
  }

  get url(): string {
    return this.raw.url;
  }
  get status(): number {
    return this.raw.status;
  }
  get statusText(): string {
    return this.raw.statusText;
  }
  get ok(): boolean {
    return this.raw.status >= 200 && this.raw.status < 300;
  }
  get bodyUsed(): boolean {
    return this.used;
  }

  async text(): Promise<string> {
    if (this.used) throw new TypeError('Body already used');
    this.used = true;
    return this.raw.body;
  }
  async json(): Promise<any> {
    return JSON.parse(await this.text());
  }
  async arrayBuffer(): Promise<ArrayBuffer> {
    const bytes = Buffer.from(await this.text(), 'utf8');
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  }
  clone(): FetcherResponse {
    return new BufferedResponse(this.raw);
  }
}

/** Whether an answer is JSON as stock's `parseBody` decides it (its Content-Type, all values joined as `Headers.get` does). */
export function isJsonAnswer(raw: RawResponse): boolean {
  let type: string | undefined;
  for (const [name, value] of raw.headers) if (name.toLowerCase() === 'content-type') type = type === undefined ? value : `${type}, ${value}`;
  return type !== undefined && (type.startsWith('application/json') || type.startsWith('application/graphql-response+json'));
}

/**
 * The body of an answer several requests share (./sharing.ts), parsed once: each taker gets a
 * copy of the parsed value, except the last, which gets the value itself. `takers()` is how many
 * requests the answer is for, as far as is known when one takes it; once the value itself has been
 * handed out (it may be changed from then on), a taker beyond that count parses the body again.
 */
export class SharedBody {
  /** Undefined until parsed (JSON.parse never returns undefined). */
  private parsed: unknown;
  private taken = 0;
  private handedOut = false;

  constructor(
    private readonly body: string,
    private readonly takers: () => number,
  ) {}

  /** The parsed body, this taker's own to change. */
  take(): unknown {
    if (this.handedOut) return JSON.parse(this.body);
    this.parsed ??= JSON.parse(this.body);
    if (++this.taken < this.takers()) {
      try {
        return copyJson(this.parsed);
      } catch {
        // Nested deeper than the copy's recursion goes (JSON.parse's is not recursive).
        return JSON.parse(this.body);
      }
    }
    this.handedOut = true;
    return this.parsed;
  }
}

/** The answer's body parsed as JSON, the caller's own to change. */
export function parseAnswer(raw: RawResponse): unknown {
  return raw.shared ? raw.shared.take() : JSON.parse(raw.body);
}

/**
 * A copy of a value `JSON.parse` returned that `JSON.parse` would have returned too: the same own
 * properties in the same order (a `__proto__` key stays an own property, as JSON.parse makes it),
 * new objects and arrays, the same strings.
 */
export function copyJson(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    const n = value.length;
    const out = new Array<unknown>(n);
    for (let i = 0; i < n; i++) out[i] = copyJson(value[i]);
    return out;
  }
  const source = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  const keys = Object.keys(source);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    if (key === '__proto__') Object.defineProperty(out, key, { value: copyJson(source[key]), writable: true, enumerable: true, configurable: true });
    else out[key] = copyJson(source[key]);
  }
  return out;
}
