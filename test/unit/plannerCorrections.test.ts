/**
 * The corrections of Apollo's query planner (gateway/apollo/planner.ts) on their own, over small
 * supergraphs planned in memory: the key choice, and only for corrected planners; the coverage
 * check; the requirement rewrite's refusals, each leaving the plan exactly as stock planned it; the
 * renamer for falsy values; subgraph errors on aliases put back on the field's path. The answers
 * are checked end to end, on both executors, by test/integration/differential/.
 */
import { composeServices } from '@apollo/composition';
import { operationFromDocument, Supergraph } from '@apollo/federation-internals';
import type { FetchDataRewrite, FetchNode, PlanNode, QueryPlan, QueryPlannerConfig } from '@apollo/query-planner';
import { QueryPlanner } from '@apollo/query-planner';
import { GraphQLError, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { applyRewrites } from '../../gateway/apollo/internals.ts';
import { correctPlanner, requirementRenamer, restoreAliasedErrors } from '../../gateway/apollo/planner.ts';
import { separateRequirements } from '../../gateway/apollo/requiresRewrite.ts';

const fed = (imports: string) => `extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: [${imports}])\n`;

function supergraphOf(subgraphs: Record<string, string>): Supergraph {
  const composed = composeServices(Object.entries(subgraphs).map(([name, sdl]) => ({ name, url: `http://${name}.invalid`, typeDefs: parse(sdl) })));
  if (composed.errors) throw new Error(composed.errors.map((e) => e.message).join('\n'));
  return Supergraph.build(composed.supergraphSdl);
}

/** A stock planner and a corrected one over one supergraph, and what each plans (JSON, or the error). */
function planners(supergraph: Supergraph, config: QueryPlannerConfig = {}) {
  const stock = new QueryPlanner(supergraph, config);
  const corrected = new QueryPlanner(supergraph, config);
  const warnings: string[] = [];
  correctPlanner(corrected, (message) => warnings.push(message));
  const operation = (query: string) => operationFromDocument(supergraph.apiSchema(), parse(query));
  return {
    operation,
    stock: (query: string) => stock.buildQueryPlan(operation(query)),
    corrected: (query: string) => corrected.buildQueryPlan(operation(query)),
    warnings,
  };
}

const fetches = (node: PlanNode | undefined): FetchNode[] => {
  if (!node) return [];
  if (node.kind === 'Fetch') return [node];
  if (node.kind === 'Flatten') return fetches(node.node);
  if (node.kind === 'Sequence' || node.kind === 'Parallel') return node.nodes.flatMap(fetches);
  return [];
};
const requiresOf = (plan: QueryPlan) => fetches(plan.node as PlanNode).map((f) => JSON.stringify(f.requires ?? null));

describe('key choice after @requires', () => {
  const parts = supergraphOf({
    boxes: `${fed('"@key", "@external", "@requires"')}
      type Query { box: Box }
      type Box { id: ID! part: Part! }
      type Part @key(fields: "serial", resolvable: false) @key(fields: "id") { id: ID! serial: ID! name: String @external label: String @requires(fields: "name") }`,
    names: `${fed('"@key"')} type Part @key(fields: "id") { id: ID! name: String }`,
  });
  const query = '{ box { part { label } } }';

  it('goes back through a resolvable key where stock takes the first, non-resolvable one', () => {
    const { stock, corrected } = planners(parts);
    const back = (plan: QueryPlan) => requiresOf(plan).at(-1)!;
    expect(back(stock(query))).toContain('"serial"');
    expect(back(corrected(query))).not.toContain('"serial"');
    expect(back(corrected(query))).toContain('"id"');
  });

  it('changes nothing for a planner that is not corrected, planning before or after a corrected one', () => {
    const { stock, corrected } = planners(parts);
    const before = JSON.stringify(stock(query));
    corrected(query);
    expect(JSON.stringify(stock(query))).toBe(before);
    expect(before).toContain('serial');
  });
});

describe('fields the plan does not fetch', () => {
  const labels = supergraphOf({
    nodes: `${fed('"@key"')} interface Node @key(fields: "id") { id: ID! } type Query { node: Node }`,
    labels: `${fed('"@key", "@interfaceObject"')} type Node @key(fields: "id", resolvable: false) @interfaceObject { id: ID! label: String } type Query { labelled: Node }`,
  });

  it('refuses the operation with UNRESOLVABLE_FIELD, status 400, naming the field and where', () => {
    const { corrected } = planners(labels);
    for (const query of ['{ node { label } }', '{ node { id ... on Node { label } } }', 'query ($x: Boolean!) { node { label @include(if: $x) } }']) {
      let error: unknown;
      try {
        corrected(query);
      } catch (err) {
        error = err;
      }
      expect(error, query).toBeInstanceOf(GraphQLError);
      expect((error as GraphQLError).extensions, query).toMatchObject({ code: 'UNRESOLVABLE_FIELD', field: 'Node.label', responsePath: 'node.label', http: { status: 400 } });
    }
  });

  it('plans as stock what it does not ask for, and what is fetched', () => {
    const { stock, corrected } = planners(labels);
    for (const query of ['{ node { id label @skip(if: true) } }', '{ node { id label @include(if: false) } }', '{ labelled { id label } }', '{ node { __typename } }']) {
      expect(JSON.stringify(corrected(query)), query).toBe(JSON.stringify(stock(query)));
    }
  });
});

describe('requirements with conflicting arguments', () => {
  const prices = supergraphOf({
    catalog: `${fed('"@key"')}
      type Query { items: [Item!]! things: [Thing!]! }
      union Thing = Item | Gadget
      type Gadget { id: ID! }
      type Item @key(fields: "id") { id: ID! price(currency: String!): Int }`,
    costs: `${fed('"@key", "@external", "@requires"')}
      type Item @key(fields: "id") {
        id: ID!
        price(currency: String!): Int @external
        usd: Int @requires(fields: "price(currency: \\"USD\\")")
        eur: Int @requires(fields: "price(currency: \\"EUR\\")")
      }`,
  });
  const query = '{ items { usd eur } }';
  const context = (operation: ReturnType<ReturnType<typeof planners>['operation']>) => ({
    operation,
    supergraph: prices,
    schema: prices.schema.toGraphQLJSSchema(),
    renamer: requirementRenamer,
  });

  it('separates them (the check below compares plans that can differ)', () => {
    const { stock, corrected } = planners(prices);
    expect(JSON.stringify(corrected(query))).not.toBe(JSON.stringify(stock(query)));
    expect(fetches(corrected(query).node as PlanNode)).toHaveLength(3);
  });

  it("gives the client its field back where the planner kept only the requirement's, declaring its variable", () => {
    const { corrected } = planners(prices);
    const [provider] = fetches(corrected('query ($c: String!) { items { usd price(currency: $c) } }').node as PlanNode);
    expect(provider!.operation).toBe('query($c:String!){items{__typename id price(currency:$c)price__req0:price(currency:"USD")}}');
    expect(provider!.variableUsages).toEqual(['c']);
  });

  // Scenario: each ambiguity leaves the plan exactly as stock planned it, and says why.
  it.each([
    ['named fragments in the fetches', { generateQueryFragments: true }, query, 'named fragments'],
    ['@defer', { incrementalDelivery: { enableDefer: true } }, '{ items { id ... @defer { usd eur } } }', '@defer'],
    ['abstract types', {}, '{ things { ... on Item { usd eur } } }', 'a conditional or renamed field at things.price'],
  ] as const)('refuses %s', (_name, config, text, reason) => {
    const { stock, corrected, operation } = planners(prices, config);
    const plan = stock(text);
    expect(separateRequirements(plan, context(operation(text)))).toEqual({ plan, refused: reason });
    expect(JSON.stringify(corrected(text))).toBe(JSON.stringify(plan));
  });

  it('refuses two fetches that could provide a requirement, and a subscription', () => {
    const { stock, operation } = planners(prices);
    const plan = stock(query);
    const [provider, dependent] = (plan.node as PlanNode & { kind: 'Sequence' }).nodes as [FetchNode, PlanNode];
    const twice: QueryPlan = { kind: 'QueryPlan', node: { kind: 'Sequence', nodes: [{ kind: 'Parallel', nodes: [provider, { ...provider }] }, dependent] } };
    expect(separateRequirements(twice, context(operation(query)))).toEqual({ plan: twice, refused: '2 fetches could provide items.price' });
    const subscription: QueryPlan = { kind: 'QueryPlan', node: { kind: 'Subscription', primary: provider, rest: dependent } };
    expect(separateRequirements(subscription, context(operation(query)))).toEqual({ plan: subscription, refused: 'a subscription' });
  });
});

describe('the requirement renamer', () => {
  const schema = supergraphOf({ a: `${fed('"@key"')} type Query { p: P } type P @key(fields: "id") { id: ID! }` }).schema.toGraphQLJSSchema();

  it('renames any value a representation holds, falsy ones too, through lists and type conditions', () => {
    for (const value of [0, false, '', null, 7, ['x']]) {
      const representation: Record<string, unknown> = { __typename: 'P', id: '1', price__req0: value };
      applyRewrites(schema, [requirementRenamer(['... on P', 'price__req0'], 'price')], representation);
      expect(representation).toEqual({ __typename: 'P', id: '1', price: value });
    }
    const nested = { __typename: 'P', parts: [{ cost__req1: 0 }, { cost__req1: 2 }] };
    applyRewrites(schema, [requirementRenamer(['... on P', 'parts', 'cost__req1'], 'cost')], nested);
    expect(nested).toEqual({ __typename: 'P', parts: [{ cost: 0 }, { cost: 2 }] });
  });

  it("leaves Apollo's own key renamers as Apollo applies them (truthy values only)", () => {
    const apollos: FetchDataRewrite = { kind: 'KeyRenamer', path: ['... on P', 'price__req0'], renameKeyTo: 'price' };
    const falsy: Record<string, unknown> = { __typename: 'P', price__req0: 0 };
    applyRewrites(schema, [apollos], falsy);
    expect(falsy).toEqual({ __typename: 'P', price__req0: 0 });
  });
});

describe('subgraph errors on an alias', () => {
  const aliases = new Map([['product.weight__req0', 'weight']]);
  const error = (message: string, path: (string | number)[]) => new GraphQLError(message, { path, extensions: { code: 'BROKEN' } });

  it("are put back on the field's path, a duplicate of an error there dropped", () => {
    const result = restoreAliasedErrors(
      { data: {}, errors: [error('broken', ['product', 'weight']), error('broken', ['product', 'weight__req0']), error('other', ['list', 0, 'weight__req0'])] },
      new Map([...aliases, ['list.weight__req0', 'weight']]),
    );
    expect(result.errors!.map((e) => [e.message, e.path, e.extensions['code']])).toEqual([
      ['broken', ['product', 'weight'], 'BROKEN'],
      ['other', ['list', 0, 'weight'], 'BROKEN'],
    ]);
  });

  it('leave a result without errors on aliases as it is', () => {
    const result = { data: {}, errors: [error('broken', ['product', 'weight'])] };
    expect(restoreAliasedErrors(result, aliases)).toBe(result);
  });
});
