/**
 * A subgraph's answer, read once into memory (`RawResponse`), and the fetch `Response` the stock
 * pipeline reads it through (`BufferedResponse`): callers sharing one HTTP request (./sharing.ts)
 * each parse their own copy, as the executor mutates what it receives.
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
