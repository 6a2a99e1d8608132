/**
 * Who may do what: the roles, the caller the gateway establishes for every request, and the
 * short-lived signed header that carries that caller from the gateway to a subgraph. Subgraphs
 * accept only requests with a valid header (anything else gets 401) and may enforce field rules
 * with the same claims ({@link requireWrite}).
 */
import { GraphQLError } from 'graphql';
import { jwtVerify, SignJWT, errors as joseErrors } from 'jose';

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
/** Lifetime of a signed header; the gateway reuses one for half of it. */
export const GATEWAY_TOKEN_TTL_SECONDS = 60;

/** The codes of access refusals (their meaning and HTTP status: the catalogue in lib/errors.ts). */
export const AccessCode = pickCodes(ErrorCode.UNAUTHENTICATED, ErrorCode.FORBIDDEN, ErrorCode.SUBGRAPH_NOT_SUBSCRIBED);

export function inScope(scope: Scope, subgraph: string): boolean {
  return scope === '*' || scope.includes(subgraph);
}

export function canWrite(caller: Caller, subgraph: string): boolean {
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

/** Signs the caller for one subgraph (`aud`), valid for {@link GATEWAY_TOKEN_TTL_SECONDS}. */
export async function signGatewayToken(secret: string, caller: Caller, subgraph: string): Promise<string> {
  return new SignJWT({ role: caller.role, read: caller.read, write: caller.write })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(caller.sub)
    .setIssuer(ISSUER)
    .setAudience(subgraph)
    .setIssuedAt()
    .setExpirationTime(`${GATEWAY_TOKEN_TTL_SECONDS}s`)
    .sign(key(secret));
}

export class GatewayTokenError extends Error {
  override readonly name = 'GatewayTokenError';
}

/** Verifies a subgraph request's header; throws {@link GatewayTokenError} with a reason. */
export async function verifyGatewayToken(secret: string, token: string | undefined, subgraph: string): Promise<Caller> {
  if (!token) throw new GatewayTokenError(`missing ${GATEWAY_TOKEN_HEADER} header: subgraphs accept requests from the gateway only`);
  try {
    const { payload } = await jwtVerify(token, key(secret), { issuer: ISSUER, audience: subgraph, algorithms: ['HS256'] });
    const role = payload.role as Role;
    if (!ROLES.includes(role) || typeof payload.sub !== 'string') throw new GatewayTokenError('malformed gateway token');
    const read = payload.read === '*' ? '*' : Array.isArray(payload.read) ? payload.read.map(String) : [];
    const write = Array.isArray(payload.write) ? payload.write.map(String) : [];
    return Object.freeze({ sub: payload.sub, role, read, write });
  } catch (err) {
    if (err instanceof GatewayTokenError) throw err;
    if (err instanceof joseErrors.JWTExpired) throw new GatewayTokenError('expired gateway token');
    throw new GatewayTokenError('invalid gateway token');
  }
}

/** The GraphQL error a subgraph answers (HTTP 401) for a request without a valid gateway header. */
export function unauthenticated(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: AccessCode.UNAUTHENTICATED, http: { status: 401 } } });
}
