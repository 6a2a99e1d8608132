/**
 * Unions whose members are entities owned by other subgraphs: `search` only knows the keys, the
 * fields come from `people` and `places`; inline and named fragments, aliases shared by members.
 */
import type { DifferentialCase, SubgraphDef } from '../harness.ts';
import { fed2 } from '../harness.ts';

const PEOPLE = [
  { id: 'h1', name: 'Grace Hopper', born: 1906 },
  { id: 'h2', name: 'Unknown Soldier', born: null },
];
const PLACES = [
  { id: 'l1', name: 'Torino', population: 848196 },
  { id: 'l2', name: 'Atlantis', population: null },
];

export const search: SubgraphDef = {
  name: 'search',
  typeDefs: `${fed2(['@key'])}
    type Query {
      search(term: String!): [SearchResult!]!
      first(term: String!): SearchResult
    }
    union SearchResult = Person | Place | Tag
    type Person @key(fields: "id") { id: ID! }
    type Place @key(fields: "id") { id: ID! }
    "A member local to this subgraph."
    type Tag { label: String! }`,
  resolvers: {
    Query: {
      search: (_: unknown, { term }: { term: string }) => {
        const hits: unknown[] = [
          ...PEOPLE.filter((p) => p.name.toLowerCase().includes(term)).map((p) => ({ __typename: 'Person', id: p.id })),
          ...PLACES.filter((p) => p.name.toLowerCase().includes(term)).map((p) => ({ __typename: 'Place', id: p.id })),
        ];
        if (term.length <= 1) hits.push({ __typename: 'Tag', label: `#${term}` });
        return hits;
      },
      first: (_: unknown, { term }: { term: string }) => {
        const p = PEOPLE.find((x) => x.name.toLowerCase().includes(term));
        return p ? { __typename: 'Person', id: p.id } : null;
      },
    },
  },
};

export const people: SubgraphDef = {
  name: 'people',
  typeDefs: `${fed2(['@key'])}
    type Person @key(fields: "id") { id: ID! name: String! born: Int }`,
  resolvers: { Person: { __resolveReference: (ref: { id: string }) => PEOPLE.find((p) => p.id === ref.id) ?? null } },
};

export const places: SubgraphDef = {
  name: 'places',
  typeDefs: `${fed2(['@key'])}
    type Place @key(fields: "id") { id: ID! name: String! population: Int }`,
  resolvers: { Place: { __resolveReference: (ref: { id: string }) => PLACES.find((p) => p.id === ref.id) ?? null } },
};

export const unionsSubgraphs = [search, people, places] as const;

export const unionsCase: DifferentialCase = {
  name: 'unions',
  about: 'a union of entities owned by other subgraphs plus a local member; inline and named fragments',
  subgraphs: unionsSubgraphs,
  operations: [
    {
      name: 'inline fragments on every member',
      query: '{ search(term: "o") { __typename ... on Person { name born } ... on Place { name population } ... on Tag { label } } }',
    },
    {
      name: 'one alias for a field of two members',
      query: '{ search(term: "t") { ... on Person { label: name year: born } ... on Place { label: name year: population } } }',
    },
    {
      name: 'named fragments on members, some members not selected',
      query: `{ search(term: "a") { ...P } first(term: "grace") { ...P ... on Place { id } } }
        fragment P on Person { id name }`,
    },
    { name: 'only __typename on a union', query: '{ search(term: "r") { __typename } }' },
    { name: 'union member local to the root subgraph', query: '{ search(term: "x") { ... on Tag { label } } }' },
    { name: 'nullable union, no hit', query: '{ first(term: "zzz") { __typename } }' },
    {
      name: 'fragment on the union itself, nested',
      query: `{ search(term: "o") { ...R } }
        fragment R on SearchResult { __typename ... on Person { ...Who } ... on Place { id } }
        fragment Who on Person { name }`,
    },
  ],
};
