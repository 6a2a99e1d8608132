/**
 * The result tree of the lean executor (gateway/executor/results.ts), on its own: data merged in
 * as stock's `deepMerge` merges it, the entities at a plan path, and the paths and codes a
 * subgraph's errors get.
 */
import type { FetchNode } from '@apollo/query-planner';
import { describe, expect, it } from 'vitest';
import { deepMerge, downstreamServiceError, errorPathGenerator, mergeKeys, moveIntoCursor, type Cursor, type ErrorPathGenerator } from '../../gateway/executor/results.ts';

describe('deepMerge', () => {
  it('merges objects deeply, lists of the same length element by element, and replaces the rest', () => {
    const target = { a: { x: 1, y: { z: 1 } }, list: [{ id: 1 }, 2, null], short: [1, 2], keep: 'k', value: 'old' };
    deepMerge(target, { a: { y: { w: 2 }, v: 3 }, list: [{ name: 'n' }, 3, { late: true }], short: [9], value: 'new', skipped: undefined, nothing: null });
    expect(target).toEqual({ a: { x: 1, y: { z: 1, w: 2 }, v: 3 }, list: [{ id: 1, name: 'n' }, 3, { late: true }], short: [9], keep: 'k', value: 'new', nothing: null });
    expect('skipped' in target).toBe(false);
  });

  it('leaves the target as it is for a missing source, and merges an object into itself without change', () => {
    const target = { a: { b: 1 } };
    expect(deepMerge(target, undefined)).toBe(target);
    expect(deepMerge(target, null)).toBe(target);
    const shared = { b: 1 };
    const into = { a: shared };
    deepMerge(into, { a: shared });
    expect(into).toEqual({ a: { b: 1 } });
    // Nothing (null) or an object in the target and a value of another kind in the source: replaced.
    const mixed: Record<string, unknown> = { b: null, c: { d: 1 }, e: [1, 2] };
    deepMerge(mixed, { b: { y: 2 }, c: [1], e: 'x' });
    expect(mixed).toEqual({ b: { y: 2 }, c: [1], e: 'x' });
  });

  it('merges only the keys given (mergeKeys)', () => {
    const target = { a: 1 };
    mergeKeys(target, { a: 2, b: 3, c: 4 }, ['b']);
    expect(target).toEqual({ a: 1, b: 3 });
  });
});

describe('moveIntoCursor', () => {
  const data = {
    a: [{ b: [{ c: 1 }, { c: 2 }] }, { b: [] }, null, { b: [{ c: 3 }] }],
    one: { two: { three: 'x' } },
    grid: [[{ v: 1 }, { v: 2 }], [{ v: 3 }]],
  };
  const cursor: Cursor = { path: ['root'], data, fullResult: data };

  it('finds the objects at a path through lists, in order (a null element stays, as on stock)', () => {
    expect(moveIntoCursor(cursor, ['a', '@', 'b', '@'])).toEqual({ path: ['root', 'a', '@', 'b', '@'], data: [{ c: 1 }, { c: 2 }, null, { c: 3 }], fullResult: data });
    expect(moveIntoCursor(cursor, ['a', '@'])!.data).toEqual([{ b: [{ c: 1 }, { c: 2 }] }, { b: [] }, null, { b: [{ c: 3 }] }]);
    expect(moveIntoCursor(cursor, ['a', '@', 'b'])!.data).toEqual([{ c: 1 }, { c: 2 }, null, { c: 3 }]);
    expect(moveIntoCursor(cursor, ['one', 'two'])!.data).toEqual({ three: 'x' });
    expect(moveIntoCursor(cursor, ['grid', '@', '@'])!.data).toEqual([{ v: 1 }, { v: 2 }, { v: 3 }]);
    expect(moveIntoCursor(cursor, [])!.data).toBe(data);
  });

  it('has no cursor where nothing is, and refuses a path that does not fit the data', () => {
    expect(moveIntoCursor(cursor, ['missing', 'x'])).toBeUndefined();
    expect(moveIntoCursor(cursor, ['toString'])).toBeUndefined();
    expect(moveIntoCursor({ ...cursor, data: { a: null } }, ['a', '@'])).toBeUndefined();
    expect(() => moveIntoCursor(cursor, ['a', 'b'])).toThrow('Unexpected array in result for path element b');
    expect(() => moveIntoCursor(cursor, ['one', 0 as never])).toThrow('Unexpected number found in path');
  });
});

describe('errors of a subgraph', () => {
  const fetchNode = (requires: boolean) => ({ kind: 'Fetch', serviceName: 'reviews', ...(requires ? { requires: [] } : {}) }) as unknown as FetchNode;

  it('a root fetch’s error path is prefixed with the fetch’s path', () => {
    const generate = errorPathGenerator(fetchNode(false), { path: ['a', 'b'], data: {}, fullResult: {} });
    expect(generate(['x', 0, 'y'])).toEqual(['a', 'b', 'x', 0, 'y']);
    expect(generate(undefined)).toBeUndefined();
  });

  it('an entity fetch’s `_entities.<i>` path becomes the path of the i-th entity in the response', () => {
    const fullResult = { users: [{ reviews: [{ id: 'r1' }, { id: 'r2' }] }, { reviews: [{ id: 'r3' }] }] };
    const generate = errorPathGenerator(fetchNode(true), { path: ['users', '@', 'reviews', '@'], data: [], fullResult });
    expect(generate(['_entities', 2, 'body'])).toEqual(['users', 1, 'reviews', 0, 'body']);
    expect(generate(['_entities', 0])).toEqual(['users', 0, 'reviews', 0]);
    expect(generate(['_entities', 9, 'body'])).toEqual(['body']);
    // Not an entity position: prefixed as a root fetch's.
    expect(generate(['_entities', 'x'])).toEqual(['users', '@', 'reviews', '@', '_entities', 'x']);
  });

  it('keeps a known code, gives an unknown one as it is, and marks the rest DOWNSTREAM_SERVICE_ERROR; always names the subgraph', () => {
    const path: ErrorPathGenerator = (p) => p;
    const known = downstreamServiceError({ message: 'bad', extensions: { code: 'INVALID_GRAPHQL' } }, 'reviews', path);
    expect(known.extensions).toMatchObject({ code: 'INVALID_GRAPHQL', serviceName: 'reviews' });
    const unknown = downstreamServiceError({ message: 'nope', path: ['x'], extensions: { code: 'FORBIDDEN', reason: 'scope' } }, 'reviews', path);
    expect(unknown.toJSON()).toEqual({ message: 'nope', path: ['x'], extensions: { code: 'FORBIDDEN', reason: 'scope', serviceName: 'reviews' } });
    const none = downstreamServiceError({ message: '' }, 'reviews', path);
    expect(none.message).toBe('Error while fetching subquery from service "reviews"');
    expect(none.extensions).toMatchObject({ code: 'DOWNSTREAM_SERVICE_ERROR', serviceName: 'reviews' });
  });
});
