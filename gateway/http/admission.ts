/**
 * Admission, for every transport: who is calling (API key, JWT or nobody; gateway/access/callers.ts)
 * and one request of its rate-limit budget (gateway/rateLimit.ts). Over HTTP a refused request is
 * answered here (429 with the RateLimit headers, 401); the subscription transports turn the same
 * refusals into their own answers (close codes, SSE error bodies).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ANONYMOUS, AccessCode, type Caller } from '../../lib/access.ts';
import type { Identify } from '../access/callers.ts';
import type { RateDecision } from '../rateLimit.ts';
import { httpError } from './responses.ts';

/** Spends one request of the caller's budget (the key's, or the address's for anonymous callers). */
export type SpendBudget = (caller: Caller, ip: string | undefined) => Promise<RateDecision>;

type Denied = Extract<RateDecision, { allowed: false }>;

export type Admission =
  | { readonly outcome: 'admitted'; readonly caller: Caller; readonly documents: string | null; readonly decision: RateDecision | undefined }
  | { readonly outcome: 'rate_limited'; readonly message: string; readonly decision: Denied }
  | { readonly outcome: 'unauthenticated'; readonly message: string; readonly decision: RateDecision | undefined };

/** The message of a request over its rate limit. */
export function rateLimitMessage(caller: Caller, decision: Denied): string {
  return `Rate limit of ${decision.limit} requests reached for this ${caller.role === 'anonymous' ? 'address' : 'key'}; retry in ${decision.retryAfterSeconds} s`;
}

/** Identifies the caller of `headers` and spends one request of its budget (none without `spend`). */
export async function admitCaller(identify: Identify, spend: SpendBudget | undefined, headers: IncomingMessage['headers'], ip: string | undefined): Promise<Admission> {
  const who = await identify(headers);
  // A failed credential spends the address's anonymous budget: guessing keys is rate limited too.
  const caller = who.ok ? who.caller : ANONYMOUS;
  const decision = await spend?.(caller, ip);
  if (decision && !decision.allowed) return { outcome: 'rate_limited', message: rateLimitMessage(caller, decision), decision };
  if (!who.ok) return { outcome: 'unauthenticated', message: who.message, decision };
  return { outcome: 'admitted', caller: who.caller, documents: who.documents, decision };
}

/** An admitted HTTP request's caller, and the app whose trusted documents bind it (null: any operation). */
export interface Admitted {
  readonly caller: Caller;
  readonly documents: string | null;
}

/**
 * Admits an HTTP request: answers 429 or 401 itself (and returns undefined) when the request may
 * not go on, and sets the RateLimit headers of a limited role.
 */
export type Admit = (req: IncomingMessage, res: ServerResponse) => Promise<Admitted | undefined>;

export function createAdmission(identify: Identify, spend: SpendBudget | undefined): Admit {
  return async (req, res) => {
    const admission = await admitCaller(identify, spend, req.headers, req.socket.remoteAddress);
    if (admission.outcome === 'rate_limited') {
      const { decision } = admission;
      res.setHeader('retry-after', String(decision.retryAfterSeconds));
      res.setHeader('ratelimit-limit', String(decision.limit));
      res.setHeader('ratelimit-remaining', '0');
      res.setHeader('ratelimit-reset', String(decision.retryAfterSeconds));
      httpError(res, 429, 'RATE_LIMITED', admission.message);
      return undefined;
    }
    const { decision } = admission;
    if (decision?.allowed && Number.isFinite(decision.limit)) {
      res.setHeader('ratelimit-limit', String(decision.limit));
      res.setHeader('ratelimit-remaining', String(decision.remaining));
      res.setHeader('ratelimit-reset', String(decision.resetSeconds));
    }
    if (admission.outcome === 'unauthenticated') {
      res.setHeader('www-authenticate', 'Bearer realm="ali-graph"');
      httpError(res, 401, AccessCode.UNAUTHENTICATED, admission.message);
      return undefined;
    }
    return { caller: admission.caller, documents: admission.documents };
  };
}
