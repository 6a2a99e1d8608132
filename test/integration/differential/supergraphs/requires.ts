/**
 * @requires: on scalars, on a field with arguments (`weight(unit: KILOGRAM)`), on a nested object,
 * on a required field that is null, and on one whose resolver fails in the owning subgraph (the
 * representation then lacks the field and the requiring resolver must cope).
 */
import { GraphQLError } from 'graphql';
import type { DifferentialCase, SubgraphDef } from '../harness.ts';
import { fed2 } from '../harness.ts';

interface Product {
  upc: string;
  name: string;
  grams: number;
  price: number | null;
  dims: { length: number; width: number } | null;
}

const PRODUCTS: Product[] = [
  { upc: 'u1', name: 'Lamp', grams: 1500, price: 40, dims: { length: 30, width: 20 } },
  { upc: 'u2', name: 'Sofa', grams: 42000, price: 900, dims: { length: 200, width: 90 } },
  { upc: 'u3', name: 'Gift card', grams: 0, price: null, dims: null },
  // Its weight fails in `products`: the shipping estimate is asked with the weight missing.
  { upc: 'u4', name: 'Mystery box', grams: -1, price: 15, dims: { length: 10, width: 10 } },
];

export const products: SubgraphDef = {
  name: 'products',
  typeDefs: `${fed2(['@key', '@shareable'])}
    enum WeightUnit { GRAM KILOGRAM }
    type Query { products: [Product!]! product(upc: String!): Product }
    type Product @key(fields: "upc") {
      upc: String!
      name: String!
      weight(unit: WeightUnit = GRAM): Float
      price: Int
      dims: Dims
    }
    type Dims @shareable { length: Int! width: Int! }`,
  resolvers: {
    Query: {
      products: () => PRODUCTS,
      product: (_: unknown, { upc }: { upc: string }) => PRODUCTS.find((p) => p.upc === upc) ?? null,
    },
    Product: {
      __resolveReference: (ref: { upc: string }) => PRODUCTS.find((p) => p.upc === ref.upc) ?? null,
      weight: (p: Product, { unit }: { unit: 'GRAM' | 'KILOGRAM' }) => {
        if (p.grams < 0) throw new GraphQLError('scale broken', { extensions: { code: 'SCALE_BROKEN' } });
        return unit === 'KILOGRAM' ? p.grams / 1000 : p.grams;
      },
    },
  },
};

export const shipping: SubgraphDef = {
  name: 'shipping',
  typeDefs: `${fed2(['@key', '@shareable', '@external', '@requires'])}
    enum WeightUnit { GRAM KILOGRAM }
    type Product @key(fields: "upc") {
      upc: String!
      weight(unit: WeightUnit = GRAM): Float @external
      price: Int @external
      dims: Dims @external
      "Needs the weight in kilograms (a required field with an argument) and the price."
      shippingEstimate: Int @requires(fields: "price weight(unit: KILOGRAM)")
      "Needs a nested object."
      packaging: String @requires(fields: "dims { length width }")
      "Needs nothing."
      carrier: String!
    }
    type Dims @shareable { length: Int! width: Int! }`,
  resolvers: {
    Product: {
      __resolveReference: (ref: unknown) => ref,
      shippingEstimate: (p: { price?: number | null; weight?: number | null }) => {
        // The representation carries what the gateway could fetch: a failed weight arrives null or missing.
        if (p.weight === undefined || p.weight === null) throw new GraphQLError('weight unknown', { extensions: { code: 'MISSING_REQUIRED' } });
        if (p.price === null || p.price === undefined) return null;
        return Math.round(p.weight * 10 + (p.price > 500 ? 0 : 5));
      },
      packaging: (p: { dims?: { length: number; width: number } | null }) =>
        p.dims ? (p.dims.length * p.dims.width > 10000 ? 'pallet' : 'box') : null,
      carrier: (p: { upc: string }) => (p.upc === 'u2' ? 'freight' : 'post'),
    },
  },
};

export const requiresCase: DifferentialCase = {
  name: '@requires',
  about: '@requires on scalars, on a field with arguments, on a nested object, with null and failed required fields',
  subgraphs: [products, shipping],
  operations: [
    { name: 'required field with arguments, and price', query: '{ products { upc shippingEstimate } }' },
    { name: 'required nested object', query: '{ products { name packaging } }' },
    {
      name: 'required field also selected by the client under aliases',
      query: '{ products { upc grams: weight(unit: GRAM) kg: weight(unit: KILOGRAM) shippingEstimate carrier } }',
    },
    { name: 'requires on a single nullable entity', query: '{ product(upc: "u2") { name shippingEstimate packaging carrier } }' },
    { name: 'required field null (gift card)', query: '{ product(upc: "u3") { shippingEstimate packaging } }' },
    {
      name: 'required field failed in the owning subgraph',
      query: '{ product(upc: "u4") { name weight shippingEstimate carrier } }',
    },
    { name: 'field next to requires that needs nothing', query: '{ products { carrier } }' },
  ],
  stockWrong: [
    {
      operation: {
        name: 'required field with arguments also selected unaliased with other arguments',
        query: '{ a: product(upc: "u1") { weight shippingEstimate } b: product(upc: "u2") { weight shippingEstimate } }',
      },
      why:
        "the query planner merges the requirement weight(unit: KILOGRAM) into the client's weight (grams, same response " +
        'name) and sends shipping the weight in grams, so the estimate is computed from 1500 instead of 1.5',
      stock: { status: 200, data: { a: { weight: 1500, shippingEstimate: 15005 }, b: { weight: 42000, shippingEstimate: 420000 } } },
      right: [{ status: 200, data: { a: { weight: 1500, shippingEstimate: 20 }, b: { weight: 42000, shippingEstimate: 420 } } }],
    },
  ],
};
