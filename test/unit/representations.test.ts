/**
 * DistinctRepresentations (gateway/transport/representations.ts), the one de-duplication of
 * `_entities` representations that the lean executor and the transport share: which are kept, and
 * how the answer and the errors for the distinct ones go back to every position.
 */
import { describe, expect, it } from 'vitest';
import { DistinctRepresentations, isDistinct } from '../../gateway/transport/representations.ts';

const rep = (id: string) => ({ __typename: 'Alliance', id });

describe('DistinctRepresentations', () => {
  it('keeps each representation once, whatever the order of its keys, and remembers every position', () => {
    const distinct = DistinctRepresentations.of([rep('cn'), { id: 'to', __typename: 'Alliance' }, { id: 'cn', __typename: 'Alliance' }, rep('to'), rep('vc')]);
    expect(distinct.unique).toEqual([rep('cn'), { id: 'to', __typename: 'Alliance' }, rep('vc')]);
    expect(distinct.indexOf).toEqual([0, 1, 0, 1, 2]);
    expect(distinct.count).toBe(5);
    expect(distinct.hasDuplicates).toBe(true);
    expect(distinct.positions()).toEqual([[0, 2], [1, 3], [4]]);
    expect(isDistinct(distinct.unique)).toBe(true);
    expect(isDistinct([rep('cn')])).toBe(false);
  });

  it('counts positions only over the items that have a representation', () => {
    const distinct = new DistinctRepresentations();
    distinct.push(rep('a'));
    distinct.skip();
    distinct.repeat(0);
    distinct.push(rep('b'));
    expect(distinct.indexOf).toEqual([0, -1, 0, 1]);
    expect(distinct.count).toBe(3);
    expect(distinct.positions()).toEqual([[0, 1], [2]]);
  });

  it('puts an error on a shared representation at each of its positions, in position order, others first', () => {
    const distinct = DistinctRepresentations.of([rep('a'), rep('b'), rep('a'), rep('b')]);
    const errors = distinct.expandErrors([
      { message: 'b failed', path: ['_entities', 1, 'budget'] },
      { message: 'a failed', path: ['_entities', 0] },
      { message: 'no path' },
    ]);
    expect(errors).toEqual([
      { message: 'no path' },
      { message: 'a failed', path: ['_entities', 0] },
      { message: 'b failed', path: ['_entities', 1, 'budget'] },
      { message: 'a failed', path: ['_entities', 2] },
      { message: 'b failed', path: ['_entities', 3, 'budget'] },
    ]);
  });

  it('answers every position with an object of its own', () => {
    const distinct = DistinctRepresentations.of([rep('a'), rep('b'), rep('a')]);
    const answers = [{ budget: { amount: '1' } }, null];
    const expanded = distinct.expandEntities(answers) as ({ budget: { amount: string } } | null)[];
    expect(expanded).toEqual([{ budget: { amount: '1' } }, null, { budget: { amount: '1' } }]);
    expect(expanded[0]).toBe(answers[0]);
    expect(expanded[2]).not.toBe(expanded[0]);
    expect(expanded[2]!.budget).not.toBe(expanded[0]!.budget);
  });
});
