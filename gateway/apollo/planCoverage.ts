/**
 * Whether a query plan fetches every field the operation selects. Apollo's planner drops a field
 * it concludes "can never produce a result" (for instance a field of an interface that has no
 * implementation in the subgraph that returns it, contributed only by another subgraph's
 * `@interfaceObject` with a non-resolvable key), and its parent with it: executed, such a plan
 * answers `null` there with no error. It also drops a client's field whose alias is the response
 * name of a key it needs, and the answer then fails on the key's value. {@link uncoveredField}
 * finds such a field, so that the request is refused with a clear error instead (./planner.ts).
 *
 * A field counts as fetched when some fetch of the plan writes its response name at its position
 * (./planSites.ts), whatever the type condition. Only what the planner must fetch is checked:
 * `__typename` and introspection are answered by the gateway, a selection under a type condition
 * that narrows its parent's type may legitimately be dropped (no subgraph can return that type
 * there), and a selection skipped by a literal `@skip(if: true)` or `@include(if: false)` is not
 * asked for.
 */
import type { Operation } from '@apollo/federation-internals';
import type { QueryPlan } from '@apollo/query-planner';
import {
  isAbstractType,
  isCompositeType,
  isObjectType,
  Kind,
  OperationTypeNode,
  type DirectiveNode,
  type GraphQLCompositeType,
  type GraphQLSchema,
  type SelectionNode,
  type SelectionSetNode,
} from 'graphql';
import { compositeTypeOf, fieldOf, planSites, positionKey, writtenFields, type FetchSite, type PlanSites } from './planSites.ts';

/** A selected field that no fetch of the plan writes. */
export interface UncoveredField {
  /** `Type.field`. */
  readonly coordinate: string;
  /** Its response path, `a.field`. */
  readonly path: string;
}

/** Whether a literal `@skip(if: true)` or `@include(if: false)` removes the selection. */
export function skippedLiterally(directives: readonly DirectiveNode[] | undefined): boolean {
  for (const directive of directives ?? []) {
    const condition = directive.arguments?.find((a) => a.name.value === 'if')?.value;
    if (condition?.kind !== Kind.BOOLEAN) continue;
    if (directive.name.value === 'skip' && condition.value) return true;
    if (directive.name.value === 'include' && !condition.value) return true;
  }
  return false;
}

/**
 * Whether an inline fragment applies to every value of its parent's type: no type condition, the
 * parent type itself, or an abstract type the parent (an object type) belongs to.
 */
export function appliesToParent(typeCondition: string | undefined, parentType: GraphQLCompositeType | undefined, schema: GraphQLSchema): boolean {
  if (!typeCondition || typeCondition === parentType?.name) return true;
  const condition = schema.getType(typeCondition);
  return !!condition && isAbstractType(condition) && isObjectType(parentType) && schema.isSubType(condition, parentType);
}

/** The positions every fetch of the plan writes (output renames applied). */
function writtenPositions(sites: readonly FetchSite[], schema: GraphQLSchema): Set<string> {
  const written = new Set<string>();
  for (const site of sites) for (const { position } of writtenFields(site, schema)) written.add(positionKey(position));
  return written;
}

/** The selections to check in a selection set: not skipped, not `__` fields, not under narrowing type conditions. */
function checked(set: SelectionSetNode, parentType: GraphQLCompositeType | undefined, schema: GraphQLSchema): SelectionNode[] {
  const out: SelectionNode[] = [];
  for (const selection of set.selections) {
    if (skippedLiterally(selection.directives)) continue;
    if (selection.kind === Kind.FIELD) {
      if (!selection.name.value.startsWith('__')) out.push(selection);
    } else if (selection.kind === Kind.INLINE_FRAGMENT && appliesToParent(selection.typeCondition?.name.value, parentType, schema)) {
      out.push(...checked(selection.selectionSet, parentType, schema));
    }
  }
  return out;
}

/** The first field of an operation (depth first, its deepest unfetched descendant) that the plan does not fetch. */
export function uncoveredField(plan: QueryPlan, operation: Operation, schema: GraphQLSchema, planned: PlanSites = planSites(plan)): UncoveredField | undefined {
  const rootType = schema.getRootType(operation.rootKind as OperationTypeNode);
  if (!rootType || !isCompositeType(rootType)) return undefined;
  if (planned.untouchable === '@defer') return undefined; // deferred parts are planned apart: not checked
  const written = writtenPositions(planned.sites, schema);
  const client = operation.expandAllFragments().selectionSet.toSelectionSetNode();

  const find = (set: SelectionSetNode, parentType: GraphQLCompositeType | undefined, path: readonly string[], missing: boolean): UncoveredField | undefined => {
    for (const selection of checked(set, parentType, schema)) {
      if (selection.kind !== Kind.FIELD) continue;
      const position = [...path, (selection.alias ?? selection.name).value];
      const unfetched = missing || !written.has(positionKey(position));
      const type = compositeTypeOf(fieldOf(parentType, selection.name.value));
      const deeper = selection.selectionSet && find(selection.selectionSet, type, position, unfetched);
      if (deeper) return deeper;
      if (unfetched) return { coordinate: `${parentType?.name ?? '?'}.${selection.name.value}`, path: positionKey(position) };
    }
    return undefined;
  };
  return find(client, rootType, [], false);
}
