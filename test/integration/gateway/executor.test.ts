/**
 * The lean executor (gateway/executor/) against stock @apollo/gateway on the same small in-memory
 * subgraphs (port 0): two gateways over one supergraph, one with `useLeanExecutor`, both with the
 * stock RemoteGraphQLDataSource so that only plan execution differs. Every operation's formatted
 * response (data, errors, extensions, key order included) must be the same string on both, and
 * the lean one must send each distinct entity representation once, and must send the `_entities`
 * fetches to one subgraph that are ready together as one request (answers still identical, also
 * when one merged fetch or the whole merged request fails).
 *
 * Subgraphs: accounts (users, a root field that fails, a non-null root that returns null, a
 * mutation), products (products, a union and an interface), inventory (@requires, a non-null
 * field that fails for one product), reviews (entities referenced many times, nested chains, a
 * field that fails with a code).
 */
import { composeServices } from '@apollo/composition';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { GraphQLError, parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SubgraphDataSource, SubgraphPools } from '../../../gateway/transport/index.ts';
import { useLeanExecutor } from '../../../gateway/executor/index.ts';

// ---------------------------------------------------------------------------------------------
// Data and subgraphs.

const users = [
  { id: 'u1', name: 'Ada', nickname: 'ada' },
  { id: 'u2', name: 'Bob', nickname: null },
  { id: 'u3', name: 'Cy', nickname: 'cy' },
  { id: 'u4', name: 'Di', nickname: 'di' },
];
const products = [
  { upc: 'p1', name: 'Table', price: 1500, weight: 900, createdBy: 'u1' },
  { upc: 'p2', name: 'Chair', price: 300, weight: 400, createdBy: 'u2' },
  { upc: 'p3', name: 'Lamp', price: 80, weight: 100, createdBy: 'u3' },
];
// Every product reviewed by several users, every user reviewing several products.
const reviews = [
  { id: 'r1', body: 'solid', author: 'u1', product: 'p1' },
  { id: 'r2', body: 'wobbly', author: 'u2', product: 'p1' },
  { id: 'r3', body: 'bright', author: 'u3', product: 'p3' },
  { id: 'r4', body: 'fine', author: 'u1', product: 'p2' },
  { id: 'r5', body: 'meh', author: 'u4', product: 'p2' },
  { id: 'r6', body: 'great', author: 'u2', product: 'p3' },
  { id: 'r7', body: 'ok', author: 'u3', product: 'p1' },
  { id: 'r8', body: 'dim', author: 'u1', product: 'p3' },
];
/** Reachable only through Query.review: its product does not exist in the products subgraph. */
const orphanReview = { id: 'r9', body: 'lost', author: 'u4', product: 'p9' };
const byId = <T extends Record<K, string>, K extends string>(list: T[], key: K) => new Map(list.map((x) => [x[key], x]));
const userById = byId(users, 'id');
const productByUpc = byId(products, 'upc');
const reviewById = byId([...reviews, orphanReview], 'id');

const FED = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@shareable", "@external", "@requires"])';

const subgraphs = {
  accounts: {
    typeDefs: `${FED}
      type Query {
        users: [User!]!
        user(id: ID!): User
        failing: String
        brokenUser: User!
      }
      type Mutation { rename(id: ID!, name: String!): User }
      type User @key(fields: "id") {
        id: ID!
        name: String!
        nickname: String
        secretLevel: Int
      }`,
    resolvers: {
      Query: {
        users: () => users,
        user: (_: unknown, { id }: { id: string }) => userById.get(id) ?? null,
        failing: () => {
          throw new GraphQLError('accounts is failing on purpose', { extensions: { code: 'ON_PURPOSE' } });
        },
        brokenUser: () => null,
      },
      Mutation: {
        rename: (_: unknown, { id, name }: { id: string; name: string }) => {
          const user = userById.get(id);
          if (user) user.name = name;
          return user ?? null;
        },
      },
      User: {
        __resolveReference: ({ id }: { id: string }) => userById.get(id) ?? null,
        secretLevel: (u: { id: string }) => {
          if (u.id === 'u2') throw new GraphQLError('not allowed to see u2', { extensions: { code: 'FORBIDDEN' } });
          return u.id.length;
        },
      },
    },
  },
  products: {
    typeDefs: `${FED}
      type Query {
        products: [Product!]!
        productList: [Product]
        search: [SearchResult!]!
        animals: [Animal!]!
      }
      type Product @key(fields: "upc") {
        upc: String!
        name: String!
        price: Int!
        weight: Int!
        createdBy: User
      }
      type User @key(fields: "id", resolvable: false) { id: ID! }
      type Book @key(fields: "isbn") { isbn: String! title: String! }
      union SearchResult = Product | Book
      interface Animal { name: String! }
      type Dog implements Animal { name: String! barks: Boolean! }
      type Cat implements Animal { name: String! lives: Int! }`,
    resolvers: {
      Query: {
        products: () => products,
        productList: () => products,
        search: () => [
          { __typename: 'Product', ...products[0] },
          { __typename: 'Book', isbn: 'b1', title: 'Dune' },
          { __typename: 'Product', ...products[1] },
          { __typename: 'Product', ...products[0] },
        ],
        animals: () => [
          { __typename: 'Dog', name: 'Rex', barks: true },
          { __typename: 'Cat', name: 'Tom', lives: 9 },
        ],
      },
      SearchResult: { __resolveType: (x: { __typename: string }) => x.__typename },
      Animal: { __resolveType: (x: { __typename: string }) => x.__typename },
      Product: {
        __resolveReference: ({ upc }: { upc: string }) => productByUpc.get(upc) ?? null,
        createdBy: (p: { createdBy: string }) => ({ id: p.createdBy }),
      },
      Book: { __resolveReference: ({ isbn }: { isbn: string }) => (isbn === 'b1' ? { isbn, title: 'Dune' } : null) },
    },
  },
  inventory: {
    typeDefs: `${FED}
      type Product @key(fields: "upc") {
        upc: String!
        price: Int! @external
        weight: Int! @external
        shippingEstimate: Int! @requires(fields: "price weight")
        inStock: Boolean
        stockCount: Int!
      }`,
    resolvers: {
      Product: {
        __resolveReference: (ref: { upc: string; price?: number; weight?: number }) => ({ ...ref, inStock: ref.upc !== 'p3' }),
        shippingEstimate: (p: { price: number; weight: number }) => (p.price > 1000 ? 0 : Math.round(p.weight / 2)),
        stockCount: (p: { upc: string }) => {
          if (p.upc === 'p2') throw new GraphQLError('stock of p2 is unknown', { extensions: { code: 'STOCK_UNKNOWN' } });
          return p.upc.length * 10;
        },
      },
    },
  },
  reviews: {
    typeDefs: `${FED}
      type Query { review(id: ID!): Review }
      type Review @key(fields: "id") {
        id: ID!
        body: String!
        author: User!
        product: Product!
        flaky: String
      }
      type User @key(fields: "id") { id: ID! reviews: [Review!]! }
      type Product @key(fields: "upc") { upc: String! reviews: [Review!]! topReview: Review }`,
    resolvers: {
      Query: { review: (_: unknown, { id }: { id: string }) => reviewById.get(id) ?? null },
      Review: {
        __resolveReference: ({ id }: { id: string }) => reviewById.get(id) ?? null,
        author: (r: { author: string }) => ({ id: r.author }),
        product: (r: { product: string }) => ({ upc: r.product }),
        flaky: (r: { id: string }) => {
          if (r.id === 'r2' || r.id === 'r6') throw new GraphQLError(`review ${r.id} is flaky`, { extensions: { code: 'FLAKY' } });
          return `fine ${r.id}`;
        },
      },
      User: {
        __resolveReference: ({ id }: { id: string }) => ({ id }),
        reviews: ({ id }: { id: string }) => reviews.filter((r) => r.author === id),
      },
      Product: {
        __resolveReference: ({ upc }: { upc: string }) => ({ upc }),
        reviews: ({ upc }: { upc: string }) => reviews.filter((r) => r.product === upc),
        topReview: ({ upc }: { upc: string }) => reviews.find((r) => r.product === upc) ?? null,
      },
    },
  },
} as const;
type SubgraphName = keyof typeof subgraphs;

/**
 * What each subgraph received: one entry per fetch, with its representations (a merged request,
 * one per `_entities` field, each with its own `…representations` variable) and the number of
 * the HTTP request it came in.
 */
interface Received {
  readonly subgraph: SubgraphName;
  readonly query: string;
  readonly representations: readonly unknown[] | undefined;
  readonly request: number;
}

// ---------------------------------------------------------------------------------------------
// Harness: the four subgraphs, then a stock and a lean gateway over them.

const received: Received[] = [];
let requests = 0;
/** While set, the subgraph answers every request with HTTP 500 and a GraphQL error. */
const failing = new Set<SubgraphName>();
/** While set, the subgraph refuses (HTTP 400) every operation with more than one root field, as an alias limit would. */
const refusing = new Set<SubgraphName>();
/** Which executor ran each plan on the lean gateway. */
const executed: ('lean' | 'stock')[] = [];
const servers = new Map<SubgraphName, ApolloServer>();
let stock: ApolloServer;
let lean: ApolloServer;
/** Lean executors over our data source (gateway/transport/), fetches merged or not. */
let merging: ApolloServer;
let separate: ApolloServer;
/** The connection pools of our data sources. */
const pools = new SubgraphPools();

beforeAll(async () => {
  const urls = {} as Record<SubgraphName, string>;
  for (const name of Object.keys(subgraphs) as SubgraphName[]) {
    const { typeDefs, resolvers } = subgraphs[name];
    const recorder: ApolloServerPlugin = {
      async requestDidStart({ request }) {
        const number = ++requests;
        const query = request.query ?? '';
        const reps = Object.entries(request.variables ?? {}).filter(([k, v]) => /(^|_)representations$/.test(k) && Array.isArray(v));
        if (reps.length === 0) received.push({ subgraph: name, query, representations: undefined, request: number });
        for (const [, v] of reps) received.push({ subgraph: name, query, representations: v as unknown[], request: number });
        return {
          async didResolveOperation({ operation }) {
            if (failing.has(name)) throw new GraphQLError(`${name} is failing`, { extensions: { code: 'DOWN', http: { status: 500 } } });
            if (refusing.has(name) && (operation?.selectionSet.selections.length ?? 0) > 1) {
              throw new GraphQLError('one root field per operation', { extensions: { code: 'REFUSED', http: { status: 400 } } });
            }
          },
        };
      },
    };
    const server = new ApolloServer({
      schema: buildSubgraphSchema([{ typeDefs: parse(typeDefs), resolvers: resolvers as never }]),
      plugins: [recorder],
      includeStacktraceInErrorResponses: false,
    });
    const { url } = await startStandaloneServer(server, { listen: { port: 0, host: '127.0.0.1' } });
    servers.set(name, server);
    urls[name] = url;
  }
  const composed = composeServices(
    (Object.keys(subgraphs) as SubgraphName[]).map((name) => ({ name, url: urls[name], typeDefs: parse(subgraphs[name].typeDefs) })),
  );
  if (composed.errors) throw new Error(composed.errors.map((e) => e.message).join('\n'));
  const gatewayServer = async (withLean: boolean, ours?: { mergeFetches: boolean }) => {
    const gateway = new ApolloGateway({
      supergraphSdl: composed.supergraphSdl,
      buildService: ({ name, url }) =>
        ours
          ? new SubgraphDataSource({ name, url: url!, pools, timeoutMs: 10_000, circuit: { failureThreshold: 2, resetMs: 60_000 }, dedupe: false })
          : new RemoteGraphQLDataSource({ url }),
    });
    if (withLean) useLeanExecutor(gateway, { onExecute: ({ executor }) => executed.push(executor), ...ours });
    const server = new ApolloServer({ gateway, includeStacktraceInErrorResponses: false });
    await server.start();
    return server;
  };
  stock = await gatewayServer(false);
  lean = await gatewayServer(true);
  merging = await gatewayServer(true, { mergeFetches: true });
  separate = await gatewayServer(true, { mergeFetches: false });
});

afterAll(async () => {
  await separate?.stop();
  await merging?.stop();
  await lean?.stop();
  await stock?.stop();
  await pools.close();
  for (const server of servers.values()) await server.stop();
});

interface Answer {
  /** The formatted response as the client gets it (JSON, in key order). */
  readonly text: string;
  readonly body: { data?: any; errors?: any; extensions?: any };
  /** What the subgraphs received for it. */
  readonly fetches: Received[];
  /** On the lean gateway: the executor that ran the plan (undefined when none ran). */
  readonly executor: 'lean' | 'stock' | undefined;
}

async function ask(server: ApolloServer, query: string, variables?: Record<string, unknown>): Promise<Answer> {
  const from = received.length;
  const ran = executed.length;
  const response = await server.executeOperation({ query, ...(variables ? { variables } : {}) });
  if (response.body.kind !== 'single') throw new Error('expected a single result');
  const body = response.body.singleResult as Answer['body'];
  return { text: JSON.stringify(body), body, fetches: received.slice(from), executor: executed[ran] };
}

/** Both gateways' answers; one after the other, so each one's fetches are its own. */
async function both(query: string, variables?: Record<string, unknown>): Promise<{ stock: Answer; lean: Answer }> {
  const s = await ask(stock, query, variables);
  const l = await ask(lean, query, variables);
  return { stock: s, lean: l };
}

/** Asserts identical answers, the lean one from the lean executor (unless `ranBy` says otherwise), and returns them. */
async function same(
  query: string,
  variables?: Record<string, unknown>,
  ranBy: 'lean' | 'stock' | null = 'lean',
): Promise<{ stock: Answer; lean: Answer }> {
  const answers = await both(query, variables);
  expect(answers.lean.text).toBe(answers.stock.text);
  expect(answers.lean.executor ?? null).toBe(ranBy);
  return answers;
}

/**
 * For answers whose errors come from fetches that run in parallel (a Parallel plan node): the
 * order of those errors is the order the fetches completed, on stock too. Data and extensions
 * must still be identical, and the errors the same set.
 */
async function sameUpToParallelErrorOrder(query: string, variables?: Record<string, unknown>) {
  const answers = await both(query, variables);
  expect(answers.lean.executor).toBe('lean');
  const sorted = (b: Answer['body']) => JSON.stringify({ ...b, errors: b.errors?.map((e: unknown) => JSON.stringify(e)).sort() });
  expect(sorted(answers.lean.body)).toBe(sorted(answers.stock.body));
  return answers;
}

const entityFetches = (a: Answer, subgraph: SubgraphName) => a.fetches.filter((f) => f.subgraph === subgraph && f.representations);
/** The HTTP requests a subgraph received for an answer. */
const requestsTo = (a: Answer, subgraph: SubgraphName) => new Set(a.fetches.filter((f) => f.subgraph === subgraph).map((f) => f.request)).size;

// ---------------------------------------------------------------------------------------------

describe('lean executor, same answers as stock @apollo/gateway', () => {
  it('entities referenced many times: same data, each distinct representation sent once', async () => {
    const { stock: s, lean: l } = await same(`{
      users {
        id name
        reviews {
          id body
          product { upc name price inStock shippingEstimate reviews { id author { id name nickname } } }
        }
      }
    }`);
    expect(s.body.errors).toBeUndefined();
    expect(s.body.data.users).toHaveLength(4);
    expect(s.body.data.users[0].reviews[0].product).toMatchObject({ upc: 'p1', name: 'Table', inStock: true, shippingEstimate: 0 });
    // Same fetches, same subgraphs, in the same number…
    expect(l.fetches.map((f) => f.subgraph).sort()).toEqual(s.fetches.map((f) => f.subgraph).sort());
    // …but the 8 product references (3 distinct products) go to inventory once each.
    const stockInventory = entityFetches(s, 'inventory').map((f) => f.representations!.length);
    const leanInventory = entityFetches(l, 'inventory').map((f) => f.representations!.length);
    expect(stockInventory.reduce((a, b) => a + b)).toBeGreaterThan(leanInventory.reduce((a, b) => a + b));
    for (const f of entityFetches(l, 'inventory')) {
      expect(new Set(f.representations!.map((r) => JSON.stringify(r))).size).toBe(f.representations!.length);
      expect(f.representations!.length).toBeLessThanOrEqual(3);
    }
    // Authors: 8 reviews' authors among 4 users.
    const authorReps = entityFetches(l, 'accounts').flatMap((f) => f.representations!);
    expect(authorReps.length).toBeLessThanOrEqual(4);
  });

  it('nested entity chains (user → reviews → product → reviews → author → reviews → product)', async () => {
    const { stock: s } = await same(`{
      products {
        upc
        reviews { id author { name reviews { id product { name shippingEstimate reviews { author { nickname } } } } } }
      }
    }`);
    expect(s.body.data.products[2].reviews[0].author.reviews[0].product.name).toBe('Lamp');
  });

  it('@requires: fields fetched from another subgraph become the representation', async () => {
    const { stock: s, lean: l } = await same('{ products { upc shippingEstimate } productList { name shippingEstimate inStock } }');
    expect(s.body.data.products.map((p: { shippingEstimate: number }) => p.shippingEstimate)).toEqual([0, 200, 50]);
    const reps = entityFetches(l, 'inventory').flatMap((f) => f.representations!) as { price?: number }[];
    expect(reps.some((r) => r.price === 300)).toBe(true);
  });

  it('null bubbling: a failed non-null field nulls its nearest nullable parent', async () => {
    // p2's stockCount (Int!) fails in inventory: p2's entity is null there, so p2 has no stockCount.
    // In [Product] the element becomes null…
    const list = await same('{ productList { upc stockCount } }');
    expect(list.stock.body.data.productList).toEqual([{ upc: 'p1', stockCount: 20 }, null, { upc: 'p3', stockCount: 20 }]);
    expect(list.stock.body.errors[0]).toMatchObject({ message: 'stock of p2 is unknown', path: ['productList', 1, 'stockCount'] });
    // …in [Product!]! the null goes past the list to the (nullable) data…
    const root = await same('{ products { upc stockCount } }');
    expect(root.stock.body.data).toBeNull();
    // …and through nested non-null lists to the nearest nullable field (Product.topReview).
    const nested = await same('{ products { upc topReview { id product { upc stockCount } } } }');
    expect(nested.stock.body.data.products[1]).toEqual({ upc: 'p2', topReview: null });
    // A non-null root field a subgraph answers with null.
    const rootNull = await same('{ brokenUser { id } }');
    expect(rootNull.stock.body.data).toBeNull();
    // Nothing failed in a subgraph, the data just lacks a non-null value: stock reports it in
    // extensions.valueCompletion, not as an error.
    // (r9's product p9 is unknown to products: its entity is null there, without an error.)
    const partial = await same('{ review(id: "r9") { id product { upc name } } user(id: "u9") { id } }');
    expect(partial.stock.body.data).toEqual({ review: null, user: null });
    expect(partial.stock.body.errors).toBeUndefined();
    expect(partial.stock.body.extensions).toMatchObject({
      valueCompletion: [{ message: 'Cannot return null for non-nullable field Product.name.', path: ['review', 'product', 'name'] }],
    });
    // …and a representation that cannot be built (p9 has no price for @requires) is not sent.
    await same('{ review(id: "r9") { id product { upc shippingEstimate } } }');
  });

  it('subgraph errors keep their code, get serviceName and the path in the client operation', async () => {
    const root = await same('{ failing users { id } }');
    expect(root.stock.body.errors[0]).toMatchObject({ path: ['failing'], extensions: { code: 'ON_PURPOSE', serviceName: 'accounts' } });
    const nested = await same('{ users { id secretLevel } }');
    expect(nested.stock.body.errors).toHaveLength(1);
    expect(nested.stock.body.errors[0]).toMatchObject({ path: ['users', 1, 'secretLevel'], extensions: { code: 'FORBIDDEN' } });
    // Entity fetch errors: `_entities.<i>` is mapped back to every position that representation
    // stood for (r2 and r6 are reached through several users and products).
    const entity = await same('{ products { upc reviews { id flaky author { reviews { id flaky } } } } }');
    const paths = entity.stock.body.errors.map((e: { path: unknown[] }) => e.path);
    expect(paths.length).toBeGreaterThan(2);
    expect(paths[0]).toEqual(['products', 0, 'reviews', 1, 'flaky']);
  });

  it('errors from fetches that run in parallel', async () => {
    const { stock: s } = await sameUpToParallelErrorOrder('{ users { secretLevel reviews { flaky } } productList { stockCount } }');
    expect(s.body.errors.length).toBeGreaterThan(2);
  });

  it('aliases, named and inline fragments, @skip/@include with variables and defaults', async () => {
    const query = `query Q($withName: Boolean!, $skipPrice: Boolean = false) {
      everyone: users { ...UserBits handle: name @include(if: $withName) first: id }
      products {
        upc
        cost: price @skip(if: $skipPrice)
        ... on Product { name @include(if: $withName) reviews { id } }
        ...ProductBits
        ... @include(if: $withName) { weight }
      }
      again: products { upc ... @skip(if: true) { name } }
    }
    fragment UserBits on User { id reviews { id product { upc } } reviews { body } }
    fragment ProductBits on Product { upc shippingEstimate @include(if: $withName) reviews { body author { id } } }`;
    const a = await same(query, { withName: true });
    expect(Object.keys(a.stock.body.data.everyone[0])).toEqual(['id', 'reviews', 'handle', 'first']);
    const b = await same(query, { withName: false, skipPrice: true });
    expect(b.stock.body.data.products[0]).not.toHaveProperty('cost');
    expect(b.stock.body.data.products[0]).not.toHaveProperty('name');
    // The same plan, compiled once, with the other variables again.
    await same(query, { withName: true, skipPrice: true });
    // Plan-level conditions (the planner splits on @skip/@include of a whole fetch).
    await same('query C($on: Boolean!) { users { id reviews @include(if: $on) { id } } }', { on: true });
    await same('query C($on: Boolean!) { users { id reviews @include(if: $on) { id } } }', { on: false });
  });

  it('__typename: root, objects, aliased, in unions', async () => {
    const { stock: s } = await same(`{
      __typename
      t: __typename
      users { __typename id kind: __typename }
      search { __typename ... on Product { upc name price } ... on Book { isbn title } }
    }`);
    expect(s.body.data.__typename).toBe('Query');
    expect(s.body.data.search.map((x: { __typename: string }) => x.__typename)).toEqual(['Product', 'Book', 'Product', 'Product']);
  });

  it('abstract types: interfaces and unions, with entity fetches under type conditions', async () => {
    await same('{ animals { name ... on Dog { barks } ... on Cat { lives } } }');
    await same('{ animals { ... on Cat { name lives } } }');
    const { stock: s } = await same('{ search { ... on Product { upc shippingEstimate reviews { id author { name } } } ... on Book { title } } }');
    expect(s.body.data.search[1]).toEqual({ title: 'Dune' });
  });

  it('a mutation, then entity fetches on its result', async () => {
    const { stock: s } = await same('mutation { rename(id: "u3", name: "Cy") { id name reviews { id product { name inStock } } } }');
    expect(s.body.data.rename.reviews).toHaveLength(2);
  });

  it('introspection and invalid variables are answered as stock answers them', async () => {
    // Introspection is left to stock executeQueryPlan.
    await same('{ __schema { queryType { name } } __type(name: "User") { name fields { name } } users { id } }', undefined, 'stock');
    // Refused before any plan is executed.
    const invalid = await same('query($id: ID!) { user(id: $id) { name } }', undefined, null);
    expect(invalid.stock.body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
    const coerced = await same('query($id: ID!) { user(id: $id) { name } }', { id: 'u1' });
    expect(coerced.stock.body.data.user.name).toBe('Ada');
  });

  it('fetches to one subgraph that are ready together go as one request, answers unchanged', async () => {
    // Products and productList come in one fetch; their inventory fields are two entity fetches
    // (one per path) that the plan runs in parallel: one request on the lean executor.
    const query = '{ products { upc inStock shippingEstimate } productList { upc name inStock } }';
    const { stock: s, lean: l } = await same(query);
    expect(s.body.errors).toBeUndefined();
    expect(requestsTo(s, 'inventory')).toBe(2);
    expect(requestsTo(l, 'inventory')).toBe(1);
    expect(entityFetches(l, 'inventory')).toHaveLength(2);
    expect(entityFetches(l, 'inventory')[0]!.query.match(/\b_e\d+: _entities\(/g)).toHaveLength(2);
    // The same over our data source, merged or not (and again, from the cached merged operation).
    for (let i = 0; i < 2; i++) {
      const m = await ask(merging, query);
      const sep = await ask(separate, query);
      expect(m.text).toBe(s.text);
      expect(sep.text).toBe(s.text);
      expect(requestsTo(m, 'inventory')).toBe(1);
      expect(requestsTo(sep, 'inventory')).toBe(2);
    }
  });

  it('one merged fetch failing: its errors on its own paths, the other fetch unaffected', async () => {
    // p2's stockCount fails in the productList fetch only.
    const one = await same('{ products { upc inStock } productList { upc stockCount } }');
    expect(requestsTo(one.lean, 'inventory')).toBe(1);
    expect(one.stock.body.data.products[1]).toEqual({ upc: 'p2', inStock: true });
    expect(one.stock.body.errors.map((e: { path: unknown }) => e.path)).toEqual([['productList', 1, 'stockCount']]);
    // Both merged fetches failing for p2: errors of parallel fetches, in completion order on stock.
    const two = await sameUpToParallelErrorOrder('{ productList { upc stockCount } again: productList { upc inStock stockCount } }');
    expect(requestsTo(two.lean, 'inventory')).toBe(1);
    expect(two.stock.body.errors).toHaveLength(2);
    const ours = await ask(merging, '{ productList { upc stockCount } again: productList { upc inStock stockCount } }');
    expect(ours.body).toEqual(two.lean.body);
  });

  it('a subgraph refusing the merged request (HTTP 4xx): each fetch is sent again on its own', async () => {
    const query = '{ products { upc inStock } productList { upc stockCount } }';
    refusing.add('inventory');
    try {
      const { stock: s, lean: l } = await same(query);
      expect(s.body.errors.map((e: { path: unknown }) => e.path)).toEqual([['productList', 1, 'stockCount']]);
      expect(requestsTo(l, 'inventory')).toBe(3); // the merged one, refused, then one per fetch
      const m = await ask(merging, query);
      expect(m.text).toBe(s.text);
      expect(requestsTo(m, 'inventory')).toBe(3);
    } finally {
      refusing.delete('inventory');
    }
  });

  it('the whole merged request failing (HTTP 500, then circuit open): as if each fetch had failed alone', async () => {
    const query = '{ products { upc name inStock } productList { upc inStock } }';
    failing.add('inventory');
    try {
      // Stock's data source throws: the same error for each fetch.
      const { stock: s, lean: l } = await same(query);
      expect(s.body.errors).toHaveLength(2);
      expect(s.body.errors[0]).toMatchObject({ message: '500: Internal Server Error' });
      expect(requestsTo(l, 'inventory')).toBe(1);
      // Ours answers each failed fetch with coded errors on the fetch's path.
      const m = await ask(merging, query);
      const sep = await ask(separate, query); // two failed requests: its circuit opens (threshold 2)
      expect(m.text).toBe(sep.text);
      expect(m.body.errors).toHaveLength(2);
      expect(m.body.errors[0]).toMatchObject({ message: '500: Internal Server Error', extensions: { code: 'DOWN', serviceName: 'inventory' } });
      expect(m.body.data.products[0]).toEqual({ upc: 'p1', name: 'Table', inStock: null });
      expect(requestsTo(m, 'inventory')).toBe(1);
      expect(requestsTo(sep, 'inventory')).toBe(2);
      await ask(merging, query); // a second failed request: this circuit opens too
      const mOpen = await ask(merging, query);
      const sepOpen = await ask(separate, query);
      const untimed = (a: Answer) => a.text.replace(/for \d+ ms more/g, 'for N ms more'); // the time left differs
      expect(untimed(mOpen)).toBe(untimed(sepOpen));
      expect(mOpen.body.errors).toHaveLength(2);
      expect(mOpen.body.errors[0].extensions.code).toBe('SUBGRAPH_CIRCUIT_OPEN');
      expect(requestsTo(mOpen, 'inventory') + requestsTo(sepOpen, 'inventory')).toBe(0);
    } finally {
      failing.delete('inventory');
    }
  });

  it('a subgraph that is down: its fields are null with an error on their path', async () => {
    await servers.get('inventory')!.stop();
    const { stock: s } = await same('{ products { upc name inStock } }');
    expect(s.body.data.products[0]).toEqual({ upc: 'p1', name: 'Table', inStock: null });
    expect(s.body.errors[0].message).toMatch(/ECONNREFUSED|failed/);
  });
});
