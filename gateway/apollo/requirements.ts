/**
 * The requirements (`@requires`) of a query plan's entity fetches, read with their arguments from
 * the subgraph schemas (a plan's `requires` lists the required fields without arguments), what
 * the client selects at the same positions, and where the two, or the fields the plan fetches
 * there, disagree: Apollo's planner merges selections by response name, ignoring arguments, so
 * one response name at one position may be asked for with two sets of arguments and get only one
 * answer. ./requiresRewrite.ts separates them.
 *
 * Fields are compared by their shape: name and arguments, each argument given or defaulted
 * (`weight` and `weight(unit: GRAM)` are the same field when GRAM is the default).
 */
import {
  federationMetadata,
  parseFieldSetArgument,
  type CompositeType,
  type FieldDefinition,
  type Operation,
  type SelectionSet,
  type Supergraph,
} from '@apollo/federation-internals';
import {
  astFromValue,
  isCompositeType,
  isObjectType,
  Kind,
  OperationTypeNode,
  print,
  type ArgumentNode,
  type FieldNode,
  type GraphQLCompositeType,
  type GraphQLSchema,
  type InlineFragmentNode,
  type SelectionSetNode,
} from 'graphql';
import { appliesToParent, skippedLiterally } from './planCoverage.ts';
import { compositeTypeOf, fieldOf, positionKey, type FetchSite, type Written } from './planSites.ts';

/** `name(arg:value,…)`, every argument of the definition given or defaulted, sorted by name. */
export function fieldShape(name: string, args: readonly ArgumentNode[] | undefined, parentType: GraphQLCompositeType | undefined): string {
  const given = new Map((args ?? []).map((a) => [a.name.value, print(a.value)]));
  const parts: string[] = [];
  for (const arg of fieldOf(parentType, name)?.args ?? []) {
    const defaulted = arg.astNode?.defaultValue ?? (arg.defaultValue === undefined ? undefined : astFromValue(arg.defaultValue, arg.type));
    const value = given.get(arg.name) ?? (defaulted ? print(defaulted) : undefined);
    given.delete(arg.name);
    if (value !== undefined) parts.push(`${arg.name}:${value}`);
  }
  for (const [arg, value] of given) parts.push(`${arg}:${value}`);
  return `${name}(${parts.sort().join(',')})`;
}

/** One field an entity fetch requires (a `@requires` of one of its fields, or a field nested in one). */
export interface Requirement {
  readonly site: FetchSite;
  /** Which field of the fetch's `... on T` requires it (its index there). */
  readonly output: number;
  /** Its position in the response (the fetch's `at`, then `within`, then `name`). */
  readonly position: readonly string[];
  /** Field names from the entity to its parent (a requirement has no aliases). */
  readonly within: readonly string[];
  readonly name: string;
  readonly args: readonly ArgumentNode[] | undefined;
  readonly shape: string;
}

/** An entity fetch of one object type, and what its fields require. */
export interface EntityFetch {
  readonly site: FetchSite;
  readonly typeName: string;
  /** The `... on T` under its `_entities` field: the fields it asks for, in order. */
  readonly outputs: InlineFragmentNode;
  readonly requirements: readonly Requirement[];
}

/** A `@requires` field set as requirements; undefined when it has fragments (abstract types: not separated). */
function requirementsOf(
  selection: SelectionSet,
  base: Omit<Requirement, 'position' | 'within' | 'name' | 'args' | 'shape'>,
  within: readonly string[],
  parentType: GraphQLCompositeType | undefined,
): Requirement[] | undefined {
  const out: Requirement[] = [];
  for (const s of selection.selections()) {
    if (s.kind !== 'FieldSelection') return undefined;
    const name = s.element.name;
    const args = s.element.argumentsToNodes();
    out.push({ ...base, position: [...base.site.at, ...within, name], within, name, args, shape: fieldShape(name, args, parentType) });
    if (s.selectionSet) {
      const nested = requirementsOf(s.selectionSet, base, [...within, name], compositeTypeOf(fieldOf(parentType, name)));
      if (!nested) return undefined;
      out.push(...nested);
    }
  }
  return out;
}

/**
 * The entity fetch at a site, with its requirements; undefined when the site sends no
 * representations, `'unreadable'` when it is not one object type's fields (abstract types,
 * fragments) or its subgraph does not know them.
 */
export function entityFetch(site: FetchSite, supergraph: Supergraph, schema: GraphQLSchema): EntityFetch | 'unreadable' | undefined {
  const requires = site.fetch.requires;
  if (!requires) return undefined;
  const [fragment, ...more] = requires;
  const [outputs, ...others] = site.selectionSet?.selections ?? [];
  if (more.length || fragment?.kind !== 'InlineFragment' || !fragment.typeCondition) return 'unreadable';
  if (others.length || outputs?.kind !== Kind.INLINE_FRAGMENT || outputs.typeCondition?.name.value !== fragment.typeCondition) return 'unreadable';
  const typeName = fragment.typeCondition;
  const type = schema.getType(typeName);
  const subgraph = supergraph.subgraphs().get(site.fetch.serviceName)?.schema;
  const metadata = subgraph && federationMetadata(subgraph);
  const local = subgraph?.type(typeName);
  if (!isObjectType(type) || !metadata || !local || (local.kind !== 'ObjectType' && local.kind !== 'InterfaceType')) return 'unreadable';
  const requirements: Requirement[] = [];
  for (const [output, selection] of outputs.selectionSet.selections.entries()) {
    if (selection.kind !== Kind.FIELD) return 'unreadable';
    const definition: FieldDefinition<CompositeType> | undefined = local.field(selection.name.value);
    const directive = definition?.appliedDirectivesOf(metadata.requiresDirective())[0];
    if (!directive) continue;
    const fieldSet = parseFieldSetArgument({ parentType: local, directive });
    const required = requirementsOf(fieldSet, { site, output }, [], type);
    if (!required) return 'unreadable';
    requirements.push(...required);
  }
  return { site, typeName, outputs, requirements };
}

/** A field the client selects at a position. */
export interface ClientField {
  readonly field: FieldNode;
  readonly shape: string;
  /** Under a type condition that narrows its parent's type. */
  readonly narrowed: boolean;
}

/** What the client selects, by position (fragments expanded; literally skipped selections left out). */
export function clientFields(operation: Operation, schema: GraphQLSchema): Map<string, ClientField[]> {
  const byPosition = new Map<string, ClientField[]>();
  const rootType = schema.getRootType(operation.rootKind as OperationTypeNode);
  const walk = (set: SelectionSetNode, parentType: GraphQLCompositeType | undefined, path: readonly string[], narrowed: boolean) => {
    for (const selection of set.selections) {
      if (skippedLiterally(selection.directives)) continue;
      if (selection.kind === Kind.INLINE_FRAGMENT) {
        const condition = selection.typeCondition?.name.value;
        const named = condition ? schema.getType(condition) : parentType;
        const type = named && isCompositeType(named) ? named : parentType;
        walk(selection.selectionSet, type, path, narrowed || !appliesToParent(condition, parentType, schema));
      } else if (selection.kind === Kind.FIELD) {
        const position = [...path, (selection.alias ?? selection.name).value];
        const key = positionKey(position);
        const entry = { field: selection, shape: fieldShape(selection.name.value, selection.arguments, parentType), narrowed };
        byPosition.set(key, [...(byPosition.get(key) ?? []), entry]);
        if (selection.selectionSet) walk(selection.selectionSet, compositeTypeOf(fieldOf(parentType, selection.name.value)), position, narrowed);
      }
    }
  };
  if (rootType && isCompositeType(rootType)) walk(operation.expandAllFragments().selectionSet.toSelectionSetNode(), rootType, [], false);
  return byPosition;
}

/** A position where the requirements, the client and the plan's fetches do not all mean the same field. */
export interface Conflict {
  readonly key: string;
  readonly position: readonly string[];
  readonly readers: readonly Requirement[];
  readonly writers: readonly Written[];
  readonly client: readonly ClientField[];
}

/** Groups items by the key of their position. */
export function byPosition<T extends { readonly position: readonly string[] }>(items: readonly T[]): Map<string, T[]> {
  const grouped = new Map<string, T[]>();
  for (const item of items) {
    const key = positionKey(item.position);
    const list = grouped.get(key);
    if (list) list.push(item);
    else grouped.set(key, [item]);
  }
  return grouped;
}

/** The positions, among those some entity fetch reads, where more than one field shape meets. */
export function findConflicts(
  requirements: readonly Requirement[],
  written: ReadonlyMap<string, readonly Written[]>,
  client: ReadonlyMap<string, readonly ClientField[]>,
): Conflict[] {
  const conflicts: Conflict[] = [];
  for (const [key, readers] of byPosition(requirements)) {
    const writers = written.get(key) ?? [];
    const selected = client.get(key) ?? [];
    const shapes = new Set<string>([
      ...readers.map((r) => r.shape),
      ...writers.map((w) => fieldShape(w.field.name.value, w.field.arguments, w.parentType)),
      ...selected.map((c) => c.shape),
    ]);
    if (shapes.size > 1) conflicts.push({ key, position: readers[0]!.position, readers, writers, client: selected });
  }
  return conflicts;
}
