/**
 * @provides, @external and @shareable: `reviews` provides the author's `username` on one path (and
 * deliberately returns a different spelling from `accounts`, so an answer shows which subgraph was
 * used), a @shareable field and a @shareable root field resolvable by two subgraphs, and an
 * @external field that is only reachable through @provides.
 */
import type { DifferentialCase, SubgraphDef } from '../harness.ts';
import { fed2 } from '../harness.ts';

const USERS = [
  { id: 'a1', name: 'Ada Lovelace', username: 'ada' },
  { id: 'a2', name: 'Alan Turing', username: 'alan' },
];
const REVIEWS = [
  { id: 'v1', body: 'Elegant', authorId: 'a1' },
  { id: 'v2', body: 'Computable', authorId: 'a2' },
  { id: 'v3', body: 'Again', authorId: 'a1' },
];

export const accounts: SubgraphDef = {
  name: 'accounts',
  typeDefs: `${fed2(['@key', '@shareable'])}
    type Query {
      me: User
      "Shareable root field: also in reviews."
      siteName: String! @shareable
    }
    type User @key(fields: "id") {
      id: ID!
      name: String!
      username: String! @shareable
      since: Int
    }`,
  resolvers: {
    Query: { me: () => USERS[0], siteName: () => 'Differential' },
    User: {
      __resolveReference: (ref: { id: string }) => USERS.find((u) => u.id === ref.id) ?? null,
      since: (u: { id: string }) => (u.id === 'a1' ? 1843 : null),
    },
  },
};

export const reviewsWithProvides: SubgraphDef = {
  name: 'reviews',
  typeDefs: `${fed2(['@key', '@shareable', '@external', '@provides'])}
    type Query {
      reviews: [Review!]!
      siteName: String! @shareable
    }
    type Review {
      id: ID!
      body: String!
      "Provides the username: no fetch to accounts for it on this path."
      author: User @provides(fields: "username")
      "Same user, without @provides."
      plainAuthor: User
    }
    type User @key(fields: "id") {
      id: ID!
      username: String! @external
      reviews: [Review!]!
    }`,
  resolvers: {
    Query: { reviews: () => REVIEWS, siteName: () => 'Differential' },
    Review: {
      // Spelled differently from accounts on purpose: the answer shows which subgraph resolved it.
      author: (r: { authorId: string }) => ({ id: r.authorId, username: `${USERS.find((u) => u.id === r.authorId)?.username}@reviews` }),
      plainAuthor: (r: { authorId: string }) => ({ id: r.authorId }),
    },
    User: {
      __resolveReference: (ref: { id: string }) => ref,
      reviews: (u: { id: string }) => REVIEWS.filter((r) => r.authorId === u.id),
    },
  },
};

export const providesCase: DifferentialCase = {
  name: '@provides, @external, @shareable',
  about: '@provides on a path (and not on another), @external fields, @shareable fields and root fields',
  subgraphs: [accounts, reviewsWithProvides],
  operations: [
    { name: 'provided field only: no fetch to accounts', query: '{ reviews { body author { username } } }' },
    { name: 'provided and non-provided fields together', query: '{ reviews { author { username name since } } }' },
    { name: 'same entity on a path without @provides', query: '{ reviews { plainAuthor { username name } } }' },
    {
      name: 'both paths in one operation, aliased onto one another',
      query: '{ reviews { id author: plainAuthor { username } plainAuthor: author { username } } }',
    },
    { name: 'shareable root field', query: '{ siteName me { name } }' },
    { name: 'entity round trip through the other subgraph', query: '{ me { username reviews { body author { username name } } } }' },
  ],
};
