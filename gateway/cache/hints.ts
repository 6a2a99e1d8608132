/**
 * The lifetime a subgraph gives one of its answers: the `Cache-Control` header its Apollo Server
 * computes from the schema's `@cacheControl(maxAge:, scope:)` hints and its default maxAge (the
 * Apollo convention: lib/subgraph.ts). The gateway keeps an answer only for `max-age` seconds, and
 * never one marked `private` or `no-store`, nor one without a header (no hint: not cached).
 */

/** How long an answer may be kept, in ms; 0: not at all. */
export type CacheLifetime = number;

/** Reads the header of a subgraph answer (`http.headers` of what a data source's `process` returns). */
export function lifetimeOf(response: { readonly http?: { readonly headers: { get(name: string): string | null } } | undefined }): CacheLifetime {
  return lifetimeFromHeader(response.http?.headers.get('cache-control') ?? null);
}

/** `max-age` in ms of a `Cache-Control` value; 0 for none, `private`, `no-store` or `no-cache`. */
export function lifetimeFromHeader(value: string | null): CacheLifetime {
  if (!value) return 0;
  let maxAge = 0;
  for (const part of value.split(',')) {
    const [name, arg] = part.trim().toLowerCase().split('=', 2) as [string, string | undefined];
    // The gateway knows callers by their key, and one key (a portal's, every anonymous visitor)
    // stands for many people: PRIVATE data is not kept at all.
    if (name === 'private' || name === 'no-store' || name === 'no-cache') return 0;
    if (name === 'max-age' && arg !== undefined && /^[0-9]+$/.test(arg)) maxAge = Number(arg) * 1000;
  }
  return maxAge;
}
