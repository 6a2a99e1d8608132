import { describe, expect, it } from 'vitest';
import { groupByKeys, orderByKeys } from '../../lib/loaders.ts';

describe('batch result ordering', () => {
  it('returns items in key order with null for misses, duplicates included', () => {
    const items = [{ id: 'b' }, { id: 'a' }];
    expect(orderByKeys(['a', 'x', 'b', 'a'], items, (i) => i.id)).toEqual([{ id: 'a' }, null, { id: 'b' }, { id: 'a' }]);
  });

  it('groups items by key in key order with [] for keys with none', () => {
    const items = [{ k: 1, v: 'x' }, { k: 2, v: 'y' }, { k: 1, v: 'z' }];
    expect(groupByKeys([2, 3, 1], items, (i) => i.k)).toEqual([[{ k: 2, v: 'y' }], [], [{ k: 1, v: 'x' }, { k: 1, v: 'z' }]]);
  });
});
