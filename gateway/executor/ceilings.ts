/**
 * The execution limits (gateway/operationLimits.ts: a maximum response size and a deadline, per
 * role) around whichever executor runs the gateway's query plans, the lean one or stock
 * `executeQueryPlan`: they hold whatever the cost estimate said.
 *
 * Each execution gets a budget (gateway/transport/budget.ts) on its context, which every subgraph
 * fetch of the plan finds: the bytes of the subgraph answers are counted as they arrive, and once
 * the deadline runs out or the answers exceed the size, the fetches in flight are aborted and the
 * rest are not sent; what was complete stays in the response, the rest gets REQUEST_DEADLINE_EXCEEDED
 * or RESPONSE_TOO_LARGE. Then the result is measured as it will be serialised (without
 * serialising it): one larger than the ceiling, as when small answers are copied into many places
 * of the response, is replaced by a RESPONSE_TOO_LARGE error before anything builds its JSON.
 * Subscription events are held to the same ceiling one by one (gateway/subscriptions/).
 *
 * A deferred answer (./defer.ts) is held to them as a whole: the budget runs until its last part,
 * the bytes of all its payloads count against one ceiling (the part that would exceed it is
 * replaced by RESPONSE_TOO_LARGE errors and ends the answer), and a client that goes away before
 * the last part spends the budget at once, which aborts the fetches still in flight.
 */
import type { ApolloGateway } from '@apollo/gateway';
import type { GatewayExecutionResult, GatewayExecutor } from '@apollo/server-gateway-interface';
import { GraphQLError } from 'graphql';
import { ErrorCode, errorSpec } from '../../lib/errors.ts';
import type { GatewayContext } from '../context.ts';
import type { ExecutionLimits } from '../operationLimits.ts';
import { startBudget, type RequestBudget } from '../transport/budget.ts';
import type { DeferredPayload, DeferredResponse } from './defer.ts';
import type { DeferredTimes } from './deferMetrics.ts';
import { shapedBytesBound } from './shape.ts';

/** Characters JSON.stringify escapes (or may: lone surrogates), so that a string takes more bytes than its UTF-8. */
const ESCAPED = /["\\\u0000-\u001f\ud800-\udfff]/;

function escapedStringBytes(s: string): number {
  return ESCAPED.test(s) ? Buffer.byteLength(JSON.stringify(s)) : Buffer.byteLength(s) + 2;
}

/**
 * The bytes of a string as JSON writes it, quotes included. Most strings of an answer are short
 * and printable ASCII, one byte per character: a scan of their char codes settles those without
 * the regular expression and the native UTF-8 count, which cost more than the scan for them.
 */
function stringBytes(s: string): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c >= 0x7f || c === 0x22 || c === 0x5c) return escapedStringBytes(s);
  }
  return s.length + 2;
}

/**
 * Object keys repeat in every object of a list: their sizes are remembered (keys are field names
 * and aliases of the operations served, a bounded set; the cap only guards against pathological
 * data with keys of its own, such as JSON scalars).
 */
const keyBytes = new Map<string, number>();
const KEY_CACHE_LIMIT = 10_000;

function keyStringBytes(key: string): number {
  let n = keyBytes.get(key);
  if (n === undefined) {
    n = stringBytes(key);
    if (keyBytes.size < KEY_CACHE_LIMIT) keyBytes.set(key, n);
  }
  return n;
}

/**
 * The bytes of `JSON.stringify(value)` in UTF-8, counted without building it and only until they
 * exceed `max` (then some number above `max`).
 */
export function jsonBytes(value: unknown, max: number): number {
  let n = 0;
  const walk = (v: unknown): void => {
    if (v === null || v === undefined || typeof v === 'function' || typeof v === 'symbol') {
      n += 4; // null (undefined only reaches here as a list item, where JSON writes null)
    } else if (typeof v === 'string') {
      n += stringBytes(v);
    } else if (typeof v === 'number') {
      n += Number.isFinite(v) ? String(v).length : 4;
    } else if (typeof v === 'boolean') {
      n += v ? 4 : 5;
    } else if (typeof (v as { toJSON?: unknown }).toJSON === 'function') {
      walk((v as { toJSON(): unknown }).toJSON());
    } else if (Array.isArray(v)) {
      n += 1 + Math.max(1, v.length);
      for (let i = 0; i < v.length && n <= max; i++) walk(v[i]);
    } else {
      n += 1;
      let members = 0;
      for (const key in v as object) {
        const x = (v as Record<string, unknown>)[key];
        if (x === undefined || typeof x === 'function' || typeof x === 'symbol' || !Object.hasOwn(v as object, key)) continue;
        n += (members++ > 0 ? 1 : 0) + keyStringBytes(key) + 1;
        walk(x);
        if (n > max) return;
      }
      n += 1;
    }
  };
  walk(value);
  return n;
}

/** The error that replaces a result larger than the ceiling. */
function tooLarge(max: number): GraphQLError {
  return new GraphQLError(`The response would be larger than ${max} bytes, the most this caller may receive: select fewer fields or smaller pages`, {
    extensions: { code: ErrorCode.RESPONSE_TOO_LARGE, max },
  });
}

/**
 * A result within `maxResponseBytes`: as it is, or replaced by a RESPONSE_TOO_LARGE error (and no
 * data). Data the lean executor shaped comes with an upper bound of its bytes: when that bound,
 * the rest of the result and the JSON around them fit, the answer is not walked.
 */
export function boundedResult<R extends { data?: unknown; errors?: readonly unknown[]; extensions?: unknown }>(result: R, maxResponseBytes: number): R | { data: null; errors: GraphQLError[] } {
  const data = result.data;
  const bound = data !== null && typeof data === 'object' ? shapedBytesBound(data) : undefined;
  if (bound !== undefined && bound + jsonBytes({ errors: result.errors, extensions: result.extensions }, maxResponseBytes) + 8 <= maxResponseBytes) return result;
  if (jsonBytes(result, maxResponseBytes) <= maxResponseBytes) return result;
  return { data: null, errors: [tooLarge(maxResponseBytes)] };
}

/** The HTTP status of a result the ceilings left without data: the catalogue's status of its first ceiling code. */
function ceilingStatus(result: GatewayExecutionResult): number | undefined {
  if (result.data !== null && result.data !== undefined) return undefined;
  for (const error of result.errors ?? []) {
    const code = error.extensions?.['code'];
    if (code === ErrorCode.RESPONSE_TOO_LARGE || code === ErrorCode.REQUEST_DEADLINE_EXCEEDED) return errorSpec(code)?.status ?? undefined;
  }
  return undefined;
}

/** The deferred parts after an initial result of `sent` bytes, within the same ceiling and budget (which ends with them); `done` when the last is sent. */
async function* boundedParts(deferred: DeferredResponse, sent: number, max: number, budget: RequestBudget, done: () => void): AsyncGenerator<DeferredPayload, void, undefined> {
  let total = sent;
  let last = false;
  try {
    for await (const payload of deferred.subsequent) {
      total += jsonBytes(payload.completed, max - total + 1) + jsonBytes(payload.pending, max);
      if (total > max) {
        last = true;
        yield { completed: payload.completed.map((part) => ({ ...part, data: null, errors: [tooLarge(max)] })), pending: [], hasNext: false };
        return;
      }
      last = !payload.hasNext;
      yield payload;
    }
    last = true;
  } finally {
    if (!last) budget.cancel();
    else done();
    budget.end();
    await deferred.subsequent.return();
  }
}

/**
 * Wraps `gateway.executor` (after useLeanExecutor, if used) so that every execution is held to its
 * caller's execution limits; `times` records when a deferred answer's first and last payloads
 * went out. Call before Apollo Server starts.
 */
export function useExecutionLimits(gateway: ApolloGateway, limitsFor: (context: GatewayContext) => ExecutionLimits, times?: DeferredTimes): void {
  const inner: GatewayExecutor = gateway.executor;
  const executor: GatewayExecutor = async (requestContext) => {
    const started = performance.now();
    const limits = limitsFor(requestContext.context as GatewayContext);
    const budget = startBudget(requestContext.context, limits);
    const handoff = (requestContext.context as GatewayContext).incremental;
    let result: GatewayExecutionResult;
    let continues = false;
    try {
      const whole = await inner(requestContext);
      result = boundedResult(whole, limits.maxResponseBytes);
      const deferred = handoff?.deferred;
      if (deferred && result !== whole) {
        // The initial result alone is too large: nothing follows it.
        handoff.deferred = undefined;
        budget.cancel();
        deferred.cancel();
        await deferred.subsequent.return();
      } else if (deferred) {
        const first = (performance.now() - started) / 1000;
        const done = () => times?.(first, (performance.now() - started) / 1000);
        const subsequent = boundedParts(deferred, jsonBytes(result, limits.maxResponseBytes), limits.maxResponseBytes, budget, done);
        const cancel = () => {
          budget.cancel();
          deferred.cancel();
        };
        handoff.deferred = { pending: deferred.pending, subsequent, cancel };
        continues = true;
      }
    } finally {
      if (!continues) budget.end();
    }
    const status = ceilingStatus(result);
    if (status !== undefined && requestContext.response?.http) requestContext.response.http.status = status;
    return result;
  };
  (gateway as { executor: GatewayExecutor }).executor = executor;
}
