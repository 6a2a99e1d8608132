/**
 * Signs the caller for each subgraph request (`x-ali-gateway-token`, lib/access.ts). A token is
 * valid for 60 s and reused for 30 s per caller and subgraph, so signing costs one HMAC per
 * caller and subgraph every 30 s, not one per fetch.
 */
import { GATEWAY_TOKEN_TTL_SECONDS, signGatewayToken, type Caller } from '../../lib/access.ts';

export type Signer = (caller: Caller, subgraph: string) => string | Promise<string>;

export function createSigner(secret: string, maxEntries = 10_000): Signer {
  const reuseMs = (GATEWAY_TOKEN_TTL_SECONDS * 1000) / 2;
  const cache = new Map<string, { token: string; until: number }>();
  return (caller, subgraph) => {
    const key = `${subgraph}\u0000${caller.role}\u0000${caller.sub}\u0000${String(caller.read)}\u0000${caller.write.join(',')}`;
    const now = Date.now();
    const hit = cache.get(key);
    if (hit && hit.until > now) return hit.token;
    return signGatewayToken(secret, caller, subgraph).then((token) => {
      if (cache.size >= maxEntries) cache.clear();
      cache.set(key, { token, until: now + reuseMs });
      return token;
    });
  };
}
