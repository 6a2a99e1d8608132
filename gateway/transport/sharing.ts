/**
 * Sharing of identical in-flight queries: while a query is in flight to a subgraph, an identical
 * one (same URL, body and forwarded headers) joins it instead of sending its own request. Only
 * in flight: nothing is cached, and each caller parses its own copy of the answer.
 */
import { REQUEST_ID_HEADER } from '../context.ts';
import type { RawResponse } from './response.ts';

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
  private readonly inFlight = new Map<string, Promise<RawResponse>>();

  /** The answer of an identical query in flight, or of `send()`, which others may join until it settles. */
  share(url: string, headers: Record<string, string>, body: string, send: () => Promise<RawResponse>): Promise<RawResponse> {
    const key = sharingKey(url, headers, body);
    const shared = this.inFlight.get(key);
    if (shared) return shared;
    const raw = send().finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, raw);
    return raw;
  }
}
