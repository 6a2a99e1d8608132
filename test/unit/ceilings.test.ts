/**
 * The parts of the execution limits that need no server: the size of a result as it will be
 * serialised, a request's budget, the requests sharing one subgraph exchange (one request's
 * ceiling never fails another), and a circuit breaker whose probe the gateway cancelled.
 */
import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import type { ApolloGateway } from '@apollo/gateway';
import type { GatewayExecutionResult, GatewayGraphQLRequestContext } from '@apollo/server-gateway-interface';
import { boundedResult, jsonBytes, useExecutionLimits } from '../../gateway/executor/ceilings.ts';
import type { DeferredPayload, DeferredResponse } from '../../gateway/executor/defer.ts';
import type { IncrementalHandoff } from '../../gateway/pipeline/incremental.ts';
import { budgetOf } from '../../gateway/transport/budget.ts';
import { deferMetrics } from '../../gateway/executor/deferMetrics.ts';
import { Registry } from 'prom-client';
import { BudgetSpent, RequestBudget } from '../../gateway/transport/budget.ts';
import { CircuitBreaker } from '../../gateway/transport/circuitBreaker.ts';
import type { RawResponse } from '../../gateway/transport/response.ts';
import { exchangeAlone, InFlightQueries, type ExchangeHooks } from '../../gateway/transport/sharing.ts';

describe('jsonBytes', () => {
  const nullProto = Object.assign(Object.create(null) as object, { a: 1, 'é"': 'x' });
  const values: unknown[] = [
    null,
    { data: { a: [1, 2.5, -3e-7, true, false, null], b: 'plain', c: 'città «Mondovì» 🚀', d: 'quote " backslash \\ newline \n tab \t \u0001' } },
    { data: null, errors: [new GraphQLError('boom', { path: ['a', 0], extensions: { code: 'X' } })] },
    { skipped: undefined, f: () => 1, nested: [undefined, { x: undefined }], lone: '\ud800' },
    nullProto,
    [],
    {},
    [[[]]],
    // Printable ASCII counted from its length, anything else the slow way; keys repeat across a list.
    { 'ключ': 'x', plain: 'a'.repeat(300), del: '\u007f~ ', list: [{ k: 'a' }, { k: 'è' }, { k: '"' }] },
    // Each character that is not written as itself, alone in an otherwise plain string (another
    // one before it would send the string the slow way anyway), in values and in keys.
    ['a\nb', 'tab\t', '\u001f', 'say "hi"', 'back\\slash', 'caffè', '🚀', ' ~', '\u007f', '\udc00'],
    { 'a\nb': 1, 'q"': 2, 'b\\': 3, 'é': 4, '\u0000': 5 },
    // What JSON leaves out of objects and writes as null in lists; what it asks toJSON for; inherited members.
    { f: () => 1, s: Symbol('s'), u: undefined, list: [() => 1, Symbol('t'), undefined], at: new Date(0) },
    Object.assign(Object.create({ inherited: 'not written' }) as object, { own: 1 }),
    [Number.NaN, Number.POSITIVE_INFINITY, -0, 1e21, 0.1],
  ];
  it.each(values.map((v, i) => [i, v]))('counts value %i as JSON.stringify serialises it', (_i, value) => {
    expect(jsonBytes(value, Number.MAX_SAFE_INTEGER)).toBe(Buffer.byteLength(JSON.stringify(value)));
  });

  it('stops counting once over the limit', () => {
    const big = { list: Array.from({ length: 100_000 }, (_, i) => ({ id: i, name: `item ${i}` })) };
    expect(jsonBytes(big, 1000)).toBeGreaterThan(1000);
    // It walked a few items, not the 100,000.
    expect(jsonBytes(big, 1000)).toBeLessThan(Buffer.byteLength(JSON.stringify(big)) / 10);
  });

  it('counts exactly up to the limit and only passes it when the value is larger', () => {
    for (const value of values) {
      const size = Buffer.byteLength(JSON.stringify(value) ?? 'null');
      for (let max = Math.max(0, size - 3); max <= size + 3; max++) {
        const counted = jsonBytes(value, max);
        if (size <= max) expect(counted, `${JSON.stringify(value)} within ${max}`).toBe(size);
        else expect(counted, `${JSON.stringify(value)} over ${max}`).toBeGreaterThan(max);
      }
      const result = { data: value };
      const resultSize = Buffer.byteLength(JSON.stringify(result));
      expect(boundedResult(result, resultSize)).toBe(result);
      expect(boundedResult(result, resultSize - 1)).not.toBe(result);
    }
  });

  it('replaces a result over the ceiling with one RESPONSE_TOO_LARGE error', () => {
    const result = { data: { text: 'x'.repeat(500) } };
    expect(boundedResult(result, 1000)).toBe(result);
    const bounded = boundedResult(result, 100) as { data: unknown; errors: GraphQLError[] };
    expect(bounded.data).toBeNull();
    expect(bounded.errors.map((e) => e.extensions['code'])).toEqual(['RESPONSE_TOO_LARGE']);
    expect(bounded.errors[0]!.message).toBe('The response would be larger than 100 bytes, the most this caller may receive: select fewer fields or smaller pages');
    expect(bounded.errors[0]!.extensions['max']).toBe(100);
  });
});

describe('RequestBudget', () => {
  it('is spent by bytes beyond its maximum, and by its deadline', async () => {
    const budget = new RequestBudget({ maxResponseBytes: 10, deadlineMs: 10_000 });
    expect(budget.take(6)).toBe(true);
    expect(budget.take(5)).toBe(false);
    expect(budget.spent).toMatchObject({ spent: 'bytes' });
    budget.end();
    const late = new RequestBudget({ maxResponseBytes: 10, deadlineMs: 20 });
    await new Promise((r) => setTimeout(r, 60));
    expect(late.spent).toMatchObject({ spent: 'deadline' });
    expect(late.signal.reason).toBeInstanceOf(BudgetSpent);
  });
});

/** An exchange that sends `chunks` of the answer when told to, and records whether it was aborted. */
function controllable() {
  let hooks: ExchangeHooks | undefined;
  let finish: (r: RawResponse) => void = () => {};
  const send = (h: ExchangeHooks) =>
    new Promise<RawResponse>((resolve, reject) => {
      hooks = h;
      finish = resolve;
      h.signal.addEventListener('abort', () => reject(h.signal.reason));
    });
  const answer: RawResponse = { url: 'http://subgraph', status: 200, statusText: 'OK', headers: [], body: '{"data":{}}' };
  return { send, chunk: (n: number) => hooks!.onBytes(n), end: () => finish(answer), aborted: () => hooks!.signal.aborted };
}

describe('sharing one exchange', () => {
  it("one request's spent budget stops its own wait, not the exchange the other waits for", async () => {
    const x = controllable();
    const queries = new InFlightQueries();
    const small = new RequestBudget({ maxResponseBytes: 100, deadlineMs: 10_000 });
    const large = new RequestBudget({ maxResponseBytes: 10_000, deadlineMs: 10_000 });
    const first = queries.share('u', {}, 'q', x.send, small);
    const second = queries.share('u', {}, 'q', x.send, large);
    x.chunk(150);
    await expect(first).rejects.toMatchObject({ spent: 'bytes' });
    expect(x.aborted()).toBe(false);
    x.end();
    await expect(second).resolves.toMatchObject({ status: 200 });
    small.end();
    large.end();
  });

  it('is aborted once no request waits for it', async () => {
    const x = controllable();
    const budget = new RequestBudget({ maxResponseBytes: 100, deadlineMs: 10_000 });
    const waiting = exchangeAlone(x.send, budget);
    x.chunk(101);
    await expect(waiting).rejects.toBeInstanceOf(BudgetSpent);
    expect(x.aborted()).toBe(true);
    budget.end();
  });

  it('is never aborted while a caller without a budget waits', async () => {
    const x = controllable();
    const queries = new InFlightQueries();
    const budget = new RequestBudget({ maxResponseBytes: 1, deadlineMs: 10_000 });
    const plain = queries.share('u', {}, 'q', x.send, undefined);
    const limited = queries.share('u', {}, 'q', x.send, budget);
    x.chunk(5);
    await expect(limited).rejects.toBeInstanceOf(BudgetSpent);
    expect(x.aborted()).toBe(false);
    x.end();
    await expect(plain).resolves.toMatchObject({ status: 200 });
    budget.end();
  });
});

describe('a cancelled probe', () => {
  it('lets the next request probe the half-open circuit', () => {
    const breaker = new CircuitBreaker('s', 1, 10, () => {});
    breaker.record(breaker.admit(0) as object, false, 0);
    expect(breaker.state).toBe('open');
    const probe = breaker.admit(20);
    expect(probe).toHaveProperty('probe');
    expect(breaker.admit(20)).toEqual({ retryInMs: 0 });
    breaker.release(probe as object);
    const next = breaker.admit(21);
    expect(next).toHaveProperty('probe');
    breaker.record(next as object, true, 22);
    expect(breaker.state).toBe('closed');
  });
});

describe('useExecutionLimits', () => {
  const LIMITS = { maxResponseBytes: 200, deadlineMs: 10_000 };

  /** A gateway whose executor answers `answer`, held to `limits`; what one request gets, its HTTP status (200 unless a ceiling set it) and its budget. */
  async function execute(answer: GatewayExecutionResult, handoff?: IncrementalHandoff, times?: (first: number, last: number) => void, limits = LIMITS) {
    const gateway = { executor: async () => answer } as unknown as ApolloGateway;
    useExecutionLimits(gateway, () => limits as never, times);
    const context: Record<string, unknown> = handoff ? { incremental: handoff } : {};
    const http = { status: 200 as number | undefined, headers: new Map() };
    const requestContext = { context, response: { http } } as unknown as GatewayGraphQLRequestContext;
    const result = await gateway.executor(requestContext);
    return { result, status: http.status, budget: budgetOf(context)! };
  }
  const coded = (code: string) => ({ message: code, extensions: { code } }) as never;

  it('sets the HTTP status of a ceiling error only when the ceilings left no data', async () => {
    expect((await execute({ data: { a: 1 } })).status).toBe(200);
    expect((await execute({ data: { text: 'x'.repeat(300) } })).status).toBe(400);
    expect((await execute({ data: null, errors: [coded('REQUEST_DEADLINE_EXCEEDED')] })).status).toBe(504);
    expect((await execute({ errors: [coded('OTHER'), coded('RESPONSE_TOO_LARGE')] })).status).toBe(400);
    expect((await execute({ data: { a: null }, errors: [coded('REQUEST_DEADLINE_EXCEEDED')] })).status).toBe(200);
    expect((await execute({ data: null, errors: [coded('OTHER')] })).status).toBe(200);
    expect((await execute({ data: null, errors: [{ message: 'no extensions' } as never] })).status).toBe(200);
    expect((await execute({ data: null })).status).toBe(200);
    // A request context without an HTTP response (a subscription event's): the answer alone.
    const gateway = { executor: async () => ({ data: { text: 'x'.repeat(300) } }) } as unknown as ApolloGateway;
    useExecutionLimits(gateway, () => LIMITS as never);
    expect((await gateway.executor({ context: {} } as unknown as GatewayGraphQLRequestContext)).data).toBeNull();
  });

  it('ends the budget of an answer without deferred parts: its deadline stops running', async () => {
    const { budget } = await execute({ data: { a: 1 } }, undefined, undefined, { maxResponseBytes: 200, deadlineMs: 30 });
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(budget.spent).toBeUndefined();
  });

  it("keeps a deferred answer's deadline running until its last part", async () => {
    const slow = deferred([]);
    const handoff = handoffOf({
      ...slow,
      subsequent: (async function* () {
        await new Promise((resolve) => setTimeout(resolve, 80));
        yield part('late', false);
      })(),
    });
    const { budget } = await execute({ data: { first: 1 } }, handoff, undefined, { maxResponseBytes: 200, deadlineMs: 30 });
    const got: DeferredPayload[] = [];
    for await (const p of handoff.deferred!.subsequent) {
      got.push(p);
      expect(budget.spent?.spent).toBe('deadline');
    }
    expect(got).toHaveLength(1);
  });

  it('lets parts through up to the ceiling exactly', async () => {
    const initial = { data: { first: 1 } };
    const payload = part('x'.repeat(30), false);
    const size = [initial, payload.completed, payload.pending].reduce((n, v) => n + Buffer.byteLength(JSON.stringify(v)), 0);
    for (const [max, passes] of [[size, true], [size - 1, false]] as const) {
      const handoff = handoffOf(deferred([payload]));
      await execute(initial, handoff, undefined, { maxResponseBytes: max, deadlineMs: 10_000 });
      const got: DeferredPayload[] = [];
      for await (const p of handoff.deferred!.subsequent) got.push(p);
      expect(got[0]!.completed[0]!.data === null, `ceiling ${max}`).toBe(!passes);
    }
  });

  function deferred(payloads: DeferredPayload[]): DeferredResponse & { cancelled: boolean; returned: boolean } {
    const seen = { cancelled: false, returned: false };
    const subsequent = (async function* () {
      try {
        for (const p of payloads) yield p;
      } finally {
        seen.returned = true;
      }
    })();
    return Object.assign(seen, {
      pending: [{ id: '0', path: [], label: undefined }],
      subsequent,
      cancel() {
        seen.cancelled = true;
      },
    });
  }
  const part = (text: string, hasNext: boolean): DeferredPayload => ({ completed: [{ id: '0', path: [], label: undefined, data: { text }, errors: [] }], pending: [], hasNext });
  const handoffOf = (d: DeferredResponse): IncrementalHandoff => ({ format: 'deferSpec=20220824', overHttp: true, deferred: d });

  it('holds the deferred parts to the same ceiling as the initial result, and times the first and last payloads', async () => {
    const d = deferred([part('a'.repeat(20), true), part('b'.repeat(20), false)]);
    const handoff = handoffOf(d);
    const timed: number[][] = [];
    const { result } = await execute({ data: { first: 1 } }, handoff, (first, last) => timed.push([first, last]));
    expect(result).toEqual({ data: { first: 1 } });
    const got: DeferredPayload[] = [];
    for await (const p of handoff.deferred!.subsequent) got.push(p);
    expect(got).toEqual([part('a'.repeat(20), true), part('b'.repeat(20), false)]);
    expect(timed).toHaveLength(1);
    const [first, last] = timed[0]!;
    expect(first!).toBeGreaterThanOrEqual(0);
    expect(last!).toBeGreaterThanOrEqual(first!);
    expect(last!).toBeLessThan(5); // seconds
  });

  it('replaces the part that would pass the ceiling with RESPONSE_TOO_LARGE and ends the answer there', async () => {
    const d = deferred([part('a'.repeat(60), true), part('b'.repeat(100), true), part('c', false)]);
    const handoff = handoffOf(d);
    const timed: number[][] = [];
    const { budget } = await execute({ data: { first: 1 } }, handoff, (first, last) => timed.push([first, last]));
    const got: DeferredPayload[] = [];
    for await (const p of handoff.deferred!.subsequent) got.push(p);
    expect(got).toHaveLength(2);
    expect(got[0]).toEqual(part('a'.repeat(60), true));
    expect(got[1]!.hasNext).toBe(false);
    expect(got[1]!.pending).toEqual([]);
    expect(got[1]!.completed.map((c) => [c.id, c.data, c.errors.map((e) => e.extensions['code'])])).toEqual([['0', null, ['RESPONSE_TOO_LARGE']]]);
    expect(d.returned).toBe(true);
    expect(timed).toHaveLength(1);
    expect(budget.signal.aborted).toBe(false);
  });

  it('counts the pending parts a payload announces against the ceiling too', async () => {
    const announcing: DeferredPayload = { completed: [], pending: Array.from({ length: 8 }, (_, i) => ({ id: String(i), path: ['p'], label: 'x'.repeat(10) })), hasNext: true };
    const handoff = handoffOf(deferred([announcing, part('c', false)]));
    await execute({ data: { first: 1 } }, handoff);
    const got: DeferredPayload[] = [];
    for await (const p of handoff.deferred!.subsequent) got.push(p);
    expect(got).toHaveLength(1);
    expect(got[0]!.hasNext).toBe(false);
  });

  it('a client that leaves before the last part spends the budget, which aborts the fetches in flight', async () => {
    const d = deferred([part('a', true), part('b', false)]);
    const handoff = handoffOf(d);
    const timed: number[][] = [];
    const { budget } = await execute({ data: { first: 1 } }, handoff, (first, last) => timed.push([first, last]));
    expect(budget.signal.aborted).toBe(false);
    const it = handoff.deferred!.subsequent;
    await it.next();
    await it.return();
    expect(budget.signal.aborted).toBe(true);
    expect(d.returned).toBe(true);
    expect(timed).toEqual([]);
    handoff.deferred!.cancel();
    expect(d.cancelled).toBe(true);
  });

  it('an initial result over the ceiling has nothing follow it', async () => {
    const d = deferred([part('a', false)]);
    const handoff = handoffOf(d);
    const { result, status, budget } = await execute({ data: { text: 'x'.repeat(300) } }, handoff);
    expect(result.data).toBeNull();
    expect(status).toBe(400);
    expect(handoff.deferred).toBeUndefined();
    expect(d.cancelled).toBe(true);
    expect(await d.subsequent.next()).toEqual({ done: true, value: undefined });
    expect(budget.signal.aborted).toBe(true);
  });
});

describe('deferMetrics', () => {
  it('observes the seconds to the first and to the last payload on the registry it is given', async () => {
    const registry = new Registry();
    const times = deferMetrics(registry);
    times(0.004, 0.3);
    const text = await registry.metrics();
    expect(text).toContain('ali_gateway_deferred_response_seconds_bucket{le="0.005",payload="first"} 1');
    expect(text).toContain('ali_gateway_deferred_response_seconds_bucket{le="0.25",payload="last"} 0');
    expect(text).toContain('ali_gateway_deferred_response_seconds_sum{payload="last"} 0.3');
    expect(text).toContain('ali_gateway_deferred_response_seconds_count{payload="first"} 1');
  });
});
