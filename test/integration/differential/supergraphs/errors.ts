/**
 * Nulls and errors from subgraphs, and non-null propagation: resolver errors (with and without a
 * code) on nullable and non-null fields at the root and inside `_entities`, an entity that fails
 * to resolve, an entity that resolves to null, errors at several list positions, and partial
 * failures where one subgraph still answers.
 */
import { GraphQLError } from 'graphql';
import type { DifferentialCase, SubgraphDef } from '../harness.ts';
import { fed2 } from '../harness.ts';

const USERS: Record<string, { id: string; name: string; nickname: string | null }> = {
  u1: { id: 'u1', name: 'Ann', nickname: 'annie' },
  u2: { id: 'u2', name: 'Bob', nickname: null },
  // `email` fails for this one (non-null: the user becomes null).
  u3: { id: 'u3', name: 'Cy', nickname: 'cy' },
};
// Users that are not there: __resolveReference rejects for u-broken (an error for that entity
// only), throws synchronously for u-crash (@apollo/subgraph then fails the whole `_entities`
// field, so every entity of the batch), and returns null for u-missing.
const ORDERS = [
  { id: 'o1', buyerId: 'u1', backupId: 'u2', total: 10 },
  { id: 'o2', buyerId: 'u3', backupId: 'u-broken', total: 20 },
  { id: 'o3', buyerId: 'u2', backupId: null, total: -1 },
];
/** Orders `order(id)` finds but `orders` does not list. */
const HIDDEN = [
  { id: 'o8', buyerId: 'u1', backupId: 'u-crash', total: 5 },
  { id: 'o9', buyerId: 'u-missing', backupId: 'u-missing', total: 30 },
];

export const users: SubgraphDef = {
  name: 'users',
  typeDefs: `${fed2(['@key'])}
    type Query { user(id: ID!): User }
    type User @key(fields: "id") {
      id: ID!
      name: String!
      nickname: String
      email: String!
      "Fails for every user, with a code."
      secret: String
    }`,
  resolvers: {
    Query: { user: (_: unknown, { id }: { id: string }) => USERS[id] ?? null },
    User: {
      __resolveReference: (ref: { id: string }) => {
        if (ref.id === 'u-broken') return Promise.reject(new GraphQLError('u-broken is corrupt', { extensions: { code: 'CORRUPT_USER' } }));
        if (ref.id === 'u-crash') throw new GraphQLError('user store unavailable', { extensions: { code: 'USER_STORE_DOWN' } });
        return USERS[ref.id] ?? null;
      },
      email: (u: { id: string }) => {
        if (u.id === 'u3') throw new Error('email hidden for u3');
        return `${u.id}@example.org`;
      },
      secret: () => {
        throw new GraphQLError('not allowed', { extensions: { code: 'FORBIDDEN' } });
      },
    },
  },
};

export const orders: SubgraphDef = {
  name: 'orders',
  typeDefs: `${fed2(['@key'])}
    type Query {
      orders: [Order!]!
      order(id: ID!): Order
      "Nullable root field that fails."
      flaky: String
      "Non-null root field that fails: data becomes null."
      broken: String!
      "A list whose nullable elements fail at two positions."
      lottery: [Int]
      "A list of non-null elements, one failing: the list becomes null."
      strictLottery: [Int!]
      "Nested lists: the failing element nulls its inner list only."
      grid: [[Int!]]!
    }
    type Order {
      id: ID!
      total: Int!
      buyer: User!
      backupBuyer: User
      "Non-null, fails for negative totals."
      checkedTotal: Int!
      "Entities in nested lists (the fetch's path goes through two lists)."
      buyerGroups: [[User]]
    }
    type User @key(fields: "id") { id: ID! orders: [Order!]! }`,
  resolvers: {
    Query: {
      orders: () => ORDERS,
      order: (_: unknown, { id }: { id: string }) => [...ORDERS, ...HIDDEN].find((o) => o.id === id) ?? null,
      flaky: () => {
        throw new GraphQLError('flaky failed', { extensions: { code: 'FLAKY' } });
      },
      broken: () => {
        throw new Error('broken failed');
      },
      lottery: () => [1, new Error('no 2'), 3, new Error('no 4')],
      strictLottery: () => [1, new Error('no 2'), 3],
      grid: () => [[1, 2], [3, new Error('no cell')], [], [5]],
    },
    Order: {
      buyer: (o: { buyerId: string }) => ({ id: o.buyerId }),
      backupBuyer: (o: { backupId: string | null }) => (o.backupId ? { id: o.backupId } : null),
      buyerGroups: (o: { buyerId: string; backupId: string | null }) =>
        o.backupId === null ? null : [[{ id: o.buyerId }, { id: o.backupId }], [], [{ id: o.buyerId }]],
      checkedTotal: (o: { total: number }) => {
        if (o.total < 0) throw new GraphQLError(`negative total`, { extensions: { code: 'BAD_TOTAL' } });
        return o.total;
      },
    },
    User: {
      __resolveReference: (ref: { id: string }) => ref,
      orders: (u: { id: string }) => ORDERS.filter((o) => o.buyerId === u.id),
    },
  },
};

export const errorsCase: DifferentialCase = {
  name: 'nulls, errors and non-null propagation',
  about: 'subgraph errors on nullable and non-null fields, at the root, in lists and inside _entities',
  subgraphs: [users, orders],
  operations: [
    { name: 'nullable root error next to good data', query: '{ flaky order(id: "o1") { id total } }' },
    { name: 'non-null root error nulls data', query: '{ broken order(id: "o1") { id } }' },
    { name: 'errors at list positions, nullable elements', query: '{ lottery }' },
    { name: 'error in a list of non-null elements nulls the list', query: '{ strictLottery lottery }' },
    { name: 'error in a nested list', query: '{ grid }' },
    { name: 'entities in nested lists, one rejected', query: '{ orders { id buyerGroups { id name } } }' },
    { name: 'non-null field error in the root subgraph, in a list', query: '{ orders { id checkedTotal } }' },
    { name: 'non-null field error propagates to a nullable root', query: '{ order(id: "o3") { id checkedTotal } }' },
    { name: 'nullable field error with a code inside _entities', query: '{ orders { id buyer { name secret } } }' },
    { name: 'nullable field null inside _entities', query: '{ orders { buyer { nickname } } }' },
    {
      name: 'non-null field error inside _entities under a non-null parent in a non-null list',
      query: '{ orders { id buyer { email } } }',
    },
    {
      name: 'non-null field error inside _entities, stopped by a nullable root',
      query: '{ order(id: "o2") { id buyer { name email } } }',
    },
    { name: 'entity rejected for one element (nullable parent)', query: '{ orders { id backupBuyer { name } } }' },
    { name: 'entity rejected next to a good entity', query: '{ order(id: "o2") { backupBuyer { name } buyer { name } } }' },
    { name: 'entity batch failed as a whole (sync throw)', query: '{ order(id: "o8") { buyer { name } backupBuyer { name } } }' },
    { name: 'entity resolves to null, key only asked', query: '{ order(id: "o9") { buyer { id } } }' },
    { name: 'null entity key from the root subgraph', query: '{ order(id: "o3") { backupBuyer { name } } }' },
    { name: 'unknown root entity', query: '{ user(id: "nobody") { name orders { id } } }' },
    { name: 'round trip with an error at depth', query: '{ user(id: "u1") { orders { id buyer { secret email } } } }' },
  ],
  stockWrong: [
    {
      operation: { name: 'entity resolves to null under a non-null field', query: '{ order(id: "o9") { id buyer { name } } }' },
      why:
        'a non-null field (Order.buyer) ends up null and nulls its parent, but stock reports the violation only in ' +
        'extensions.valueCompletion: `errors` is empty, so the client sees data nulled for no reason (spec: a field error must be raised)',
      stock: {
        status: 200,
        data: { order: null },
        valueCompletion: [{ message: 'Cannot return null for non-nullable field User.name.', path: ['order', 'buyer', 'name'], code: 'INVALID_GRAPHQL' }],
      },
      right: [
        { status: 200, data: { order: null }, errors: [{ message: /Cannot return null for non-nullable field/, path: ['order', 'buyer'] }] },
        { status: 200, data: { order: null }, errors: [{ message: /Cannot return null for non-nullable field/, path: ['order', 'buyer', 'name'] }] },
      ],
    },
    {
      operation: { name: 'entity resolves to null, nullable parent', query: '{ order(id: "o9") { backupBuyer { id name } } }' },
      why:
        'the entity is unknown to its subgraph, so the non-null User.name is null and nulls backupBuyer; stock reports ' +
        'the violation only in extensions.valueCompletion, with `errors` empty (spec: a field error must be raised)',
      stock: {
        status: 200,
        data: { order: { backupBuyer: null } },
        valueCompletion: [{ message: 'Cannot return null for non-nullable field User.name.', path: ['order', 'backupBuyer', 'name'], code: 'INVALID_GRAPHQL' }],
      },
      right: [{ status: 200, data: { order: { backupBuyer: null } }, errors: [{ message: /Cannot return null for non-nullable field/, path: ['order', 'backupBuyer', 'name'] }] }],
    },
  ],
};
