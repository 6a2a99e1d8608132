/**
 * Who may do what: the roles, the caller the gateway establishes for every request, and the
 * short-lived signed header that carries that caller from the gateway to a subgraph. Subgraphs
 * accept only requests with a valid header (anything else gets 401) and may enforce field rules
 * with the same claims ({@link requireWrite}).
 */
import { GraphQLError } from 'graphql';
import { jwtVerify, SignJWT, errors as joseErrors, type JWTPayload } from 'jose';
import { configDefault } from './config.ts';
import { ErrorCode, pickCodes } from './errors.ts';
import { ROLES, type Role } from './roles.ts';

export { ROLES, type Role } from './roles.ts';

/** Subgraph scope: every subgraph, or the named ones. */
export type Scope = '*' | readonly string[];

/** The caller of one request, as the gateway established it and every subgraph receives it. */
export interface Caller {
  /** Key name, JWT subject, or `anonymous`. */
  readonly sub: string;
  readonly role: Role;
  /** Subgraphs whose data the caller may read (and see in introspection). */
  readonly read: Scope;
  /** Subgraphs whose mutations the caller may call (editors only). */
  readonly write: readonly string[];
}

export const ANONYMOUS: Caller = Object.freeze({ sub: 'anonymous', role: 'anonymous', read: '*', write: [] });

/** The header the gateway signs for every subgraph request. */
export const GATEWAY_TOKEN_HEADER = 'x-ali-gateway-token';
const ISSUER = 'ali-gateway';

/**
 * What a subgraph accepts of a gateway token besides its signature and audience: a lifetime
 * (`exp - iat`, both required) no longer than `maxLifetimeSeconds`, an `iat` no older than that
 * and no further ahead than `clockSkewSeconds`, an `exp` not past by more than it. A short
 * lifetime bounds what a token taken from a log or a proxy is worth.
 */
export interface GatewayTokenPolicy {
  /** GATEWAY_TOKEN_MAX_LIFETIME_SECONDS (default 120); the gateway's GATEWAY_TOKEN_TTL_SECONDS (60) must fit in it. */
  readonly maxLifetimeSeconds: number;
  /** GATEWAY_TOKEN_CLOCK_SKEW_SECONDS (default 5): how far the gateway's clock may be from the subgraph's. */
  readonly clockSkewSeconds: number;
}

export function defaultTokenPolicy(): GatewayTokenPolicy {
  return { maxLifetimeSeconds: configDefault('GATEWAY_TOKEN_MAX_LIFETIME_SECONDS'), clockSkewSeconds: configDefault('GATEWAY_TOKEN_CLOCK_SKEW_SECONDS') };
}

/** The codes of access refusals (their meaning and HTTP status: the catalogue in lib/errors.ts). */
export const AccessCode = pickCodes(ErrorCode.UNAUTHENTICATED, ErrorCode.FORBIDDEN, ErrorCode.SUBGRAPH_NOT_SUBSCRIBED);

export function inScope(scope: Scope, subgraph: string): boolean {
  return scope === '*' || scope.includes(subgraph);
}

function canWrite(caller: Caller, subgraph: string): boolean {
  return caller.role === 'editor' && caller.write.includes(subgraph);
}

/** Throws FORBIDDEN unless the caller is an editor scoped to `subgraph` (used by every mutation). */
export function requireWrite(caller: Caller, subgraph: string): void {
  if (!canWrite(caller, subgraph)) {
    throw new GraphQLError(`Writing to ${subgraph} needs an editor key scoped to ${subgraph}`, {
      extensions: { code: AccessCode.FORBIDDEN, subgraph, http: { status: 403 } },
    });
  }
}

function key(secret: string): Uint8Array {
  return new TextEncoder().encode(secret);
}

/**
 * Signs the caller for one subgraph (`aud`), valid for `ttlSeconds` (GATEWAY_TOKEN_TTL_SECONDS,
 * default 60).
 */
export async function signGatewayToken(
  secret: string,
  caller: Caller,
  subgraph: string,
  ttlSeconds: number = configDefault('GATEWAY_TOKEN_TTL_SECONDS'),
): Promise<string> {
  return new SignJWT({ role: caller.role, read: caller.read, write: caller.write })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(caller.sub)
    .setIssuer(ISSUER)
    .setAudience(subgraph)
    .setIssuedAt()
    .setExpirationTime(`${ttlSeconds}s`)
    .sign(key(secret));
}

/**
 * Why a subgraph refuses a gateway token: not valid (401 UNAUTHENTICATED; WebSocket 4401), or
 * valid for a caller whose read scope leaves the subgraph out (403 SUBGRAPH_NOT_SUBSCRIBED;
 * WebSocket 4403).
 */
export class GatewayTokenError extends Error {
  override readonly name = 'GatewayTokenError';
  constructor(
    message: string,
    readonly refusal: 'invalid' | 'out_of_scope' = 'invalid',
  ) {
    super(message);
  }

  get status(): 401 | 403 {
    return this.refusal === 'invalid' ? 401 : 403;
  }

  get code(): string {
    return this.refusal === 'invalid' ? AccessCode.UNAUTHENTICATED : AccessCode.SUBGRAPH_NOT_SUBSCRIBED;
  }
}

/** A verified gateway token: its caller, and when it expires (ms since the epoch). */
export interface GatewayToken {
  readonly caller: Caller;
  readonly expiresAt: number;
}

/** The caller a verified payload carries; throws when it is malformed or not scoped to `subgraph`. */
function callerOf(payload: JWTPayload, subgraph: string): Caller {
  const role = payload.role as Role;
  const read = payload.read === '*' ? '*' : Array.isArray(payload.read) ? payload.read.map(String) : [];
  if (!ROLES.includes(role) || typeof payload.sub !== 'string') throw new GatewayTokenError('malformed gateway token');
  if (!inScope(read, subgraph)) {
    throw new GatewayTokenError(`the caller's read scope (${[...read].join(', ') || 'none'}) does not include ${subgraph}`, 'out_of_scope');
  }
  const write = Array.isArray(payload.write) ? payload.write.map(String) : [];
  return Object.freeze({ sub: payload.sub, role, read, write });
}

/**
 * Verifies a subgraph request's header against `policy` and the caller's read scope; throws
 * {@link GatewayTokenError} with the reason.
 */
export async function readGatewayToken(
  secret: string,
  token: string | undefined,
  subgraph: string,
  policy: GatewayTokenPolicy = defaultTokenPolicy(),
): Promise<GatewayToken> {
  if (!token) throw new GatewayTokenError(`missing ${GATEWAY_TOKEN_HEADER} header: subgraphs accept requests from the gateway only`);
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, key(secret), {
      issuer: ISSUER,
      audience: subgraph,
      algorithms: ['HS256'],
      requiredClaims: ['exp', 'iat', 'sub'],
      // Also refuses an `iat` ahead of this clock by more than the tolerance.
      maxTokenAge: policy.maxLifetimeSeconds,
      clockTolerance: policy.clockSkewSeconds,
    }));
  } catch (err) {
    if (err instanceof joseErrors.JWTExpired) throw new GatewayTokenError(`expired gateway token (${err.message})`);
    if (err instanceof joseErrors.JWTClaimValidationFailed) throw new GatewayTokenError(`invalid gateway token: ${err.message}`);
    throw new GatewayTokenError('invalid gateway token');
  }
  const lifetime = payload.exp! - payload.iat!;
  if (lifetime > policy.maxLifetimeSeconds) {
    throw new GatewayTokenError(`gateway token valid for ${lifetime} s, longer than the ${policy.maxLifetimeSeconds} s this subgraph accepts`);
  }
  return { caller: callerOf(payload, subgraph), expiresAt: payload.exp! * 1000 };
}

/** {@link readGatewayToken}'s caller. */
export async function verifyGatewayToken(secret: string, token: string | undefined, subgraph: string, policy?: GatewayTokenPolicy): Promise<Caller> {
  return (await readGatewayToken(secret, token, subgraph, policy)).caller;
}

/** Whether two callers are the same (a renewed token must carry the caller of the first). */
export function sameCaller(a: Caller, b: Caller): boolean {
  const scope = (s: Scope) => (s === '*' ? '*' : [...s].sort().join(','));
  return a.sub === b.sub && a.role === b.role && scope(a.read) === scope(b.read) && scope(a.write) === scope(b.write);
}

/** The GraphQL error a subgraph answers for a request without a valid gateway header (401, or 403 out of scope). */
export function tokenRefused(subgraph: string, err: GatewayTokenError): GraphQLError {
  return new GraphQLError(`${subgraph}: ${err.message}`, { extensions: { code: err.code, http: { status: err.status } } });
}
