/**
 * Two `@requires` of one entity that need the same field with different arguments: `shipping`'s
 * `costUSD` requires `price(currency: USD)`, `costEUR` requires `price(currency: EUR)`, and
 * `premium` requires `category { averagePrice(currency: USD) }`. One representation cannot hold two
 * prices, so each cost must be computed from its own; the client may select the price in a third
 * currency too (through a variable), in nested lists (bundles → items), and a free sample has
 * price 0, which must reach the subgraph as 0 (not be lost as a falsy value).
 */
import { GraphQLError } from 'graphql';
import type { DifferentialCase, SubgraphDef } from '../harness.ts';
import { fed2 } from '../harness.ts';

type Currency = 'USD' | 'EUR' | 'GBP';

interface Product {
  upc: string;
  name: string;
  /** In USD. */
  price: number;
  weight: number;
  category: string;
}

const RATES: Record<Currency, number> = { USD: 1, EUR: 2, GBP: 4 };
const PRODUCTS: Product[] = [
  { upc: 'p1', name: 'Kettle', price: 10, weight: 2, category: 'kitchen' },
  { upc: 'p2', name: 'Sofa', price: 400, weight: 40, category: 'living' },
  { upc: 'p3', name: 'Sample', price: 0, weight: 1, category: 'kitchen' },
  // Above the free-shipping threshold in one currency and not in the other.
  { upc: 'p4', name: 'Lamp', price: 60, weight: 3, category: 'living' },
];
const AVERAGE: Record<string, number> = { kitchen: 5, living: 400 };
const BUNDLES = [
  { id: 'b1', items: ['p4', 'p3'] },
  { id: 'b2', items: ['p2'] },
  { id: 'b3', items: [] },
];

const CURRENCY = 'enum Currency { USD EUR GBP }';

/** Owns products, their prices in any currency and their categories. */
export const pricing: SubgraphDef = {
  name: 'pricing',
  typeDefs: `${fed2(['@key', '@shareable'])}
    ${CURRENCY}
    type Query { products: [Product!]! bundles: [Bundle!]! }
    type Bundle { id: ID! items: [Product!]! }
    type Product @key(fields: "upc") {
      upc: ID!
      name: String!
      price(currency: Currency!): Float!
      weight: Float!
      category: Category!
    }
    type Category @shareable { averagePrice(currency: Currency!): Float! }`,
  resolvers: {
    Query: {
      products: () => PRODUCTS,
      bundles: () => BUNDLES.map((b) => ({ id: b.id, items: b.items.map((upc) => PRODUCTS.find((p) => p.upc === upc)) })),
    },
    Product: {
      __resolveReference: (ref: { upc: string }) => PRODUCTS.find((p) => p.upc === ref.upc) ?? null,
      price: (p: Product, { currency }: { currency: Currency }) => p.price * RATES[currency],
      category: (p: Product) => ({ name: p.category }),
    },
    Category: { averagePrice: (c: { name: string }, { currency }: { currency: Currency }) => AVERAGE[c.name]! * RATES[currency] },
  },
};

/** Shipping costs from the price in the cost's currency: a missing price is an error, never a guess. */
export const shipping: SubgraphDef = {
  name: 'shipping',
  typeDefs: `${fed2(['@key', '@shareable', '@external', '@requires'])}
    ${CURRENCY}
    type Product @key(fields: "upc") {
      upc: ID!
      weight: Float! @external
      price(currency: Currency!): Float! @external
      category: Category! @external
      costUSD: Float! @requires(fields: "price(currency: USD) weight")
      costEUR: Float! @requires(fields: "price(currency: EUR) weight")
      premium: Boolean! @requires(fields: "category { averagePrice(currency: USD) }")
    }
    type Category @shareable { averagePrice(currency: Currency!): Float! @external }`,
  resolvers: {
    Product: {
      __resolveReference: (ref: unknown) => ref,
      costUSD: (p: { price?: number; weight: number }) => cost(p, 1),
      costEUR: (p: { price?: number; weight: number }) => cost(p, 2),
      premium: (p: { category: { averagePrice: number } }) => p.category.averagePrice > 100,
    },
  },
};

/** Free above 100 (in the cost's currency), otherwise 3 per kilogram, in that currency. */
function cost(p: { price?: number; weight: number }, rate: number): number {
  if (typeof p.price !== 'number') throw new GraphQLError('price missing from the representation', { extensions: { code: 'MISSING_REQUIRED' } });
  return p.price > 100 * rate ? 0 : 3 * p.weight * rate;
}

/** The two costs as shipping computes them from these prices (in USD, in EUR). */
const costsFrom = (p: Product, usd: number, eur = usd) => ({ costUSD: usd > 100 ? 0 : 3 * p.weight, costEUR: eur > 200 ? 0 : 6 * p.weight });
const right = (p: Product) => costsFrom(p, p.price * RATES.USD, p.price * RATES.EUR);
const bundlesOf = (item: (p: Product) => Record<string, unknown>) =>
  BUNDLES.map((b) => ({ id: b.id, items: b.items.map((upc) => item(PRODUCTS.find((p) => p.upc === upc)!)) }));

export const requiresConflictsCase: DifferentialCase = {
  name: 'two @requires of one entity with conflicting arguments',
  about: 'one field required with two sets of arguments by two fields of one entity, with the client selecting it with a third',
  subgraphs: [pricing, shipping],
  operations: [
    { name: 'one requirement', query: '{ products { upc costUSD } }' },
    { name: 'the other requirement', query: '{ products { upc costEUR } }' },
    { name: 'nested requirement with arguments', query: '{ products { upc premium } }' },
    { name: 'client price alone', query: '{ products { price(currency: GBP) } }' },
  ],
  stockWrong: [
    {
      operation: { name: 'both costs and a nested requirement', query: '{ products { upc costUSD costEUR premium } }' },
      why:
        'the planner merges price(currency: USD) and price(currency: EUR) into one field of the representation, ' +
        'so one of the two costs is computed from the other currency',
      stock: { status: 200, data: { products: PRODUCTS.map((p) => ({ upc: p.upc, ...costsFrom(p, p.price * RATES.EUR), premium: AVERAGE[p.category]! > 100 })) } },
      right: [{ status: 200, data: { products: PRODUCTS.map((p) => ({ upc: p.upc, ...right(p), premium: AVERAGE[p.category]! > 100 })) } }],
    },
    {
      operation: {
        name: 'both costs and the client price through a variable, in nested lists',
        query: 'query ($currency: Currency!) { bundles { id items { price(currency: $currency) costUSD costEUR } } }',
        variables: { currency: 'GBP' },
      },
      why: "the same merge, with the client's own price(currency: $currency) merged with both: both costs are computed from the client's currency",
      stock: { status: 200, data: { bundles: bundlesOf((p) => ({ price: p.price * RATES.GBP, ...costsFrom(p, p.price * RATES.GBP) })) } },
      right: [{ status: 200, data: { bundles: bundlesOf((p) => ({ price: p.price * RATES.GBP, ...right(p) })) } }],
    },
    {
      operation: {
        name: "the client's price through a variable, after a requirement of it",
        query: 'query ($currency: Currency!) { products { costUSD price(currency: $currency) } }',
        variables: { currency: 'GBP' },
      },
      why: "the planner keeps the requirement's price(currency: USD) and drops the client's price(currency: $currency): the client gets the price in dollars",
      stock: { status: 200, data: { products: PRODUCTS.map((p) => ({ costUSD: right(p).costUSD, price: p.price })) } },
      right: [{ status: 200, data: { products: PRODUCTS.map((p) => ({ costUSD: right(p).costUSD, price: p.price * RATES.GBP })) } }],
    },
  ],
};
