/**
 * Keys declared `resolvable: false`: an entity with several keys in one subgraph, only one of them
 * resolvable there, whose `@requires` sends the planner back into that subgraph after fetching the
 * required field (the federation spec: a subgraph is only entered through a key it resolves); and
 * an `@interfaceObject` with `@requires`, whose way back is the interface's key in the subgraph
 * that never sees the concrete types (the case that simply dropping non-resolvable keys breaks).
 */
import type { DifferentialCase, SubgraphDef } from '../harness.ts';
import { fed2 } from '../harness.ts';

interface Item {
  id: string;
  sku: string;
  code: { region: string; serial: string };
  name: string;
}

const ITEMS: Record<string, Item> = {
  i1: { id: 'i1', sku: 'SKU-1', code: { region: 'north', serial: '0001' }, name: 'Lamp' },
  i2: { id: 'i2', sku: 'SKU-2', code: { region: 'north', serial: '0002' }, name: 'Desk' },
  i3: { id: 'i3', sku: 'SKU-3', code: { region: 'south', serial: '0001' }, name: 'Chair' },
};
const SHELVES = [
  { id: 's1', items: ['i1', 'i2'] },
  { id: 's2', items: ['i3'] },
  { id: 's3', items: [] },
];
const BOOKS = [
  { id: 'b1', title: 'Dune', pages: 412 },
  { id: 'b2', title: 'Emma', pages: 474 },
];

/** Resolves items by `id` only: its other keys are declared non-resolvable. */
export const catalog: SubgraphDef = {
  name: 'catalog',
  typeDefs: `${fed2(['@key', '@shareable'])}
    type Query { books: [Book!]! }
    type Item @key(fields: "id") @key(fields: "sku", resolvable: false) @key(fields: "code { region serial }", resolvable: false) {
      id: ID!
      sku: ID!
      code: Code!
      name: String!
    }
    type Code @shareable { region: String! serial: String! }
    interface Media @key(fields: "id") { id: ID! title: String }
    type Book implements Media @key(fields: "id") { id: ID! title: String pages: Int }`,
  resolvers: {
    Query: { books: () => BOOKS },
    Item: { __resolveReference: (ref: { id?: string }) => (ref.id ? (ITEMS[ref.id] ?? null) : null) },
    Media: { __resolveReference: (ref: { id: string }) => { const book = BOOKS.find((b) => b.id === ref.id); return book ? { __typename: 'Book', ...book } : null; } },
    Book: { __resolveReference: (ref: { id: string }) => BOOKS.find((b) => b.id === ref.id) ?? null },
  },
};

/** Its first key of Item is not resolvable; `id code { region }` is. */
export const warehouse: SubgraphDef = {
  name: 'warehouse',
  typeDefs: `${fed2(['@key', '@shareable', '@external', '@requires'])}
    type Query { shelf(id: ID!): Shelf shelves: [Shelf!]! }
    type Shelf @key(fields: "id") { id: ID! items: [Item!]! }
    type Item @key(fields: "code { region serial }", resolvable: false) @key(fields: "id code { region }") @key(fields: "sku", resolvable: false) {
      id: ID!
      sku: ID!
      code: Code!
      name: String! @external
      "Needs the name, which only catalog has."
      label: String! @requires(fields: "name")
    }
    type Code @shareable { region: String! serial: String! }`,
  resolvers: {
    Query: {
      shelf: (_: unknown, { id }: { id: string }) => SHELVES.find((s) => s.id === id) ?? null,
      shelves: () => SHELVES,
    },
    Shelf: {
      __resolveReference: (ref: { id: string }) => SHELVES.find((s) => s.id === ref.id) ?? null,
      items: (shelf: { items: string[] }) => shelf.items.map((id) => ({ id, sku: ITEMS[id]!.sku, code: ITEMS[id]!.code })),
    },
    Item: {
      // Only the resolvable key finds an item: through another one the item is unknown here.
      __resolveReference: (ref: { id?: string; code?: { region?: string }; name?: string }) => {
        const item = ref.id ? ITEMS[ref.id] : undefined;
        return item && ref.code?.region === item.code.region ? { id: item.id, sku: item.sku, code: item.code, name: ref.name } : null;
      },
      label: (item: { code: { region: string }; name?: string }) => `${item.code.region}/${item.name}`,
    },
  },
};

/** Sees media only as an interface object; its blurb needs the title from catalog. */
export const reviews: SubgraphDef = {
  name: 'reviews',
  typeDefs: `${fed2(['@key', '@interfaceObject', '@external', '@requires'])}
    type Query { picks: [Media] }
    type Media @key(fields: "id") @interfaceObject {
      id: ID!
      title: String @external
      blurb: String @requires(fields: "title")
    }`,
  resolvers: {
    Query: { picks: () => [{ id: 'b2' }, { id: 'b1' }] },
    Media: {
      __resolveReference: (ref: { id: string; title?: string }) => ref,
      blurb: (media: { title?: string }) => (media.title === undefined ? null : `Read ${media.title}`),
    },
  },
};

export const resolvableKeysCase: DifferentialCase = {
  name: 'non-resolvable keys',
  about: 'several keys per subgraph, some `resolvable: false`, and @requires on an entity and on an @interfaceObject',
  subgraphs: [catalog, warehouse, reviews],
  operations: [
    { name: 'local fields through every key field', query: '{ shelves { id items { id sku code { region serial } } } }' },
    { name: 'hop to the subgraph that resolves the key', query: '{ shelf(id: "s2") { items { id name } } }' },
    { name: 'unknown shelf', query: '{ shelf(id: "nope") { id items { name } } }' },
    { name: 'interfaceObject root field with @requires', query: '{ picks { id title blurb } }' },
    { name: 'interface implementation with the interfaceObject field', query: '{ books { id title blurb pages } }' },
    { name: 'interfaceObject with a type condition and @requires', query: '{ picks { ... on Book { pages title } id blurb } }' },
  ],
  stockWrong: [
    {
      operation: { name: 'required field fetched, back through a non-resolvable key', query: '{ shelf(id: "s1") { id items { id name label } } }' },
      why:
        'after fetching Item.name from catalog the planner goes back into warehouse through its first key, ' +
        '`code { region serial }`, declared resolvable: false; warehouse cannot find the item and the non-null label nulls the shelf',
      stock: {
        status: 200,
        data: { shelf: null },
        valueCompletion: [0, 1].map((i) => ({ message: 'Cannot return null for non-nullable field Item.label.', path: ['shelf', 'items', i, 'label'] })),
      },
      right: [
        {
          status: 200,
          data: {
            shelf: {
              id: 's1',
              items: [
                { id: 'i1', name: 'Lamp', label: 'north/Lamp' },
                { id: 'i2', name: 'Desk', label: 'north/Desk' },
              ],
            },
          },
        },
      ],
    },
    {
      operation: { name: 'non-resolvable key in nested lists, non-null root', query: '{ shelves { id items { label } } }' },
      why: 'the same key choice in nested lists: every label fails, and the non-null root list nulls all the data (reported only in extensions.valueCompletion)',
      stock: {
        status: 200,
        data: null,
        valueCompletion: [
          [0, 0],
          [0, 1],
          [1, 0],
        ].map(([s, i]) => ({ message: 'Cannot return null for non-nullable field Item.label.', path: ['shelves', s!, 'items', i!, 'label'] })),
      },
      right: [
        {
          status: 200,
          data: { shelves: [{ id: 's1', items: [{ label: 'north/Lamp' }, { label: 'north/Desk' }] }, { id: 's2', items: [{ label: 'south/Chair' }] }, { id: 's3', items: [] }] },
        },
      ],
    },
    {
      operation: { name: 'client alias that is the name of the key the plan needs', query: '{ shelf(id: "s2") { items { name id: code { region } } } }' },
      why:
        "the client's `id: code { region }` has the response name of the key `id` the plan needs to reach catalog: " +
        "the planner keeps the key, drops the client's field, and the response fails on the key's value, an internal " +
        'error blaming the subgraph (masked in production); the request cannot be planned as asked, which is a clear request error',
      stock: { status: 400, errors: [{ message: 'Invalid non-object value i3 returned by subgraph for composite type Code', code: 'INTERNAL_SERVER_ERROR' }] },
      right: [{ status: 400, errors: [{ message: /^Cannot fetch Code\.region at "shelf\.items\.id\.region"/, code: 'UNRESOLVABLE_FIELD' }] }],
    },
  ],
};
