/**
 * The lean executor's response shaping (gateway/executor/shape.ts) against stock's own
 * `computeResponse`, value by value: for every field of one operation, each value a subgraph could
 * send (right, wrong type, null, missing, an unknown or non-string `__typename`, a list where an
 * object belongs and the other way round), under `@skip`/`@include` with every variable value,
 * the data and the post-processing errors (message, path, code) must be stock's. Where stock's
 * own walk would fail an assertion, the lean one hands the input to stock, so even those answers
 * are stock's. Written to kill the mutants of shape.ts that the in-process suites left alive
 * (docs/testing.md, "Mutation testing").
 */
import { buildSchema, operationFromDocument } from '@apollo/federation-internals';
import { parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { computeResponse } from '../../gateway/apollo/internals.ts';
import { compileSelection, compileShape } from '../../gateway/executor/compileShape.ts';
import { boundedResult } from '../../gateway/executor/ceilings.ts';
import { shapeResponse, shapedBytesBound, shapeSelection } from '../../gateway/executor/shape.ts';
import { fastShaper } from '../../gateway/executor/shapeFast.ts';

const schema = buildSchema(`
  type Query {
    i: Int
    f: Float
    b: Boolean
    s: String
    id: ID
    e: E
    c: JSON
    ni: Int!
    t: T
    nt: T!
    ts: [T!]
    grid: [[Int]]
    u: U
    node: Node
  }
  scalar JSON
  enum E { A B }
  interface Node { id: ID! }
  type T implements Node { id: ID! n: Int name: String! }
  type V implements Node { id: ID! w: Int }
  union U = T | V
`);

const QUERY = `query($yes: Boolean!, $no: Boolean = false) {
  i f b s id e c
  alias: i
  t { __typename id n name }
  ts { id n }
  grid
  u { __typename ... on T { id name } ... on V { w } }
  node { id ... on V { w } }
  skipped: s @skip(if: $yes)
  kept: s @include(if: $yes)
  defaulted: s @include(if: $no)
  literal: s @skip(if: false)
  dropped: s @include(if: false)
  ... on Query @include(if: $yes) { ni }
}`;

const operation = operationFromDocument(schema, parse(QUERY));
const shape = compileShape(operation);

/** A subgraph answer every field of which is right. */
const BASE: Record<string, unknown> = {
  i: 1, f: 1.5, b: true, s: 'x', id: '7', e: 'A', c: { any: [1] }, alias: 2, ni: 3,
  t: { __typename: 'T', id: 't1', n: 1, name: 'one' },
  ts: [{ id: 't2', n: 2 }],
  grid: [[1, null], []],
  u: { __typename: 'V', w: 4 },
  node: { __typename: 'V', id: 'v1', w: 5 },
  skipped: 's1', kept: 's2', defaulted: 's3', literal: 's4', dropped: 's5',
};

/** Values to try in each field's place (undefined: the field missing). */
const VALUES: Record<string, unknown[]> = {
  i: [undefined, null, 2, -3, 1.5, '12', '-0', '012', 'x', true, { a: 1 }, [1], -0, 1e20, 1e21, -1e21, 2 ** 53, 123456789012345678901, 1e-7, -1.5e300],
  f: [undefined, null, 2, 2.5, '2.5', false],
  b: [undefined, null, false, 'true', 0],
  s: [undefined, null, '', 5, true, { a: 1 }, 'é', '€𝄞', '\u0001\n"\\', '\ud800', '\u007f\u2028'],
  id: [undefined, null, 'a', 7, 7.5, '08', false, -0, 999999999999999999999, 1e21, 5e-324],
  e: [undefined, null, 'B', 'C', 1],
  c: [undefined, null, 1, 'str', [1, { a: 2 }], '\u0000'.repeat(3)],
  ni: [undefined, null, 4, 'x'],
  t: [undefined, null, 'not an object', [{ id: 't' }], {}, { __typename: 'T', id: 't', name: null }, { __typename: 'V', id: 'v' }, { __typename: 'Nope', id: 't' }, { __typename: 5 }, { __typename: 'E' }, { id: 't', n: '1', name: 'n' }],
  ts: [undefined, null, [], [null], [{ id: 'a' }, { id: 'b', n: 'x' }], { id: 'not a list' }, ['x']],
  grid: [undefined, null, [[]], [[1, 'x']], [1], [[[1]]]],
  u: [undefined, null, { __typename: 'T', id: 'u', name: 'n' }, { __typename: 'T', id: 'u' }, { __typename: 'Node' }, { __typename: 'Nope' }, { w: 1 }],
  node: [undefined, null, { __typename: 'T', id: 'n1', name: 'n' }, { __typename: 'V', id: 'n2' }, { id: 'n3' }, { __typename: 'Node', id: 'n4' }],
  skipped: [undefined, null, 1],
  kept: [undefined, null, 1],
};

const VARIABLES: Record<string, unknown>[] = [{ yes: true }, { yes: false }, { yes: true, no: true }, {}];

/** An answer as a client gets it: data as JSON text (key order kept), errors' message, path and code. */
function comparable(result: { data?: unknown; errors?: readonly { message: string; path?: readonly unknown[]; extensions?: Record<string, unknown> }[] | undefined }): string {
  const errors = (result.errors ?? []).map((e) => ({ message: e.message, path: e.path, code: e.extensions?.['code'] }));
  return JSON.stringify({ data: result.data ?? null, errors });
}

function stock(input: Record<string, unknown>, variables: Record<string, unknown>, op = operation): string {
  try {
    const r = computeResponse({ operation: op, variables, input, introspectionHandling: () => null as never });
    return comparable({ data: r.data, errors: r.errors });
  } catch (err) {
    return `throws ${(err as Error).message}`;
  }
}

/** Shaped data that came with a bound of its JSON bytes, and the bytes it has. */
const bounded: { bound: number; bytes: number }[] = [];

/** Answers the generated shaper completed (the general walk shaped the others). */
let fastCompleted = 0;

function lean(input: Record<string, unknown>, variables: Record<string, unknown>, compiled = shape): string {
  let result: ReturnType<typeof shapeResponse>;
  try {
    if (fastShaper(compiled, variables)?.run(input)) fastCompleted++;
    result = shapeResponse(compiled, input, variables);
  } catch (err) {
    return `throws ${(err as Error).message}`;
  }
  const bound = result.data ? shapedBytesBound(result.data) : undefined;
  if (bound !== undefined) bounded.push({ bound, bytes: Buffer.byteLength(JSON.stringify(result.data)) });
  return comparable(result);
}

describe('shapeResponse gives stock computeResponse answer', () => {
  for (const [field, values] of Object.entries(VALUES)) {
    it(`for every value of ${field}, under every variable value`, () => {
      for (const value of values) {
        for (const variables of VARIABLES) {
          const input = { ...BASE };
          if (value === undefined) delete input[field];
          else input[field] = value;
          expect(lean(input, variables), `${field} = ${JSON.stringify(value)}, variables ${JSON.stringify(variables)}`).toBe(stock(input, variables));
        }
      }
    });
  }

  it('for the right answer, and for an empty one', () => {
    for (const variables of VARIABLES) {
      expect(lean(BASE, variables)).toBe(stock(BASE, variables));
      expect(lean({}, variables)).toBe(stock({}, variables));
    }
    // The right answer comes back whole, in selection order, without errors, from the generated shaper.
    fastCompleted = 0;
    expect(JSON.parse(lean(BASE, { yes: true })).errors).toEqual([]);
    expect(fastCompleted).toBe(1);
    // It gives up where a condition's variable has no boolean value (the general walk asserts, as stock does).
    expect(fastShaper(shape, {})).toBeUndefined();
    expect(Object.keys(JSON.parse(lean(BASE, { yes: true })).data)).toEqual(['i', 'f', 'b', 's', 'id', 'e', 'c', 'alias', 't', 'ts', 'grid', 'u', 'node', 'kept', 'literal', 'ni']);
  });
});

describe('the generated shaper (gateway/executor/shapeFast.ts) and the general walk give stock answers', () => {
  // Response names selected twice (merged), fragments within fragments on an interface (applied
  // by `__typename`, or without one by the type they stand in), an aliased `__typename`, a
  // condition on a fragment, lists of objects and of lists.
  const QUERY2 = `query($yes: Boolean!) {
    t { id ... on Node { id __typename ... on T { name n } } tt: __typename }
    node { __typename id ... on T { name t2: name } ... on V { w } ... on Node { id } }
    u { ... on T { id n } ... on T @include(if: $yes) { name } ... on V { w kind: __typename } }
    ts { id n }
    ts2: ts { id ... on T { name } ... on Node { ... on T { n } } }
    t { n name }
    nt { name }
    grid
    e
  }`;
  const operation2 = operationFromDocument(schema, parse(QUERY2));
  const shape2 = compileShape(operation2);

  /** A pseudo-random answer: mostly well-formed, sometimes a value missing, null, of the wrong type or with another `__typename`. */
  function answer(next: () => number): Record<string, unknown> {
    const pick = <T,>(good: T, ...bad: unknown[]): unknown => (next() < 0.93 ? good : bad[Math.floor(next() * bad.length)]);
    const typename = (good: string) => pick(good, undefined, 'V', 'T', 'Node', 'Nope', 5);
    const tObject = (): unknown =>
      pick({ __typename: typename('T'), id: pick(`t${Math.floor(next() * 9)}`, null, 3, undefined), n: pick(Math.floor(next() * 5), null, 'x', 1.5), name: pick('n', null, 4), tt: pick('T', undefined, 'V'), t2: pick('m', undefined) }, null, 'str', [], undefined);
    const vObject = (): unknown => pick({ __typename: typename('V'), id: pick('v1', null), w: pick(2, null, '2'), kind: pick('V', undefined) }, null, undefined);
    const list = (make: () => unknown) => pick(Array.from({ length: Math.floor(next() * 4) }, make), null, {}, undefined, [undefined]);
    return {
      t: tObject(),
      node: next() < 0.5 ? tObject() : vObject(),
      u: next() < 0.5 ? tObject() : vObject(),
      ts: list(tObject),
      ts2: list(tObject),
      nt: pick({ name: pick('x', null) }, null),
      grid: pick([[1, null], []], [[1.5]], [1], null),
      e: pick('A', 'C', null),
    };
  }

  it('on 3,000 answers, most of them completed by the generated shaper', () => {
    let seed = 7;
    const next = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    fastCompleted = 0;
    for (let i = 0; i < 3000; i++) {
      const input = answer(next);
      const variables = { yes: i % 3 !== 0 };
      expect(lean(input, variables, shape2), JSON.stringify({ input, variables })).toBe(stock(input, variables, operation2));
    }
    expect(fastCompleted).toBeGreaterThan(300);
    expect(fastCompleted).toBeLessThan(3000);
  });
});

describe('the bound of the JSON bytes of shaped data (the response-size ceiling skips its walk under it)', () => {
  it('is at least the bytes of every answer shaped above, and finite whenever no custom scalar holds an object', () => {
    for (const value of VALUES['s']!) for (const variables of VARIABLES) lean({ ...BASE, c: 'scalar', s: value }, variables);
    lean({ ...BASE, c: { nested: ['object'] } }, { yes: true });
    // Answers made mostly of one kind of value, so that no slack elsewhere hides a wrong count.
    for (const s of ['\u0001'.repeat(3000), '"'.repeat(3000), '€'.repeat(3000), '\ud800'.repeat(3000)]) lean({ ...BASE, c: null, s }, { yes: true });
    lean({ ...BASE, c: null, grid: [new Array(3000).fill(null)] }, { yes: true });
    lean({ ...BASE, c: null, grid: [new Array(3000).fill(-1234567)] }, { yes: true });
    lean({ ...BASE, c: null, ts: new Array(1000).fill({ id: '', n: null }) }, { yes: true });
    expect(bounded.length).toBeGreaterThan(100);
    expect(bounded.at(-1)!.bytes).toBeGreaterThan(10_000);
    for (const { bound, bytes } of bounded) expect(bound).toBeGreaterThanOrEqual(bytes);
    const finite = bounded.filter((b) => Number.isFinite(b.bound));
    expect(finite.length).toBeGreaterThan(20);
    expect(bounded.some((b) => b.bound === Infinity)).toBe(true);
  });
});

describe('the response-size ceiling over shaped data', () => {
  it('passes an answer under its bound without a walk, walks one between its size and its bound, replaces a larger one', () => {
    const result = shapeResponse(shape, { ...BASE, c: null, s: '\u0001'.repeat(1000) }, { yes: true });
    const bound = shapedBytesBound(result.data!)!;
    const bytes = Buffer.byteLength(JSON.stringify(result));
    expect(bound).toBeGreaterThan(bytes);
    expect(boundedResult(result, bound + 100)).toBe(result);
    expect(boundedResult(result, bytes)).toBe(result);
    expect(boundedResult(result, bytes - 1)).toMatchObject({ data: null, errors: [{ extensions: { code: 'RESPONSE_TOO_LARGE' } }] });
    // Errors count on top of the bound.
    const withErrors = { ...result, errors: [{ message: 'x'.repeat(500) }] };
    expect(boundedResult(withErrors, Buffer.byteLength(JSON.stringify(withErrors)) - 1)).not.toBe(withErrors);
  });
});

describe('shapeSelection (a deferred part)', () => {
  const T = schema.type('T') as never;
  const set = compileSelection(schema, operation.selectionSet.selections().find((s) => s.element.kind === 'Field' && s.element.name === 't')!.selectionSet!);

  it('shapes the part as the whole response shapes it, and nulls only the part on a non-null violation', () => {
    const good = { __typename: 'T', id: 't1', n: 1, name: 'one' };
    expect(shapeSelection(shape, set, T, good, ['t'], {})).toEqual({ data: { __typename: 'T', id: 't1', n: 1, name: 'one' }, errors: [] });
    const missing = shapeSelection(shape, set, T, { __typename: 'T', id: 't1', n: 1, name: null }, ['t'], {});
    expect(missing.data).toBeNull();
    expect(missing.errors.map((e) => [e.message, e.path])).toEqual([['Cannot return null for non-nullable field T.name.', ['t', 'name']]]);
  });

  it('answers a part stock would fail an assertion on with null data and an error', () => {
    // A `__typename` that is not a string, or a variable of a condition with no value: stock's walk asserts.
    const root = compileSelection(schema, operation.selectionSet);
    const Query = schema.type('Query') as never;
    for (const [input, variables] of [[{ ...BASE, t: { __typename: 5 } }, { yes: true }], [BASE, {}]] as const) {
      expect(stock(input, variables)).toMatch(/^throws /);
      const bad = shapeSelection(shape, root, Query, input, ['part'], variables);
      expect(bad.data).toBeNull();
      expect(bad.errors.map((e) => [e.message, e.path])).toEqual([['Invalid data found for a deferred fragment.', ['part']]]);
    }
  });
});
