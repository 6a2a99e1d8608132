/**
 * Interfaces: an entity interface `Media` (owned by `media`, with Book and Movie), extended as an
 * @interfaceObject by `ratings` (which never learns the concrete types, so a `__typename` or a
 * type condition after its root field needs a hop back to `media`), an implementation field added
 * by a third subgraph, a value interface, and an @inaccessible field that the API must hide.
 */
import type { DifferentialCase, SubgraphDef } from '../harness.ts';
import { fed2 } from '../harness.ts';

const MEDIA = [
  { __typename: 'Book', id: 'm1', title: 'Dune', author: 'Herbert' },
  { __typename: 'Movie', id: 'm2', title: 'Alien', director: 'Scott' },
  { __typename: 'Book', id: 'm3', title: 'Emma', author: 'Austen' },
  { __typename: 'Movie', id: 'm4', title: 'Heat', director: 'Mann' },
];
const RATINGS: Record<string, number | null> = { m1: 5, m2: 4, m3: null, m4: 3 };

export const media: SubgraphDef = {
  name: 'media',
  typeDefs: `${fed2(['@key', '@inaccessible', '@shareable'])}
    type Query {
      media: [Media!]!
      mediaItem(id: ID!): Media
      credits: [Credit!]!
    }
    interface Media @key(fields: "id") { id: ID! title: String! }
    type Book implements Media @key(fields: "id") { id: ID! title: String! author: String! isbn: String @inaccessible }
    type Movie implements Media @key(fields: "id") { id: ID! title: String! director: String! }
    "A value interface (no key), implemented by value types."
    interface Credit { name: String! }
    type Writer implements Credit { name: String! books: Int! }
    type Actor implements Credit { name: String! films: Int! }`,
  resolvers: {
    Query: {
      media: () => MEDIA,
      mediaItem: (_: unknown, { id }: { id: string }) => MEDIA.find((m) => m.id === id) ?? null,
      credits: () => [
        { __typename: 'Writer', name: 'Herbert', books: 6 },
        { __typename: 'Actor', name: 'Weaver', films: 3 },
      ],
    },
    Media: { __resolveReference: (ref: { id: string }) => MEDIA.find((m) => m.id === ref.id) ?? null },
    Book: { __resolveReference: (ref: { id: string }) => MEDIA.find((m) => m.id === ref.id) ?? null, isbn: () => 'secret' },
    Movie: { __resolveReference: (ref: { id: string }) => MEDIA.find((m) => m.id === ref.id) ?? null },
  },
};

export const ratings: SubgraphDef = {
  name: 'ratings',
  typeDefs: `${fed2(['@key', '@interfaceObject'])}
    type Query { topRated: [Media!]! }
    type Media @key(fields: "id") @interfaceObject {
      id: ID!
      rating: Int
      stars: String
    }`,
  resolvers: {
    Query: {
      topRated: () =>
        Object.entries(RATINGS)
          .filter(([, r]) => r !== null)
          .sort((a, b) => (b[1] ?? 0) - (a[1] ?? 0))
          .map(([id]) => ({ id })),
    },
    Media: {
      __resolveReference: (ref: { id: string }) => ref,
      rating: (m: { id: string }) => RATINGS[m.id] ?? null,
      stars: (m: { id: string }) => (RATINGS[m.id] ? '*'.repeat(RATINGS[m.id] ?? 0) : null),
    },
  },
};

export const shelves: SubgraphDef = {
  name: 'shelves',
  typeDefs: `${fed2(['@key'])}
    type Book @key(fields: "id") { id: ID! shelf: String! }`,
  resolvers: {
    Book: {
      __resolveReference: (ref: { id: string }) => ref,
      shelf: (b: { id: string }) => `shelf-${b.id}`,
    },
  },
};

export const interfacesSubgraphs = [media, ratings, shelves] as const;

export const interfacesCase: DifferentialCase = {
  name: 'interfaces and @interfaceObject',
  about: 'entity interface, @interfaceObject, implementation field from a third subgraph, value interface, @inaccessible',
  subgraphs: interfacesSubgraphs,
  operations: [
    {
      name: 'interface list with type conditions and interfaceObject fields',
      query: '{ media { __typename id title rating ... on Book { author shelf } ... on Movie { director } } }',
    },
    { name: 'interfaceObject root field, interface fields only', query: '{ topRated { id rating stars } }' },
    {
      name: 'interfaceObject root field needing concrete types (hop back to the owner)',
      query: '{ topRated { __typename id title ... on Book { author shelf } ... on Movie { director } } }',
    },
    {
      name: 'named fragments on the interface and on implementations',
      query: `query { mediaItem(id: "m1") { ...M ...B } other: mediaItem(id: "m2") { ...M ...B } }
        fragment M on Media { id title rating }
        fragment B on Book { author }`,
    },
    { name: 'value interface', query: '{ credits { __typename name ... on Writer { books } ... on Actor { films } } }' },
    { name: 'unknown entity: null', query: '{ mediaItem(id: "zzz") { id rating } }' },
    { name: '@inaccessible field is not in the API', query: '{ media { ... on Book { isbn } } }', executor: 'none' },
    {
      name: 'interfaceObject field null for one implementation',
      query: '{ media { id rating stars } }',
    },
  ],
};
