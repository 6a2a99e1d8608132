/**
 * Signs the caller for each subgraph request (`x-ali-gateway-token`, lib/access.ts). A token is
 * valid for `ttlSeconds` (GATEWAY_TOKEN_TTL_SECONDS, 60 s) and reused for half of that per caller
 * and subgraph, so signing costs one HMAC per caller and subgraph every 30 s, not one per fetch,
 * and a token handed out always has at least half its lifetime left.
 */
import { signGatewayToken, type Caller } from '../../lib/access.ts';
import { configDefault } from '../../lib/config.ts';

export type Signer = (caller: Caller, subgraph: string) => string | Promise<string>;

export interface SignerOptions {
  /** Lifetime of a token in seconds (default GATEWAY_TOKEN_TTL_SECONDS, 60); subgraphs accept at most GATEWAY_TOKEN_MAX_LIFETIME_SECONDS. */
  readonly ttlSeconds?: number;
  readonly maxEntries?: number;
}

export function createSigner(secret: string, opts: SignerOptions = {}): Signer {
  const ttlSeconds = opts.ttlSeconds ?? configDefault('GATEWAY_TOKEN_TTL_SECONDS');
  const maxEntries = opts.maxEntries ?? 10_000;
  const reuseMs = (ttlSeconds * 1000) / 2;
  const cache = new Map<string, { token: string; until: number }>();
  return (caller, subgraph) => {
    const key = `${subgraph}\u0000${caller.role}\u0000${caller.sub}\u0000${String(caller.read)}\u0000${caller.write.join(',')}`;
    const now = Date.now();
    const hit = cache.get(key);
    if (hit && hit.until > now) return hit.token;
    return signGatewayToken(secret, caller, subgraph, ttlSeconds).then((token) => {
      if (cache.size >= maxEntries) cache.clear();
      cache.set(key, { token, until: now + reuseMs });
      return token;
    });
  };
}
