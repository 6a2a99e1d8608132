/**
 * Who is calling: an API key (`Authorization: Bearer ali_…` or `x-api-key`), a JWT from the
 * Region's identity provider (`Authorization: Bearer <jwt>`, verified against its JWKS and mapped
 * to the same roles), or nobody (anonymous, with the configured public read scope).
 */
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import { ROLES, type Caller, type Role, type Scope } from '../../lib/access.ts';
import { KEY_PREFIX, type KeyStore } from './keys.ts';

export interface JwtOptions {
  readonly jwksUrl: string;
  readonly issuer?: string | undefined;
  readonly audience?: string | undefined;
  readonly roleClaim: string;
  readonly subgraphsClaim: string;
}

export interface CallerOptions {
  /** Where API keys are verified; unset: every key is refused (anonymous access only). */
  readonly keys?: KeyStore | undefined;
  readonly jwt?: JwtOptions | undefined;
  /** What callers without credentials may read (ANONYMOUS_SCOPE). */
  readonly anonymousScope: Scope;
  /** What callers without credentials may write to (ANONYMOUS_WRITE_SCOPE); default none. */
  readonly anonymousWriteScope?: readonly string[] | undefined;
}

export type Identification =
  | { readonly ok: true; readonly caller: Caller; readonly documents: string | null; readonly via: 'anonymous' | 'key' | 'jwt' }
  | { readonly ok: false; readonly message: string };

export type Identify = (headers: Readonly<Record<string, string | string[] | undefined>>) => Promise<Identification>;

function header(headers: Readonly<Record<string, string | string[] | undefined>>, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export function createIdentify(opts: CallerOptions): Identify {
  const anonymous: Caller = Object.freeze({ sub: 'anonymous', role: 'anonymous', read: opts.anonymousScope, write: [...(opts.anonymousWriteScope ?? [])] });
  const jwks = opts.jwt ? createRemoteJWKSet(new URL(opts.jwt.jwksUrl), { timeoutDuration: 5000, cooldownDuration: 30_000 }) : undefined;

  async function fromKey(key: string): Promise<Identification> {
    if (!opts.keys) return { ok: false, message: 'This gateway has no key store: API keys are not accepted' };
    const verified = await opts.keys.verify(key);
    if (!verified) return { ok: false, message: 'Unknown, expired or revoked API key' };
    return { ok: true, caller: verified.caller, documents: verified.documents, via: 'key' };
  }

  async function fromJwt(token: string): Promise<Identification> {
    if (!opts.jwt || !jwks) return { ok: false, message: 'Bearer tokens other than API keys are not accepted (no JWT_JWKS_URL)' };
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, jwks, {
        ...(opts.jwt.issuer ? { issuer: opts.jwt.issuer } : {}),
        ...(opts.jwt.audience ? { audience: opts.jwt.audience } : {}),
      }));
    } catch (err) {
      return { ok: false, message: `Invalid token: ${(err as Error).message}` };
    }
    const role = payload[opts.jwt.roleClaim];
    // A JWT never grants admin (key management stays with keys) nor means "anonymous".
    if (typeof role !== 'string' || !(ROLES as readonly string[]).includes(role) || role === 'admin' || role === 'anonymous') {
      return { ok: false, message: `Token has no usable "${opts.jwt.roleClaim}" claim (frontend, analyst, partner or editor)` };
    }
    const raw = payload[opts.jwt.subgraphsClaim];
    const subgraphs = Array.isArray(raw) ? raw.map(String) : typeof raw === 'string' && raw !== '' ? raw.split(',').map((s) => s.trim()) : null;
    if ((role === 'partner' || role === 'editor') && !subgraphs) {
      return { ok: false, message: `A ${role} token must carry the "${opts.jwt.subgraphsClaim}" claim` };
    }
    const sub = `jwt:${payload.sub ?? 'unknown'}`;
    const r = role as Exclude<Role, 'admin' | 'anonymous'>;
    const caller: Caller =
      r === 'partner'
        ? { sub, role: r, read: subgraphs!, write: [] }
        : r === 'editor'
          ? { sub, role: r, read: '*', write: subgraphs! }
          : { sub, role: r, read: subgraphs ?? '*', write: [] };
    return { ok: true, caller: Object.freeze(caller), documents: null, via: 'jwt' };
  }

  return async (headers) => {
    const authorization = header(headers, 'authorization');
    const apiKey = header(headers, 'x-api-key');
    let bearer: string | undefined;
    if (authorization !== undefined) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
      if (!m) return { ok: false, message: 'Authorization must be "Bearer <API key or token>"' };
      bearer = m[1];
    }
    if (bearer !== undefined && apiKey !== undefined && bearer !== apiKey) {
      return { ok: false, message: 'Send one credential: Authorization and x-api-key differ' };
    }
    const credential = bearer ?? apiKey;
    if (credential === undefined || credential === '') return { ok: true, caller: anonymous, documents: null, via: 'anonymous' };
    if (credential.startsWith(KEY_PREFIX) || apiKey !== undefined) return fromKey(credential);
    return fromJwt(credential);
  };
}

/** The rate-limit bucket of a request: the key or token subject, or the client address for anonymous callers. */
export function rateLimitKey(caller: Caller, ip: string | undefined): string {
  return caller.role === 'anonymous' ? `ip:${ip ?? 'unknown'}` : `caller:${caller.sub}`;
}
