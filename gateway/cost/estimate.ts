/**
 * The estimated cost of an operation, before anything runs: the cost model of ./analysis.ts over
 * the operation's fields, each list at its expected size. An upper bound: occurrences of one
 * response key are merged as execution merges them, but fields selected on different types of an
 * abstract type (`... on A { x } ... on B { x }`) are all counted, as if every item were of each.
 */
import type { FieldNode, GraphQLSchema, OperationDefinitionNode } from 'graphql';
import { CostContext, CostError, listDepth, MUTATION_COST, Variables, type CostOptions, type ResolvedField } from './analysis.ts';
import type { Fragments } from './selections.ts';

/** Field nodes an estimate walks before it gives up (fragments spread inside lists can multiply them). */
export const MAX_COST_NODES = 100_000;

/** One field's cost for one item of its parent; `sizedBy`: the size its parent's `sizedFields` gives it. */
function fieldCost(ctx: CostContext, field: ResolvedField, sizedBy?: number): number {
  const depth = field.definition ? listDepth(field.definition.type) : 0;
  const sized = field.cost?.listSize?.sizedFields ?? [];
  const own = (depth > 0 && sizedBy === undefined) || sized.length > 0 ? ctx.expectedSize(field) : undefined;
  const count = depth === 0 ? 1 : (sizedBy ?? own!) ** depth;
  let children = 0;
  for (const child of ctx.childrenOf(field)) children += fieldCost(ctx, ctx.resolve(child), sized.includes(child.name) ? own : undefined);
  return count * (ctx.weight(field) + children) + ctx.argumentsCost(field);
}

function estimate(schema: GraphQLSchema, operation: OperationDefinitionNode, fragments: Fragments, options: CostOptions, variables: Variables): number {
  let nodes = 0;
  const onField = (_node: FieldNode) => {
    if (++nodes > MAX_COST_NODES) throw new CostError('tooLarge', `has more than ${MAX_COST_NODES} selections once its fragments are expanded`);
  };
  const ctx = new CostContext(schema, options, fragments, variables, onField);
  let cost = operation.operation === 'mutation' ? MUTATION_COST : 0;
  for (const group of ctx.root(operation)) cost += fieldCost(ctx, ctx.resolve(group));
  return cost;
}

/**
 * The estimated cost of `operation` with these variables. Throws {@link CostError}: `tooLarge`
 * for an operation with more than {@link MAX_COST_NODES} field selections, `slicing` for a field
 * whose `@listSize` requires one slicing argument and did not get exactly one.
 */
export function estimateCost(
  schema: GraphQLSchema,
  operation: OperationDefinitionNode,
  fragments: Fragments,
  options: CostOptions,
  variables: Readonly<Record<string, unknown>> | undefined,
): number {
  return estimate(schema, operation, fragments, options, new Variables(operation, variables));
}

/**
 * The variables an operation's estimate depends on (slicing arguments, `@skip`/`@include`
 * conditions, arguments with a weight), found by estimating it once with every variable unknown;
 * when there are none, that estimate is the operation's cost. Throws as {@link estimateCost}.
 */
export function costVariables(
  schema: GraphQLSchema,
  operation: OperationDefinitionNode,
  fragments: Fragments,
  options: CostOptions,
): { readonly names: readonly string[]; readonly cost: number } {
  const variables = new Variables(operation, undefined, true);
  const cost = estimate(schema, operation, fragments, options, variables);
  return { names: variables.names, cost };
}
