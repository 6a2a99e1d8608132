/**
 * The lean executor (gateway/executor/) against stock @apollo/gateway on the same small in-memory
 * subgraphs (fixtures/executorGateways.ts). Every operation's formatted response (data, errors,
 * extensions, key order included) must be the same string on both, the lean executor must be the
 * one that ran it, the lean one must send each distinct entity representation once, and must send
 * the `_entities` fetches to one subgraph that are ready together as one request (answers still
 * identical, also when one merged fetch or the whole merged request fails).
 */
import { describe, expect, it } from 'vitest';
import { executorGateways, type Answer } from './fixtures/executorGateways.ts';

const gw = executorGateways();
const { ask, same, sameUpToParallelErrorOrder, entityFetches, requestsTo } = gw;

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
    // Nothing failed in a subgraph, the data just lacks a non-null value (r9's product p9 is
    // unknown to products: its entity is null there, without an error). Stock reports it only in
    // extensions.valueCompletion, with no error; ours as the field error the spec requires.
    const partialQuery = '{ review(id: "r9") { id product { upc name } } user(id: "u9") { id } }';
    const [stockPartial, leanPartial] = [await ask(gw.stock, partialQuery), await ask(gw.lean, partialQuery)];
    expect(stockPartial.body.data).toEqual({ review: null, user: null });
    expect(stockPartial.body.errors).toBeUndefined();
    expect(stockPartial.body.extensions).toMatchObject({
      valueCompletion: [{ message: 'Cannot return null for non-nullable field Product.name.', path: ['review', 'product', 'name'] }],
    });
    expect(leanPartial.executor).toBe('lean');
    expect(leanPartial.text).toBe(
      JSON.stringify({ errors: [{ message: 'Cannot return null for non-nullable field Product.name.', path: ['review', 'product', 'name'], extensions: { code: 'INVALID_GRAPHQL' } }], data: { review: null, user: null } }),
    );
    // …and a representation that cannot be built (p9 has no price for @requires) is not sent:
    // the same fetches as stock, and the same violation, reported as an error.
    const unbuilt = '{ review(id: "r9") { id product { upc shippingEstimate } } }';
    const [stockUnbuilt, leanUnbuilt] = [await ask(gw.stock, unbuilt), await ask(gw.lean, unbuilt)];
    const sent = (a: Answer) => a.fetches.map(({ subgraph, query, representations }) => ({ subgraph, query, representations }));
    expect(leanUnbuilt.executor).toBe('lean');
    expect(sent(leanUnbuilt)).toEqual(sent(stockUnbuilt));
    expect(leanUnbuilt.body.data).toEqual(stockUnbuilt.body.data);
    expect(JSON.parse(leanUnbuilt.text).errors).toEqual(JSON.parse(stockUnbuilt.text).extensions.valueCompletion);
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
      const m = await ask(gw.merging, query);
      const sep = await ask(gw.separate, query);
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
    const ours = await ask(gw.merging, '{ productList { upc stockCount } again: productList { upc inStock stockCount } }');
    expect(ours.body).toEqual(two.lean.body);
  });

  it('a subgraph refusing the merged request (HTTP 4xx): each fetch is sent again on its own', async () => {
    const query = '{ products { upc inStock } productList { upc stockCount } }';
    gw.refusing.add('inventory');
    try {
      const { stock: s, lean: l } = await same(query);
      expect(s.body.errors.map((e: { path: unknown }) => e.path)).toEqual([['productList', 1, 'stockCount']]);
      expect(requestsTo(l, 'inventory')).toBe(3); // the merged one, refused, then one per fetch
      const m = await ask(gw.merging, query);
      expect(m.text).toBe(s.text);
      expect(requestsTo(m, 'inventory')).toBe(3);
    } finally {
      gw.refusing.delete('inventory');
    }
  });

  it('the whole merged request failing (HTTP 500, then circuit open): as if each fetch had failed alone', async () => {
    const query = '{ products { upc name inStock } productList { upc inStock } }';
    gw.failing.add('inventory');
    try {
      // Stock's data source throws: the same error for each fetch.
      const { stock: s, lean: l } = await same(query);
      expect(s.body.errors).toHaveLength(2);
      expect(s.body.errors[0]).toMatchObject({ message: '500: Internal Server Error' });
      expect(requestsTo(l, 'inventory')).toBe(1);
      // Ours answers each failed fetch with coded errors on the fetch's path.
      const m = await ask(gw.merging, query);
      const sep = await ask(gw.separate, query); // two failed requests: its circuit opens (threshold 2)
      expect(m.text).toBe(sep.text);
      expect(m.body.errors).toHaveLength(2);
      expect(m.body.errors[0]).toMatchObject({ message: '500: Internal Server Error', extensions: { code: 'DOWN', serviceName: 'inventory' } });
      expect(m.body.data.products[0]).toEqual({ upc: 'p1', name: 'Table', inStock: null });
      expect(requestsTo(m, 'inventory')).toBe(1);
      expect(requestsTo(sep, 'inventory')).toBe(2);
      await ask(gw.merging, query); // a second failed request: this circuit opens too
      const mOpen = await ask(gw.merging, query);
      const sepOpen = await ask(gw.separate, query);
      const untimed = (a: Answer) => a.text.replace(/for \d+ ms more/g, 'for N ms more'); // the time left differs
      expect(untimed(mOpen)).toBe(untimed(sepOpen));
      expect(mOpen.body.errors).toHaveLength(2);
      expect(mOpen.body.errors[0].extensions.code).toBe('SUBGRAPH_CIRCUIT_OPEN');
      expect(requestsTo(mOpen, 'inventory') + requestsTo(sepOpen, 'inventory')).toBe(0);
    } finally {
      gw.failing.delete('inventory');
    }
  });

  it('a subgraph that is down: its fields are null with an error on their path', async () => {
    await gw.servers.get('inventory')!.stop();
    const { stock: s } = await same('{ products { upc name inStock } }');
    expect(s.body.data.products[0]).toEqual({ upc: 'p1', name: 'Table', inStock: null });
    expect(s.body.errors[0].message).toMatch(/ECONNREFUSED|failed/);
  });
});
