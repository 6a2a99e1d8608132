/**
 * What the corrections of ./planner.ts read of a query plan (Apollo's `QueryPlan` format): its
 * fetches, where in the response each one's data is merged, which runs before which, and every
 * field each one writes, by its position in the response. A position is the chain of response
 * names from the root (`feed.comments`): list markers (`@`) and type conditions are left out, so
 * one position holds what every fetch writes under that name, whatever the type.
 */
import type { FetchNode, PlanNode, QueryPlan, SubscriptionNode } from '@apollo/query-planner';
import {
  getNamedType,
  isCompositeType,
  Kind,
  OperationTypeNode,
  parse,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';

/** One step from the plan's root towards a fetch: a node, and which of its children leads on. */
export interface TrailStep {
  readonly node: PlanNode | SubscriptionNode;
  readonly index: number;
}

export interface FetchSite {
  readonly fetch: FetchNode;
  /** Response names from the root of the response to where the fetch's data is merged. */
  readonly at: readonly string[];
  readonly trail: readonly TrailStep[];
  /** The fetch's operation, parsed without locations: a private copy, which a rewrite may edit. */
  readonly document: DocumentNode;
  readonly operation: OperationDefinitionNode;
  /** The selections merged at `at`: the operation's own, or those of its `_entities` field. */
  readonly selectionSet: SelectionSetNode | undefined;
  readonly fragments: ReadonlyMap<string, FragmentDefinitionNode>;
}

export interface PlanSites {
  readonly sites: readonly FetchSite[];
  /** What in this plan a rewrite must not touch (`@defer`, a subscription, a type-conditioned path), if anything. */
  readonly untouchable: string | undefined;
}

/** `feed.@.comments.@` → `['feed', 'comments']`; undefined for a type-conditioned path (`feed|[Post]`). */
function responsePath(path: readonly (string | number)[]): string[] | undefined {
  const names: string[] = [];
  for (const element of path) {
    if (element === '@' || typeof element === 'number') continue;
    if (element.includes('|') || element.startsWith('... on')) return undefined;
    names.push(element);
  }
  return names;
}

function fetchSite(fetch: FetchNode, at: readonly string[], trail: readonly TrailStep[]): FetchSite {
  const document = parse(fetch.operation, { noLocation: true });
  const operation = document.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)!;
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  let selectionSet: SelectionSetNode | undefined = operation.selectionSet;
  if (fetch.requires) {
    const entities = operation.selectionSet.selections.find((s): s is FieldNode => s.kind === Kind.FIELD && s.name.value === '_entities');
    selectionSet = entities?.selectionSet;
  }
  return { fetch, at, trail, document, operation, selectionSet, fragments };
}

/** The fetches of a plan, each parsed once. */
export function planSites(plan: QueryPlan): PlanSites {
  const sites: FetchSite[] = [];
  let untouchable: string | undefined;
  const visit = (node: PlanNode | SubscriptionNode, at: readonly string[], trail: readonly TrailStep[]): void => {
    const into = (child: PlanNode | undefined, index: number, where = at) => child && visit(child, where, [...trail, { node, index }]);
    switch (node.kind) {
      case 'Sequence':
      case 'Parallel':
        node.nodes.forEach((child, index) => into(child, index));
        return;
      case 'Flatten': {
        const path = responsePath(node.path);
        if (!path) untouchable ??= 'a type-conditioned path';
        into(node.node, 0, [...at, ...(path ?? node.path.map(String))]);
        return;
      }
      case 'Fetch':
        sites.push(fetchSite(node, at, trail));
        return;
      case 'Condition':
        into(node.ifClause, 0);
        into(node.elseClause, 1);
        return;
      case 'Defer':
        untouchable ??= '@defer';
        into(node.primary.node, 0);
        node.deferred.forEach((deferred, index) => into(deferred.node, index + 1));
        return;
      case 'Subscription':
        untouchable ??= 'a subscription';
        into(node.primary, 0);
        into(node.rest, 1);
        return;
    }
  };
  if (plan.node) visit(plan.node, [], []);
  return { sites, untouchable };
}

/** Whether the plan has a fetch that sends representations (it is the only kind a requirement rewrite touches). */
export function hasEntityFetch(node: PlanNode | SubscriptionNode | undefined): boolean {
  if (!node) return false;
  switch (node.kind) {
    case 'Sequence':
    case 'Parallel':
      return node.nodes.some(hasEntityFetch);
    case 'Flatten':
      return hasEntityFetch(node.node);
    case 'Fetch':
      return node.requires !== undefined;
    case 'Condition':
      return hasEntityFetch(node.ifClause) || hasEntityFetch(node.elseClause);
    case 'Defer':
      return hasEntityFetch(node.primary.node) || node.deferred.some((d) => hasEntityFetch(d.node));
    case 'Subscription':
      return hasEntityFetch(node.primary) || hasEntityFetch(node.rest);
  }
}

/** Whether `a` has run by the time `b` starts: they are in one Sequence (or a subscription's primary and rest), `a` first. */
export function runsBefore(a: FetchSite, b: FetchSite): boolean {
  const common = Math.min(a.trail.length, b.trail.length);
  for (let i = 0; i < common; i++) {
    const x = a.trail[i]!;
    const y = b.trail[i]!;
    if (x.index === y.index) continue;
    return (x.node.kind === 'Sequence' || x.node.kind === 'Subscription') && x.index < y.index;
  }
  return false;
}

/** A field a fetch writes. */
export interface Written {
  readonly site: FetchSite;
  /** Its position: response names from the root, its own last. */
  readonly position: readonly string[];
  readonly field: FieldNode;
  /** The selection set it is in (a rewrite adds its aliased twin there). */
  readonly parent: SelectionSetNode;
  /** Its parent type in the supergraph, when known. */
  readonly parentType: GraphQLCompositeType | undefined;
  /** Whether it is under a fragment spread or an inline fragment with a type condition. */
  readonly conditioned: boolean;
  /** Whether an output rewrite renames it (or a parent) in the response: its position is not its response name in the fetch. */
  readonly renamed: boolean;
}

/** The field definition of `name` on a composite type, if it has fields and that one. */
export function fieldOf(type: GraphQLCompositeType | undefined, name: string): GraphQLField<unknown, unknown> | undefined {
  return type && 'getFields' in type ? type.getFields()[name] : undefined;
}

/** The named composite type a field returns, if it is composite. */
export function compositeTypeOf(field: GraphQLField<unknown, unknown> | undefined): GraphQLCompositeType | undefined {
  const type = field && getNamedType(field.type);
  return type && isCompositeType(type) ? type : undefined;
}

/** The type a fetch's selections start from: the root type of its operation, or what its `_entities` fragments name. */
function startType(site: FetchSite, schema: GraphQLSchema): GraphQLCompositeType | undefined {
  if (site.fetch.requires) return undefined; // each `... on T` names it
  return schema.getRootType(site.operation.operation as OperationTypeNode) ?? undefined;
}

/**
 * The output rewrites of a fetch that rename a key (the planner aliases a field that would clash in
 * the subgraph operation and renames it back in the data): raw path → the name in the response.
 */
function outputRenames(site: FetchSite): Map<string, string> {
  const renames = new Map<string, string>();
  for (const rewrite of site.fetch.outputRewrites ?? []) {
    if (rewrite.kind === 'KeyRenamer') renames.set(positionKey(rewrite.path.filter((e) => !e.startsWith('... on '))), rewrite.renameKeyTo);
  }
  return renames;
}

/** Every field a fetch writes, in document order, at its position in the response (output renames applied). */
export function writtenFields(site: FetchSite, schema: GraphQLSchema): Written[] {
  const written: Written[] = [];
  const renames = outputRenames(site);
  type Walked = { readonly position: readonly string[]; readonly raw: readonly string[]; readonly conditioned: boolean };
  const walk = (set: SelectionSetNode, at: Walked, parentType: GraphQLCompositeType | undefined, depth: number) => {
    if (depth > 64) return; // fragments that spread each other: not Apollo's output, not followed
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        const raw = [...at.raw, (selection.alias ?? selection.name).value];
        const renamed = renames.get(positionKey(raw));
        const position = [...at.position, renamed ?? raw[raw.length - 1]!];
        written.push({ site, position, field: selection, parent: set, parentType, conditioned: at.conditioned, renamed: renamed !== undefined });
        const type = compositeTypeOf(fieldOf(parentType, selection.name.value));
        if (selection.selectionSet) walk(selection.selectionSet, { ...at, position, raw }, type, depth + 1);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const named = selection.typeCondition && schema.getType(selection.typeCondition.name.value);
        const type = named && isCompositeType(named) ? named : parentType;
        // The `... on T` of an `_entities` field (no parent type yet) names the entity, it does not narrow it.
        const narrows = !!selection.typeCondition && parentType !== undefined && named !== parentType;
        walk(selection.selectionSet, { ...at, conditioned: at.conditioned || narrows }, type, depth + 1);
      } else {
        const fragment = site.fragments.get(selection.name.value);
        const named = fragment && schema.getType(fragment.typeCondition.name.value);
        if (fragment) walk(fragment.selectionSet, { ...at, conditioned: true }, named && isCompositeType(named) ? named : parentType, depth + 1);
      }
    }
  };
  if (site.selectionSet) walk(site.selectionSet, { position: site.at, raw: [], conditioned: false }, startType(site, schema), 0);
  return written;
}

/** A position as a map key. */
export const positionKey = (position: readonly string[]): string => position.join('.');
