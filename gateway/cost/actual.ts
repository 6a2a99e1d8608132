/**
 * The actual cost of an executed operation: the weights of the estimate (./analysis.ts) over the
 * data really returned, each list counted as the items it holds. Where the estimate assumes,
 * this counts; the two side by side (metrics, and the response's `extensions.cost` on request)
 * show how far the `@listSize` declarations are from the data.
 */
import { isAbstractType, isObjectType, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';
import { CostContext, MUTATION_COST, Variables, type CostOptions, type ResolvedField } from './analysis.ts';
import type { FieldGroup, Fragments } from './selections.ts';

/** Whether fields selected on type `on` apply to an object of type `typename`. */
function applies(schema: GraphQLSchema, on: string, typename: string): boolean {
  if (on === typename) return true;
  const abstract = schema.getType(on);
  const object = schema.getType(typename);
  return isAbstractType(abstract) && isObjectType(object) && schema.isSubType(abstract, object);
}

function valueCost(ctx: CostContext, field: ResolvedField, value: unknown): number {
  if (Array.isArray(value)) {
    let cost = 0;
    for (const item of value) cost += valueCost(ctx, field, item);
    return cost;
  }
  const weight = ctx.weight(field);
  if (value === null || typeof value !== 'object') return weight;
  return weight + objectCost(ctx, ctx.childrenOf(field), value as Record<string, unknown>);
}

/** Each response key of an object counted once, by the first field that selects it on the object's type. */
function objectCost(ctx: CostContext, groups: readonly FieldGroup[], object: Record<string, unknown>): number {
  const typename = typeof object['__typename'] === 'string' ? object['__typename'] : undefined;
  const counted = new Set<string>();
  let cost = 0;
  for (const group of groups) {
    if (counted.has(group.key) || !(group.key in object)) continue;
    if (typename && !applies(ctx.schema, group.on, typename)) continue;
    counted.add(group.key);
    const field = ctx.resolve(group);
    cost += valueCost(ctx, field, object[group.key]) + ctx.argumentsCost(field);
  }
  return cost;
}

/** The actual cost of `data`, the result of `operation` run with these variables. */
export function actualCost(
  schema: GraphQLSchema,
  operation: OperationDefinitionNode,
  fragments: Fragments,
  options: CostOptions,
  variables: Readonly<Record<string, unknown>> | undefined,
  data: Readonly<Record<string, unknown>>,
): number {
  const ctx = new CostContext(schema, options, fragments, new Variables(operation, variables));
  return (operation.operation === 'mutation' ? MUTATION_COST : 0) + objectCost(ctx, ctx.root(operation), data);
}
