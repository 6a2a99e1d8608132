/**
 * The representations the lean executor sends for an `_entities` fetch (gateway/executor/requires.ts),
 * on their own: one per entity as stock's `executeSelectionSet` builds it, each distinct one once,
 * entities whose type the `requires` do not apply to or whose key is incomplete left out, and the
 * fetch's input rewrites applied.
 */
import type { FetchNode, QueryPlanSelectionNode } from '@apollo/query-planner';
import { buildSchema } from 'graphql';
import { describe, expect, it } from 'vitest';
import { compileRequires, representEntities } from '../../gateway/executor/requires.ts';

const schema = buildSchema(`
  type Query { products: [Product] }
  interface Item { id: ID! }
  type Product implements Item { id: ID! upc: String! dims: Dims tags: [String] }
  type Book implements Item { id: ID! isbn: String! }
  type Dims { length: Int width: Int }
  union Thing = Product | Book
`);

const field = (name: string, selections?: QueryPlanSelectionNode[], alias?: string): QueryPlanSelectionNode =>
  ({ kind: 'Field', name, ...(alias ? { alias } : {}), ...(selections ? { selections } : {}) }) as QueryPlanSelectionNode;
const on = (typeCondition: string | undefined, selections: QueryPlanSelectionNode[]): QueryPlanSelectionNode =>
  ({ kind: 'InlineFragment', ...(typeCondition ? { typeCondition } : {}), selections }) as QueryPlanSelectionNode;
const fetch = (inputRewrites?: unknown[]) => ({ kind: 'Fetch', serviceName: 's', ...(inputRewrites ? { inputRewrites } : {}) }) as unknown as FetchNode;

/** The representations sent, and for each entity the index of its representation (-1: none). */
function represent(requires: QueryPlanSelectionNode[], entities: Record<string, unknown>[], rewrites?: unknown[]) {
  const { distinct, typenames } = representEntities(schema, fetch(rewrites), compileRequires(requires), entities);
  return { sent: distinct.unique, indexOf: [...distinct.indexOf], typenames };
}

describe('flat requires (`... on T { __typename k }`): keyed by the key fields’ values', () => {
  const byUpc = [on('Product', [field('__typename'), field('upc')])];

  it('sends each distinct key once and maps every entity to its representation', () => {
    const r = represent(byUpc, [
      { __typename: 'Product', upc: 'a', name: 'x' },
      { __typename: 'Product', upc: 'b' },
      { __typename: 'Product', upc: 'a', name: 'y' },
    ]);
    expect(r.sent).toEqual([
      { __typename: 'Product', upc: 'a' },
      { __typename: 'Product', upc: 'b' },
    ]);
    expect(r.indexOf).toEqual([0, 1, 0]);
    expect(r.typenames).toEqual(['Product', 'Product']);
  });

  it('tells values of different types apart, and compares objects by their JSON', () => {
    const r = represent(byUpc, [
      { __typename: 'Product', upc: '1' },
      { __typename: 'Product', upc: 1 },
      { __typename: 'Product', upc: null },
      { __typename: 'Product', upc: 'null' },
      { __typename: 'Product', upc: { a: 1 } },
      { __typename: 'Product', upc: { a: 1 } },
      { __typename: 'Product', upc: '{"a":1}' },
      { __typename: 'Product', upc: [1] },
      { __typename: 'Product', upc: true },
    ]);
    expect(r.indexOf).toEqual([0, 1, 2, 3, 4, 4, 5, 6, 7]);
  });

  it('keys on every field, in order', () => {
    const r = represent(
      [on('Product', [field('__typename'), field('id'), field('upc')])],
      [
        { __typename: 'Product', id: '1', upc: 'a' },
        { __typename: 'Product', id: '1', upc: 'b' },
        { __typename: 'Product', id: '2', upc: 'a' },
        { __typename: 'Product', id: '1', upc: 'a' },
      ],
    );
    expect(r.sent).toEqual([
      { __typename: 'Product', id: '1', upc: 'a' },
      { __typename: 'Product', id: '1', upc: 'b' },
      { __typename: 'Product', id: '2', upc: 'a' },
    ]);
    expect(r.indexOf).toEqual([0, 1, 2, 0]);
  });

  it('builds each representation as stock does: the fragment’s field order, whatever the entity’s, lists copied', () => {
    const tags = ['x', 'y'];
    const entity = { tags, upc: 'a', extra: 1, __typename: 'Product' };
    const flat = represent([on('Product', [field('__typename'), field('upc'), field('tags')])], [entity]);
    // The same fragment with a nested selection is not flat: stock's general path builds it.
    const general = represent([on('Product', [field('__typename'), field('upc'), field('tags'), field('dims', [field('length')])])], [{ ...entity, dims: null }]);
    expect(JSON.stringify(flat.sent)).toBe('[{"__typename":"Product","upc":"a","tags":["x","y"]}]');
    expect(JSON.stringify(general.sent)).toBe('[{"__typename":"Product","upc":"a","tags":["x","y"],"dims":null}]');
    expect((flat.sent[0] as { tags: string[] }).tags).not.toBe(tags);
    expect((general.sent[0] as { tags: string[] }).tags).not.toBe(tags);
  });

  it('leaves out entities of another type, without a type, or missing a key field', () => {
    const r = represent(byUpc, [{ __typename: 'Book', upc: 'a' }, { upc: 'a' }, { __typename: 'Product' }, { __typename: 'Product', upc: undefined }, { __typename: 'Product', upc: 'c' }]);
    expect(r.sent).toEqual([{ __typename: 'Product', upc: 'c' }]);
    expect(r.indexOf).toEqual([-1, -1, -1, -1, 0]);
  });

  it('applies a condition on an interface or a union to the types it has, and only to them', () => {
    for (const condition of ['Item', 'Thing']) {
      const r = represent(
        [on(condition, [field('__typename'), field('id')])],
        [{ __typename: 'Book', id: 'b' }, { __typename: 'Product', id: 'p' }, { __typename: 'Dims', id: 'd' }, { __typename: 'Nope', id: 'n' }, { __typename: 'Book', id: 'b' }],
      );
      expect(r.indexOf, condition).toEqual([0, 1, -1, -1, 0]);
    }
  });

  it('applies the fetch’s input rewrites to each representation sent', () => {
    const rewrite = { kind: 'ValueSetter', path: ['... on Product', '__typename'], setValueTo: 'Item' };
    const r = represent(byUpc, [{ __typename: 'Product', upc: 'a' }, { __typename: 'Product', upc: 'a' }], [rewrite]);
    expect(r.sent).toEqual([{ __typename: 'Item', upc: 'a' }]);
    expect(r.typenames).toEqual(['Product']);
  });
});

describe('other requires: the representation built, then compared whole', () => {
  it('selects nested objects and lists, under aliases, as stock does', () => {
    const requires = [on('Product', [field('__typename'), field('id'), field('dims', [field('length')]), field('tags'), field('upc', undefined, 'code')])];
    const r = represent(requires, [
      { __typename: 'Product', id: '1', dims: { length: 2, width: 3 }, tags: ['x'], code: 'a', upc: 'ignored' },
      { __typename: 'Product', id: '1', dims: { length: 2, width: 9 }, tags: ['x'], code: 'a' },
      { __typename: 'Product', id: '2', dims: null, tags: null, code: 'b' },
      { __typename: 'Product', id: '3', dims: [{ length: 1, width: 1 }, null], tags: [], code: 'c' },
    ]);
    expect(r.sent).toEqual([
      { __typename: 'Product', id: '1', dims: { length: 2 }, tags: ['x'], code: 'a' },
      { __typename: 'Product', id: '2', dims: null, tags: null, code: 'b' },
      { __typename: 'Product', id: '3', dims: [{ length: 1 }, null], tags: [], code: 'c' },
    ]);
    expect(r.indexOf).toEqual([0, 0, 1, 2]);
  });

  it('leaves out an entity missing a field (also inherited or nested), and one whose representation has no __typename', () => {
    const requires = [on('Product', [field('__typename'), field('id'), field('dims', [field('length')])])];
    const inherited = Object.assign(Object.create({ dims: { length: 1 } }), { __typename: 'Product', id: '9' });
    const r = represent(requires, [{ __typename: 'Product', id: '1' }, inherited, { __typename: 'Product', id: '2', dims: {} }, { __typename: 'Product', id: '3', dims: { length: 4 } }]);
    expect(r.sent).toEqual([
      { __typename: 'Product', id: '2', dims: null },
      { __typename: 'Product', id: '3', dims: { length: 4 } },
    ]);
    expect(r.indexOf).toEqual([-1, -1, 0, 1]);
    expect(represent([on('Product', [field('id'), field('upc', [field('x')])])], [{ __typename: 'Product', id: '1', upc: { x: 1 } }]).sent).toEqual([]);
  });

  it('merges several fragments, skips one without a type condition, and one that does not apply', () => {
    const requires = [on(undefined, [field('upc')]), on('Product', [field('__typename'), field('id')]), on('Book', [field('isbn')]), on('Item', [field('id')])];
    const r = represent(requires, [{ __typename: 'Product', id: '1', upc: 'u', isbn: 'no' }]);
    expect(r.sent).toEqual([{ __typename: 'Product', id: '1' }]);
  });

  it('keys: a flat fragment needs __typename and leaf fields only, else representations are compared whole', () => {
    // Without __typename the fragment is not flat: no representation has a type, none is sent.
    expect(represent([on('Product', [field('id')])], [{ __typename: 'Product', id: '1' }]).sent).toEqual([]);
    // Two top-level selections: compared whole, duplicates still sent once.
    const two = represent([on('Product', [field('__typename'), field('id')]), on('Product', [field('upc')])], [
      { __typename: 'Product', id: '1', upc: 'a' },
      { __typename: 'Product', id: '1', upc: 'a' },
    ]);
    expect(two.sent).toEqual([{ __typename: 'Product', id: '1', upc: 'a' }]);
    expect(two.indexOf).toEqual([0, 0]);
  });
});
