/**
 * The cost analysis on its own (gateway/cost/): the directives read from a composed supergraph
 * (ours, one that imports them renamed, one without them), the estimate of an operation, the
 * actual cost of a result, and the list fields `npm run compose` refuses.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { composeServices } from '@apollo/composition';
import { Supergraph } from '@apollo/federation-internals';
import { execute, getIntrospectionQuery, parse, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';
import { describe, expect, it } from 'vitest';
import { ActualCost, CostError, estimateCost, fragmentsOf, readCostDirectives, unsizedListFields, type CostOptions, type Fragments } from '../../gateway/cost/index.ts';

const root = path.resolve(import.meta.dirname, '..', '..');
const OURS = readFileSync(path.join(root, 'schema', 'supergraph.graphql'), 'utf8');

function compose(typeDefs: string): string {
  const result = composeServices([{ name: 'one', url: 'http://localhost:1/graphql', typeDefs: parse(typeDefs) }]);
  if (result.errors) throw new Error(result.errors.map((e) => e.message).join('\n'));
  return result.supergraphSdl;
}

function model(supergraphSdl: string, sizes = { listSize: 100, pageSize: 20 }): { schema: GraphQLSchema; cost: CostOptions } {
  return { schema: Supergraph.build(supergraphSdl).apiSchema().toGraphQLJSSchema(), cost: { directives: readCostDirectives(supergraphSdl), ...sizes } };
}

function estimate(m: ReturnType<typeof model>, query: string, variables?: Record<string, unknown>): number {
  const document = parse(query);
  const operation = document.definitions.find((d): d is OperationDefinitionNode => d.kind === 'OperationDefinition')!;
  return estimateCost(m.schema, operation, fragmentsOf(document.definitions), m.cost, variables);
}

const ours = model(OURS);

/** The actual cost of one result, walked afresh. */
const actualCost = (schema: GraphQLSchema, operation: OperationDefinitionNode, fragments: Fragments, cost: CostOptions, variables: Record<string, unknown> | undefined, data: Record<string, unknown>) =>
  new ActualCost(schema, operation, fragments, cost, variables).of(data);

describe('the directives of a supergraph', () => {
  it('reads ours: list sizes, slicing arguments with their sized fields, weights', () => {
    const { fields } = readCostDirectives(OURS);
    expect(fields.get('Query.provinces')).toEqual({ listSize: { assumedSize: 8, slicingArguments: [], sizedFields: [], requireOneSlicingArgument: true } });
    expect(fields.get('Query.municipalities')?.listSize).toEqual({ assumedSize: undefined, slicingArguments: ['first'], sizedFields: ['edges', 'nodes'], requireOneSlicingArgument: false });
    expect(fields.get('Query.adoptionStats')).toMatchObject({ weight: 10, listSize: { assumedSize: 100 } });
    expect(unsizedListFields(OURS)).toEqual([]);
  });

  it('reads them under the names a subgraph imported them by', () => {
    const sdl = compose(`
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: [{ name: "@listSize", as: "@size" }, { name: "@cost", as: "@weight" }])
      type Query { items(limit: Int): [Item!]! @size(slicingArguments: ["limit"]) @weight(weight: 3) }
      type Item @weight(weight: 7) { id: ID! tags: [String!]! @size(assumedSize: 4) }
    `);
    const { fields, types } = readCostDirectives(sdl);
    expect(fields.get('Query.items')).toMatchObject({ weight: 3, listSize: { slicingArguments: ['limit'], requireOneSlicingArgument: true } });
    expect(fields.get('Item.tags')?.listSize?.assumedSize).toBe(4);
    expect(types.get('Item')).toBe(7);
    const m = model(sdl);
    // items: 5 × (3 + tags 4 × 1) = 35; item weight 7 is the type's, the field's 3 wins.
    expect(estimate(m, '{ items(limit: 5) { tags } }')).toBe(35);
    // The slicing argument is required (the spec's default): none given is refused, not guessed.
    expect(() => estimate(m, '{ items { id } }')).toThrow(CostError);
  });

  it('without them, every list is LIST_SIZE_DEFAULT long and says so to compose', () => {
    const sdl = compose(`
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
      type Query { items: [Item!]! }
      type Item { id: ID! }
    `);
    expect(readCostDirectives(sdl).fields.size).toBe(0);
    expect(estimate(model(sdl, { listSize: 30, pageSize: 20 }), '{ items { id } }')).toBe(30 * 2);
    expect(unsizedListFields(sdl)).toEqual(['Query.items']);
  });
});

describe('the estimate', () => {
  it('multiplies a list by its assumed size, a page by its slicing argument, the sized fields by it', () => {
    expect(estimate(ours, '{ provinces { code name } }')).toBe(8 * 3);
    // municipalities 1 + nodes 3 × (1 + 2), edges sized too
    expect(estimate(ours, '{ municipalities(first: 3) { nodes { istatCode name } } }')).toBe(10);
    expect(estimate(ours, '{ municipalities(first: 3) { edges { node { name } } totalCount } }')).toBe(1 + 3 * (1 + 2) + 1);
    expect(estimate(ours, 'query ($n: Int) { municipalities(first: $n) { nodes { name } } }', { n: 7 })).toBe(1 + 7 * 2);
    // Not given: the default page size.
    expect(estimate(ours, '{ municipalities { nodes { name } } }')).toBe(1 + 20 * 2);
  });

  it('multiplies through nested lists without `first`, as the review attack nests them', () => {
    // calls 20 × (1 + projects 20 × (1 + call (1 + projects 20 × (1 + id))))
    expect(estimate(ours, '{ calls { projects { call { projects { id } } } } }')).toBe(20 * (1 + 20 * (1 + 1 + 20 * 2)));
  });

  it('counts every alias, and __typename like any field', () => {
    const one = estimate(ours, '{ provinces { code } }');
    expect(estimate(ours, '{ a: provinces { code } b: provinces { code } }')).toBe(2 * one);
    expect(estimate(ours, '{ provinces { code t1: __typename t2: __typename } }')).toBe(8 * 4);
    expect(estimate(ours, '{ __typename }')).toBe(1);
  });

  it('merges the occurrences of one response key, as execution does', () => {
    const once = estimate(ours, '{ provinces { code } }');
    expect(estimate(ours, '{ provinces { code } provinces { code } }')).toBe(once);
    expect(estimate(ours, '{ provinces { ...P ...P code } } fragment P on Province { code }')).toBe(once);
  });

  it('applies @skip and @include, literal or from variables', () => {
    const query = 'query ($all: Boolean!) { provinces { code name @include(if: $all) abbreviation @skip(if: true) } }';
    expect(estimate(ours, query, { all: true })).toBe(8 * 3);
    expect(estimate(ours, query, { all: false })).toBe(8 * 2);
  });

  it('weighs the aggregations, and a mutation 10 more', () => {
    expect(estimate(ours, '{ adoptionStats { count } }')).toBe(100 * (10 + 1));
    const mutation = 'mutation { changeMembership(istatCode: "004078", allianceId: null, expectedVersion: 0) { municipality { name } } }';
    expect(estimate(ours, mutation)).toBe(10 + 1 + 1 + 1);
  });

  it('sizes introspection lists from the schema being introspected', () => {
    const types = Object.keys(ours.schema.getTypeMap()).length;
    expect(estimate(ours, '{ __schema { types { name } } }')).toBe(1 + types * 2);
    // GraphiQL's query: within the anonymous budget, and far from free.
    expect(estimate(ours, getIntrospectionQuery())).toBeGreaterThan(10_000);
  });

  it('gives up on documents that expand to too many selections', () => {
    const fragments = Array.from({ length: 20 }, (_, i) => `fragment F${i} on Province { a${i}: alliance { province { ...F${i + 1} } } b${i}: alliance { province { ...F${i + 1} } } }`);
    const query = `{ provinces { ...F0 } } ${fragments.join(' ')} fragment F20 on Province { code }`;
    expect(() => estimate(ours, query)).toThrow(/more than 100000 selections/);
  });
});

describe('the actual cost', () => {
  it('counts the items really returned, with the same weights', () => {
    const document = parse('{ provinces { code t: __typename } }');
    const operation = document.definitions[0] as OperationDefinitionNode;
    const data = { provinces: [{ code: '001', t: 'Province' }, { code: '002', t: 'Province' }] };
    expect(actualCost(ours.schema, operation, new Map(), ours.cost, undefined, data)).toBe(2 * 3);
    expect(estimateCost(ours.schema, operation, new Map(), ours.cost, undefined)).toBe(8 * 3);
  });

  it('counts each key of an object once, by the fragment that applies to its type', () => {
    const document = parse('{ fundedProjects(first: 2) { nodes { beneficiary { __typename ... on Alliance { id name } ... on ReuseSolution { id } } } } }');
    const operation = document.definitions[0] as OperationDefinitionNode;
    const data = { fundedProjects: { nodes: [{ beneficiary: { __typename: 'Alliance', id: 'ali-cn', name: 'ALI Cuneo' } }, { beneficiary: { __typename: 'ReuseSolution', id: 'x' } }] } };
    // fundedProjects 1 + nodes: 2 × 1 + beneficiary (1 + __typename 1 + 2) + (1 + 1 + 1)
    expect(actualCost(ours.schema, operation, new Map(), ours.cost, undefined, data)).toBe(1 + 2 + 4 + 3);
  });

  it('one ActualCost serves result after result of its operation: types met late, lists of other lengths, nulls', () => {
    const document = parse('{ fundedProjects(first: 2) { nodes { beneficiary { __typename ... on Alliance { id name } ... on ReuseSolution { id } } } } }');
    const operation = document.definitions[0] as OperationDefinitionNode;
    const alliance = (id: string) => ({ beneficiary: { __typename: 'Alliance', id, name: id } });
    const solution = (id: string) => ({ beneficiary: { __typename: 'ReuseSolution', id } });
    const results = [
      { fundedProjects: { nodes: [alliance('a'), alliance('b')] } },
      { fundedProjects: { nodes: [solution('x'), alliance('c'), solution('y')] } },
      { fundedProjects: { nodes: [] } },
      { fundedProjects: { nodes: [{ beneficiary: null }, solution('z')] } },
      { fundedProjects: null },
    ];
    const kept = new ActualCost(ours.schema, operation, new Map(), ours.cost, undefined);
    const costs = results.map((data) => kept.of(data));
    expect(costs).toEqual(results.map((data) => actualCost(ours.schema, operation, new Map(), ours.cost, undefined, data)));
    expect(costs).toEqual([1 + 2 + 4 + 4, 1 + 3 + 3 + 4 + 3, 1, 1 + 2 + 1 + 3, 1]);
  });

  it('of GraphiQL’s introspection query is what its answer holds', () => {
    const document = parse(getIntrospectionQuery());
    const operation = document.definitions.find((d): d is OperationDefinitionNode => d.kind === 'OperationDefinition')!;
    const result = execute({ schema: ours.schema, document }) as { data: Record<string, unknown> };
    const actual = actualCost(ours.schema, operation, fragmentsOf(document.definitions), ours.cost, undefined, result.data);
    expect(actual).toBeGreaterThan(1000);
    expect(actual).toBeLessThan(estimateCost(ours.schema, operation, fragmentsOf(document.definitions), ours.cost, undefined));
  });
});
