/**
 * The parts of the execution limits that need no server: the size of a result as it will be
 * serialised, a request's budget, the requests sharing one subgraph exchange (one request's
 * ceiling never fails another), and a circuit breaker whose probe the gateway cancelled.
 */
import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { boundedResult, jsonBytes } from '../../gateway/executor/ceilings.ts';
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

  it('replaces a result over the ceiling with one RESPONSE_TOO_LARGE error', () => {
    const result = { data: { text: 'x'.repeat(500) } };
    expect(boundedResult(result, 1000)).toBe(result);
    const bounded = boundedResult(result, 100) as { data: unknown; errors: GraphQLError[] };
    expect(bounded.data).toBeNull();
    expect(bounded.errors.map((e) => e.extensions['code'])).toEqual(['RESPONSE_TOO_LARGE']);
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
