/**
 * Mutations: root fields run one after another, in document order (each sees the previous one's
 * effect), with entity fields of the result resolved by another subgraph, and a failing mutation
 * between two good ones. Each operation resets the state first, and is sent to one gateway after
 * the other, so both see the same state.
 */
import { GraphQLError } from 'graphql';
import type { DifferentialCase, SubgraphDef } from '../harness.ts';
import { fed2 } from '../harness.ts';

let items: { id: string; label: string }[] = [];

export const lists: SubgraphDef = {
  name: 'lists',
  typeDefs: `${fed2(['@key'])}
    type Query { items: [Item!]! }
    type Mutation {
      reset: Boolean!
      push(label: String!): [Item!]!
      "Fails for an empty label; nullable, so the next mutation still runs."
      tryPush(label: String!): Item
    }
    type Item @key(fields: "id") { id: ID! label: String! }`,
  resolvers: {
    Query: { items: () => items },
    Mutation: {
      reset: () => {
        items = [];
        return true;
      },
      push: (_: unknown, { label }: { label: string }) => {
        // Async on purpose: serial execution must wait for it.
        return new Promise((resolve) =>
          setTimeout(() => {
            items.push({ id: `i${items.length + 1}`, label });
            resolve([...items]);
          }, 5),
        );
      },
      tryPush: (_: unknown, { label }: { label: string }) => {
        if (!label) throw new GraphQLError('empty label', { extensions: { code: 'BAD_USER_INPUT' } });
        const item = { id: `i${items.length + 1}`, label };
        items.push(item);
        return item;
      },
    },
    Item: { __resolveReference: (ref: { id: string }) => items.find((i) => i.id === ref.id) ?? null },
  },
};

export const lengths: SubgraphDef = {
  name: 'lengths',
  typeDefs: `${fed2(['@key'])}
    type Item @key(fields: "id") { id: ID! size: Int! }`,
  resolvers: {
    Item: {
      __resolveReference: (ref: { id: string }) => ref,
      size: (i: { id: string }) => Number(i.id.slice(1)) * 10,
    },
  },
};

export const mutationsCase: DifferentialCase = {
  name: 'mutations',
  about: 'serial root fields, entity fields of mutation results from another subgraph, a failing mutation in the middle',
  subgraphs: [lists, lengths],
  caller: { role: 'editor', subgraphs: ['lists', 'lengths'] },
  operations: [
    {
      name: 'serial pushes see each other',
      query: 'mutation { reset a: push(label: "x") { id label } b: push(label: "y") { id size } }',
      sequential: true,
    },
    {
      name: 'failing mutation between two good ones',
      query: 'mutation { reset a: tryPush(label: "x") { id } b: tryPush(label: "") { id } c: tryPush(label: "z") { id size } }',
      sequential: true,
    },
    {
      name: 'mutation with variables and fragments',
      query: 'mutation ($l: String!) { reset push(label: $l) { ...I } } fragment I on Item { label size }',
      variables: { l: 'v' },
      sequential: true,
    },
  ],
};
