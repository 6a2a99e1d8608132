/**
 * An answer several requests share in flight (gateway/transport/sharing.ts) is parsed once: each
 * request gets a copy of the parsed value (the last the value itself), which must be what
 * JSON.parse would have given it, and its own to change.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Rng } from '../integration/differential/corpus.ts';
import { copyJson, parseAnswer, SharedBody, type RawResponse } from '../../gateway/transport/response.ts';
import { InFlightQueries, type ExchangeHooks } from '../../gateway/transport/sharing.ts';
import { RequestBudget } from '../../gateway/transport/budget.ts';


const KEYS = ['id', 'name', '__typename', '__proto__', 'constructor', 'toString', '0', '7', '10', '-1', '1.5', 'é', '', 'a b'];

function randomJson(next: () => number, depth: number): unknown {
  const r = next();
  if (depth <= 0 || r < 0.35) {
    const leaves = [null, true, false, 0, -0, 1.5, -1e21, 2 ** 53, 'text', '', '\u2028"\\', 'ünïcödé'];
    return leaves[Math.floor(next() * leaves.length)];
  }
  if (r < 0.55) return Array.from({ length: Math.floor(next() * 4) }, () => randomJson(next, depth - 1));
  const out: Record<string, unknown> = {};
  const n = Math.floor(next() * 6);
  for (let i = 0; i < n; i++) {
    const key = KEYS[Math.floor(next() * KEYS.length)]!;
    Object.defineProperty(out, key, { value: randomJson(next, depth - 1), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** Same structure as JSON.parse made it: own keys in order, prototypes, -0; and no object shared with `source`. */
function expectSameAsParsed(copy: unknown, parsed: unknown, source: Set<object>): void {
  if (typeof parsed !== 'object' || parsed === null) {
    expect(Object.is(copy, parsed)).toBe(true);
    return;
  }
  expect(typeof copy).toBe('object');
  expect(source.has(copy as object)).toBe(false);
  expect(Array.isArray(copy)).toBe(Array.isArray(parsed));
  expect(Object.getPrototypeOf(copy)).toBe(Object.getPrototypeOf(parsed));
  expect(Reflect.ownKeys(copy as object)).toEqual(Reflect.ownKeys(parsed));
  for (const key of Object.keys(parsed)) {
    expect(Object.getOwnPropertyDescriptor(copy, key)).toMatchObject({ enumerable: true, writable: true, configurable: true });
    expectSameAsParsed((copy as Record<string, unknown>)[key], (parsed as Record<string, unknown>)[key], source);
  }
}

function objectsOf(value: unknown, into = new Set<object>()): Set<object> {
  if (typeof value === 'object' && value !== null) {
    into.add(value);
    for (const v of Object.values(value)) objectsOf(v, into);
  }
  return into;
}

afterEach(() => vi.restoreAllMocks());

describe('copyJson', () => {
  it('gives what JSON.parse gives, for 2,000 random documents', () => {
    const random = new Rng(20261205);
    const next = () => random.next();
    for (let i = 0; i < 2000; i++) {
      const text = JSON.stringify(randomJson(next, 5));
      const parsed = JSON.parse(text) as unknown;
      const copy = copyJson(parsed);
      expectSameAsParsed(copy, JSON.parse(text), objectsOf(parsed));
      expect(JSON.stringify(copy)).toBe(text);
    }
  });

  it('keeps a __proto__ key an own property, without changing the prototype', () => {
    const copy = copyJson(JSON.parse('{"__proto__":{"polluted":true},"a":1}')) as Record<string, unknown>;
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect(Object.keys(copy)).toEqual(['__proto__', 'a']);
    expect((copy as { polluted?: boolean }).polluted).toBeUndefined();
  });
});

describe('SharedBody', () => {
  const body = '{"data":{"products":[{"upc":"1","reviews":[{"id":"r1"}]},{"upc":"2","reviews":[]}]}}';

  it('parses once for three takers, and each can change its own value without the others seeing it', () => {
    const parse = vi.spyOn(JSON, 'parse');
    const shared = new SharedBody(body, () => 3);
    const taken = [shared.take(), shared.take(), shared.take()] as { data: { products: { upc: string }[] } }[];
    expect(parse).toHaveBeenCalledTimes(1);
    taken.forEach((t, i) => (t.data.products[0]!.upc = `changed by ${i}`));
    expect(taken.map((t) => t.data.products[0]!.upc)).toEqual(['changed by 0', 'changed by 1', 'changed by 2']);
    expect(taken.map((t) => t.data.products[1])).toEqual([JSON.parse(body).data.products[1], JSON.parse(body).data.products[1], JSON.parse(body).data.products[1]]);
  });

  it('a taker beyond the count, once the value itself is handed out and changed, gets a fresh parse', () => {
    const shared = new SharedBody(body, () => 1);
    const first = shared.take() as { data: { products: unknown[] } };
    first.data.products.length = 0;
    expect(shared.take()).toEqual(JSON.parse(body));
  });

  it('parseAnswer parses an answer nobody shares', () => {
    const raw: RawResponse = { url: 'u', status: 200, statusText: 'OK', headers: [], body };
    expect(parseAnswer(raw)).toEqual(JSON.parse(body));
  });
});

describe('an exchange shared in flight', () => {
  function controllable() {
    let finish!: (r: RawResponse) => void;
    const send = (_hooks: ExchangeHooks) => new Promise<RawResponse>((resolve) => (finish = resolve));
    return { send, end: (body: string) => finish({ url: 'u', status: 200, statusText: 'OK', headers: [], body }) };
  }

  it('parses the answer once for every request that waited for it, those that gave up not counted', async () => {
    const x = controllable();
    const queries = new InFlightQueries();
    const quitter = new RequestBudget({ maxResponseBytes: 10, deadlineMs: 10_000 });
    const waiting = [queries.share('u', {}, 'q', x.send, undefined), queries.share('u', {}, 'q', x.send, undefined)];
    const gaveUp = queries.share('u', {}, 'q', x.send, quitter);
    quitter.cancel();
    quitter.end();
    await expect(gaveUp).rejects.toBeDefined();
    const parse = vi.spyOn(JSON, 'parse');
    x.end('{"data":{"n":[1,2,3]}}');
    const answers = await Promise.all(waiting);
    const values = answers.map((raw) => parseAnswer(raw) as { data: { n: number[] } });
    expect(parse).toHaveBeenCalledTimes(1);
    values[0]!.data.n.push(4);
    expect(values[1]!.data.n).toEqual([1, 2, 3]);
    // The second was the last of two takers (the one that gave up not counted): it got the parsed
    // value itself, so a taker beyond the count parses again.
    expect(parseAnswer(answers[0]!)).toEqual({ data: { n: [1, 2, 3] } });
    expect(parse).toHaveBeenCalledTimes(2);
  });
});

describe('an answer nested deeper than the copy recurses', () => {
  it('is parsed again for each taker rather than failing', () => {
    const depth = 200_000;
    const body = `{"data":${'['.repeat(depth)}1${']'.repeat(depth)}}`;
    const shared = new SharedBody(body, () => 2);
    expect(() => copyJson(JSON.parse(body))).toThrow(RangeError);
    let thrown: unknown;
    let distinct = false;
    try {
      const first = shared.take() as { data: unknown[] };
      const second = shared.take() as { data: unknown[] };
      distinct = first.data !== second.data && Array.isArray(first.data[0]) && Array.isArray(second.data[0]);
    } catch (err) {
      thrown = err; // not given to expect: printing a value this deep overflows too
    }
    expect(thrown === undefined && distinct).toBe(true);
  });
});
