import { describe, expect, it } from 'vitest';
import type { GraphQLError } from 'graphql';
import { afterFilter, decodeCursor, encodeCursor, ordering, pageSize, toConnection } from '../../lib/pagination.ts';

const byName = ordering('NAME_ASC', ['nameKey', 1]);
const byValue = ordering('VALUE_DESC', ['value', -1], ['_id', -1]);

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return (err as GraphQLError).extensions?.code as string;
  }
  return undefined;
}

describe('cursors', () => {
  it('round-trips values, including exact Int64 money', () => {
    expect(byName.fields).toEqual([['nameKey', 1], ['_id', 1]]);
    const c = encodeCursor(byName, ['mondovi', '004143']);
    expect(decodeCursor(byName, c)).toEqual(['mondovi', '004143']);
    const big = encodeCursor(byValue, [9007199254740993n, 'x']);
    expect(decodeCursor(byValue, big)).toEqual([9007199254740993n, 'x']);
  });

  it('rejects cursors that are malformed or belong to another ordering', () => {
    const other = encodeCursor(byValue, [1, 'x']);
    expect(codeOf(() => decodeCursor(byName, other))).toBe('INVALID_CURSOR');
    for (const bad of ['', 'not a cursor!', 'e30', Buffer.from('[1,2,3]').toString('base64url'), Buffer.from('["NAME_ASC",{"x":1},"a"]').toString('base64url')]) {
      expect(codeOf(() => decodeCursor(byName, bad)), bad).toBe('INVALID_CURSOR');
    }
  });

  it('checks page sizes against the limits', () => {
    const limits = { defaultSize: 20, maxSize: 100 };
    expect(pageSize({}, limits)).toBe(20);
    expect(pageSize({ first: 100 }, limits)).toBe(100);
    for (const first of [0, -1, 101]) expect(codeOf(() => pageSize({ first }, limits))).toBe('PAGE_SIZE_OUT_OF_RANGE');
  });

  it('builds keyset filters that respect each direction', () => {
    expect(afterFilter(byValue, [5n, 'b'])).toEqual({ $or: [{ value: { $lt: 5n } }, { value: 5n, _id: { $lt: 'b' } }] });
  });

  it('reports hasNextPage from the extra document', async () => {
    const docs = [{ _id: 'a', nameKey: 'a' }, { _id: 'b', nameKey: 'b' }, { _id: 'c', nameKey: 'c' }];
    const conn = toConnection(docs, 2, byName, false, async () => 3);
    expect(conn.nodes.map((d) => d._id)).toEqual(['a', 'b']);
    expect(conn.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
    expect(decodeCursor(byName, conn.pageInfo.endCursor!)).toEqual(['b', 'b']);
    expect(toConnection(docs, 3, byName, true, async () => 3).pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true });
    expect(await conn.totalCount()).toBe(3);
  });
});
