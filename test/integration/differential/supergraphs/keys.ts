/**
 * Multiple and composite keys: `catalog` owns Product with two keys (`id`, and `sku variant { code }`
 * with a nested object), `inventory` knows Product only by the composite key and has its own root
 * field, `reviews` knows it only by `id`. Reaching reviews from inventory's root needs a hop
 * through catalog to turn one key into the other.
 */
import { GraphQLScalarType } from 'graphql';
import type { DifferentialCase, SubgraphDef } from '../harness.ts';
import { fed2 } from '../harness.ts';

interface Product {
  id: string;
  sku: string;
  variant: { code: string };
  name: string;
  price: number | null;
  attributes: Record<string, unknown> | null;
}

const PRODUCTS: Product[] = [
  { id: 'p1', sku: 'TBL', variant: { code: 'oak' }, name: 'Table', price: 120, attributes: { color: 'brown', legs: 4, size: { w: 2, h: 1 }, tags: ['a', null] } },
  { id: 'p2', sku: 'TBL', variant: { code: 'pine' }, name: 'Pine table', price: 80, attributes: { __typename: 'NotAType', constructor: 1 } },
  { id: 'p3', sku: 'CHR', variant: { code: 'oak' }, name: 'Chair', price: null, attributes: null },
];
const STOCK: Record<string, number> = { 'TBL/oak': 3, 'TBL/pine': 0, 'CHR/oak': 12 };
const REVIEWS = [
  { id: 'r1', body: 'Sturdy', productId: 'p1', stars: 5 },
  { id: 'r2', body: 'Wobbly', productId: 'p1', stars: 2 },
  { id: 'r3', body: 'Fine', productId: 'p3', stars: 4 },
];

const byComposite = (ref: { sku: string; variant: { code: string } }) =>
  PRODUCTS.find((p) => p.sku === ref.sku && p.variant.code === ref.variant.code) ?? null;

export const catalog: SubgraphDef = {
  name: 'catalog',
  typeDefs: `${fed2(['@key', '@shareable'])}
    type Query {
      products: [Product!]!
      product(id: ID!): Product
    }
    type Product @key(fields: "id") @key(fields: "sku variant { code }") {
      id: ID!
      sku: String!
      variant: Variant!
      name: String!
      price: Int
      "A custom scalar whose values are objects: a leaf, never shaped."
      attributes: JSON
    }
    scalar JSON
    type Variant @shareable { code: String! }`,
  resolvers: {
    JSON: new GraphQLScalarType({ name: 'JSON' }),
    Query: {
      products: () => PRODUCTS,
      product: (_: unknown, { id }: { id: string }) => PRODUCTS.find((p) => p.id === id) ?? null,
    },
    Product: {
      __resolveReference: (ref: { id?: string; sku?: string; variant?: { code: string } }) =>
        ref.id !== undefined ? (PRODUCTS.find((p) => p.id === ref.id) ?? null) : byComposite(ref as Product),
    },
  },
};

export const inventory: SubgraphDef = {
  name: 'inventory',
  typeDefs: `${fed2(['@key', '@shareable'])}
    type Query {
      "Products running low, known here by their composite key only."
      lowStock: [Product!]!
    }
    type Product @key(fields: "sku variant { code }") {
      sku: String!
      variant: Variant!
      inStock: Int!
    }
    type Variant @shareable { code: String! }`,
  resolvers: {
    Query: {
      lowStock: () =>
        Object.entries(STOCK)
          .filter(([, n]) => n < 5)
          .map(([k]) => {
            const [sku, code] = k.split('/') as [string, string];
            return { sku, variant: { code } };
          }),
    },
    Product: {
      __resolveReference: (ref: { sku: string; variant: { code: string } }) => ref,
      inStock: (p: { sku: string; variant: { code: string } }) => STOCK[`${p.sku}/${p.variant.code}`] ?? 0,
    },
  },
};

export const reviews: SubgraphDef = {
  name: 'reviews',
  typeDefs: `${fed2(['@key'])}
    type Query { topReviews(first: Int = 2): [Review!]! }
    type Review { id: ID! body: String! stars: Int! product: Product! }
    type Product @key(fields: "id") {
      id: ID!
      reviews(minStars: Int = 0): [Review!]!
      reviewCount: Int!
    }`,
  resolvers: {
    Query: {
      topReviews: (_: unknown, { first }: { first: number }) => [...REVIEWS].sort((a, b) => b.stars - a.stars).slice(0, first),
    },
    Review: { product: (r: { productId: string }) => ({ id: r.productId }) },
    Product: {
      __resolveReference: (ref: { id: string }) => ref,
      reviews: (p: { id: string }, { minStars }: { minStars: number }) => REVIEWS.filter((r) => r.productId === p.id && r.stars >= minStars),
      reviewCount: (p: { id: string }) => REVIEWS.filter((r) => r.productId === p.id).length,
    },
  },
};

export const keysSubgraphs = [catalog, inventory, reviews] as const;

export const keysCase: DifferentialCase = {
  name: 'multiple and composite keys',
  about: '@key with several keys, a composite key with a nested object, key-to-key hops across three subgraphs',
  subgraphs: keysSubgraphs,
  operations: [
    {
      name: 'owner root, both other subgraphs by different keys',
      query: '{ products { id name price inStock reviewCount reviews { body stars } } }',
    },
    {
      name: 'composite-key root, hop through the owner to reach the id-keyed subgraph',
      query: '{ lowStock { sku variant { code } inStock name reviews { body } } }',
    },
    {
      name: 'entity chain back to where it started',
      query: '{ topReviews(first: 3) { id stars product { name inStock reviews(minStars: 3) { id product { sku } } } } }',
    },
    {
      name: 'single entity by argument, found and not found',
      query: '{ found: product(id: "p1") { id sku inStock } missing: product(id: "nope") { id inStock } }',
    },
    {
      name: 'key fields only (nothing to fetch from other subgraphs)',
      query: '{ lowStock { sku variant { code } } }',
    },
    {
      name: 'object-valued custom scalar, fetched through another subgraph',
      query: '{ lowStock { attributes a: attributes } product(id: "p3") { attributes } }',
    },
    {
      name: 'nullable scalar null in the owner',
      query: '{ product(id: "p3") { name price reviewCount } }',
    },
  ],
};
