/**
 * A rewrite of Apollo query plans, after planning and in Apollo's own plan format (so that the lean
 * executor and stock's run the same plan), for the positions where a requirement and the client's
 * field, or two requirements, need one response name with different arguments (./requirements.ts
 * finds them). Stock merges them into one field and answers one of them wrong: the client gets
 * `comments(limit: 3)` for its `comments(limit: 1)`, or a `@requires` gets `price(currency: EUR)`
 * for its `price(currency: USD)`.
 *
 * At each such position the response name keeps the client's field (or, when the client does not
 * select it, what the plan fetches there), and every requirement that needs another field is read
 * from a reserved alias its providing fetch adds (`comments__req0: comments(limit: 3) { … }`):
 * the dependent fetch's `requires` reads the alias and an input rewrite (a key renamer, see
 * ./planner.ts) puts it back under its name in the representation. A fetch that wrote another
 * field under the client's name loses it when another fetch writes the client's field, or gets the
 * client's arguments back (declaring its variables) when none does. A dependent fetch whose fields
 * need conflicting inputs is split into one fetch per consistent set of inputs, run in parallel
 * (the lean executor's request merging still sends them as one request).
 *
 * Whenever anything is ambiguous (named fragments, abstract types, fields under type conditions or
 * directives, several fetches that could provide a requirement, fetches nested under a separated
 * field, @defer, subscriptions) the plan is left exactly as it is.
 */
import type { Operation, Supergraph } from '@apollo/federation-internals';
import { federationMetadata, parseFieldSetArgument } from '@apollo/federation-internals';
import type { FetchDataRewrite, FetchNode, PlanNode, QueryPlan, QueryPlanSelectionNode } from '@apollo/query-planner';
import { Kind, print, stripIgnoredCharacters, visit, type FieldNode, type GraphQLSchema, type SelectionNode } from 'graphql';
import { hasEntityFetch, planSites, positionKey, runsBefore, writtenFields, type FetchSite, type PlanSites, type Written } from './planSites.ts';
import { byPosition, clientFields, entityFetch, fieldShape, findConflicts, type Conflict, type EntityFetch, type Requirement } from './requirements.ts';

export interface RewriteContext {
  /** The client's operation, as planned. */
  readonly operation: Operation;
  readonly supergraph: Supergraph;
  /** The supergraph as a graphql-js schema (types, argument defaults). */
  readonly schema: GraphQLSchema;
  /** The input rewrite that renames an aliased requirement back in a representation. */
  readonly renamer: (path: string[], renameKeyTo: string) => FetchDataRewrite;
}

/** The plan, and why it was left as it was when a rewrite was needed but refused. */
export interface RewriteOutcome {
  readonly plan: QueryPlan;
  readonly refused?: string;
  /**
   * The positions of the aliases the rewrite added (`product.weight__req0`), with the name each
   * stands for: a subgraph error on an aliased field comes back on the alias's path.
   */
  readonly aliases?: ReadonlyMap<string, string>;
}

class Refusal extends Error {}

/** What one rewrite decides. */
interface Decisions {
  /** For each requirement at a conflict: the key it is read under (its name, or an alias). */
  readonly readKey: Map<Requirement, string>;
  /** Aliased twins to add after a fetched field: alias name and the requirement's arguments. */
  readonly twins: Map<Written, Map<string, Requirement>>;
  readonly removed: Set<Written>;
  /** Fields that get the client's arguments back. */
  readonly restored: Map<Written, FieldNode>;
  /** Alias positions, with the name each stands for. */
  readonly aliases: Map<string, string>;
}

const shapeOf = (w: Written) => fieldShape(w.field.name.value, w.field.arguments, w.parentType);
const startsWith = (path: readonly string[], prefix: readonly string[]) => prefix.length <= path.length && prefix.every((p, i) => path[i] === p);

/** Names in use under each parent position (fetched or selected), for choosing aliases. */
function namesInUse(written: readonly Written[], client: ReadonlyMap<string, unknown>): Map<string, Set<string>> {
  const names = new Map<string, Set<string>>();
  const add = (position: readonly string[]) => {
    const parent = positionKey(position.slice(0, -1));
    if (!names.has(parent)) names.set(parent, new Set());
    names.get(parent)!.add(position[position.length - 1]!);
  };
  for (const w of written) add(w.position);
  for (const key of client.keys()) add(key.split('.'));
  return names;
}

/** The one field a fetch that has run before `reader` writes at the position; refused when there is not exactly one. */
function providerOf(conflict: Conflict, reader: Requirement): Written {
  const before = conflict.writers.filter((w) => w.site !== reader.site && runsBefore(w.site, reader.site));
  if (before.length !== 1) throw new Refusal(`${before.length} fetches could provide ${conflict.key}`);
  return before[0]!;
}

function decide(conflicts: readonly Conflict[], sites: readonly FetchSite[], names: Map<string, Set<string>>): Decisions {
  const d: Decisions = { readKey: new Map(), twins: new Map(), removed: new Set(), restored: new Map(), aliases: new Map() };
  const chosen = new Map<string, string>();
  for (const conflict of conflicts) {
    const { client, writers, readers, key } = conflict;
    if (new Set(client.map((c) => c.shape)).size > 1 || client.some((c) => c.narrowed || c.field.directives?.length)) throw new Refusal(`the client's ${key}`);
    if (writers.some((w) => w.conditioned || w.renamed || w.field.directives?.length)) throw new Refusal(`a conditional or renamed field at ${key}`);
    if (sites.some((s) => startsWith(s.at, conflict.position))) throw new Refusal(`a fetch nested under ${key}`);
    const selected = client[0];
    const fetched = new Set(writers.map(shapeOf));
    if (!selected && fetched.size !== 1) throw new Refusal(`several fields fetched at ${key}, none selected`);
    const target = selected?.shape ?? [...fetched][0]!;
    for (const reader of readers) {
      if (reader.shape === target) {
        d.readKey.set(reader, reader.name);
        continue;
      }
      const provider = providerOf(conflict, reader);
      const memo = `${sites.indexOf(provider.site)}|${key}|${reader.shape}`;
      let alias = chosen.get(memo);
      if (!alias) {
        const taken = names.get(positionKey(conflict.position.slice(0, -1)))!;
        for (let i = 0; taken.has((alias = `${reader.name}__req${i}`)); i++);
        taken.add(alias);
        chosen.set(memo, alias);
        d.aliases.set(positionKey([...conflict.position.slice(0, -1), alias]), reader.name);
        if (!d.twins.has(provider)) d.twins.set(provider, new Map());
        d.twins.get(provider)!.set(alias, reader);
      }
      d.readKey.set(reader, alias);
    }
    for (const w of writers) {
      if (!selected || shapeOf(w) === target) continue;
      if (writers.some((o) => shapeOf(o) === target)) d.removed.add(w);
      else d.restored.set(w, selected.field);
    }
    for (const reader of readers) {
      if (d.readKey.get(reader) !== reader.name) continue;
      const provided = writers.some((w) => runsBefore(w.site, reader.site) && (d.restored.has(w) || (shapeOf(w) === target && !d.removed.has(w))));
      if (!provided) throw new Refusal(`nothing provides ${key} to a fetch that reads it`);
    }
  }
  const aliased = conflicts.filter((c) => c.readers.some((r) => d.readKey.get(r) !== r.name)).map((c) => c.position);
  for (const c of conflicts) if (aliased.some((a) => a.length < c.position.length && startsWith(c.position, a))) throw new Refusal(`${c.key} under a separated field`);
  return d;
}

/** Applies the decisions to the providing fetches' documents (private copies). */
function editProviders(d: Decisions, operation: Operation): Set<FetchSite> {
  const edited = new Set<FetchSite>();
  for (const [w, twins] of d.twins) {
    const selections = w.parent.selections as SelectionNode[];
    const at = selections.indexOf(w.field);
    const added: FieldNode[] = [...twins].map(([alias, r]) => ({
      kind: Kind.FIELD,
      alias: { kind: Kind.NAME, value: alias },
      name: { kind: Kind.NAME, value: r.name },
      ...(r.args?.length ? { arguments: r.args } : {}),
      ...(w.field.selectionSet ? { selectionSet: structuredClone(w.field.selectionSet) } : {}),
    }));
    selections.splice(at + 1, 0, ...added);
    edited.add(w.site);
  }
  for (const [w, client] of d.restored) {
    (w.field as { arguments?: FieldNode['arguments'] }).arguments = client.arguments;
    for (const variable of variablesIn(client)) declare(w.site, variable, operation);
    edited.add(w.site);
  }
  for (const w of d.removed) {
    const selections = w.parent.selections as SelectionNode[];
    selections.splice(selections.indexOf(w.field), 1);
    if (selections.length === 0) throw new Refusal(`nothing left beside ${positionKey(w.position)}`);
    edited.add(w.site);
  }
  return edited;
}

function variablesIn(node: FieldNode): string[] {
  const names: string[] = [];
  visit(node, { Variable: (v) => void names.push(v.name.value) });
  return names;
}

/** Declares one of the client's variables in a fetch's operation (a restored field uses it). */
function declare(site: FetchSite, variable: string, operation: Operation): void {
  const op = site.operation as { variableDefinitions?: readonly unknown[] };
  const defined = site.operation.variableDefinitions ?? [];
  if (defined.some((v) => v.variable.name.value === variable)) return;
  const definition = operation.variableDefinitions.definition(variable)?.toVariableDefinitionNode();
  if (!definition) throw new Refusal(`the variable $${variable} is not the client's`);
  op.variableDefinitions = [...defined, structuredClone(definition)];
}

/** A consistent set of a dependent fetch's fields: each position read under one key. */
interface Group {
  readonly outputs: Set<number>;
  readonly keys: Map<string, string>;
}

function groupsOf(entity: EntityFetch, readKey: ReadonlyMap<Requirement, string>): Group[] {
  const perOutput = new Map<number, Map<string, string>>();
  for (const r of entity.requirements) {
    const key = readKey.get(r);
    if (key === undefined) continue;
    if (!perOutput.has(r.output)) perOutput.set(r.output, new Map());
    perOutput.get(r.output)!.set(positionKey(r.position), key);
  }
  const groups: Group[] = [];
  for (let output = 0; output < entity.outputs.selectionSet.selections.length; output++) {
    const keys = [...(perOutput.get(output) ?? [])];
    let group = groups.find((g) => keys.every(([p, k]) => (g.keys.get(p) ?? k) === k));
    if (!group) groups.push((group = { outputs: new Set(), keys: new Map() }));
    group.outputs.add(output);
    for (const [p, k] of keys) group.keys.set(p, k);
  }
  return groups;
}

/** The top-level fields of the entity's keys in the fetch's subgraph: never left out of a representation. */
function keyFields(entity: EntityFetch, supergraph: Supergraph): Set<string> {
  const schema = supergraph.subgraphs().get(entity.site.fetch.serviceName)!.schema;
  const type = schema.type(entity.typeName) as Parameters<typeof parseFieldSetArgument>[0]['parentType'];
  const names = new Set<string>(['__typename']);
  for (const key of type.appliedDirectivesOf(federationMetadata(schema)!.keyDirective())) {
    for (const s of parseFieldSetArgument({ parentType: type, directive: key }).selections()) if (s.kind === 'FieldSelection') names.add(s.element.name);
  }
  return names;
}

/** The `requires` of one group: keys, the group's requirements, each read under its key. */
function requiresOf(entity: EntityFetch, group: Group, keys: ReadonlySet<string>): QueryPlanSelectionNode[] {
  const [fragment] = entity.site.fetch.requires! as [QueryPlanSelectionNode & { kind: 'InlineFragment' }];
  const tops = new Set(entity.requirements.map((r) => r.within[0] ?? r.name));
  const needed = new Set(entity.requirements.filter((r) => group.outputs.has(r.output)).map((r) => r.within[0] ?? r.name));
  const read = (s: QueryPlanSelectionNode, path: readonly string[]): QueryPlanSelectionNode => {
    if (s.kind === 'InlineFragment') return { ...s, selections: s.selections.map((c) => read(c, path)) };
    const position = [...path, s.name];
    const key = group.keys.get(positionKey(position));
    const aliased = key !== undefined && key !== s.name ? { ...s, alias: key } : s;
    return s.selections ? { ...aliased, selections: s.selections.map((c) => read(c, position)) } : aliased;
  };
  const kept = fragment.selections.filter((s) => s.kind !== 'Field' || !tops.has(s.name) || needed.has(s.name) || keys.has(s.name));
  return [{ ...fragment, selections: kept.map((s) => read(s, entity.site.at)) }];
}

/** A fetch node for a (possibly edited) document: its text printed, unused variables dropped. */
function fetchNodeOf(original: FetchNode, site: FetchSite, document = site.document, changes: Partial<FetchNode> = {}): FetchNode {
  const op = document.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION)!;
  const used = new Set<string>();
  for (const d of document.definitions) visit(d.kind === Kind.OPERATION_DEFINITION ? d.selectionSet : d, { Variable: (v) => void used.add(v.name.value) });
  const definitions = op.variableDefinitions;
  if (definitions) (op as { variableDefinitions?: typeof definitions }).variableDefinitions = definitions.filter((v) => used.has(v.variable.name.value));
  const before = original.variableUsages ?? [];
  const variableUsages = [...before.filter((v) => used.has(v)), ...[...used].filter((v) => v !== 'representations' && !before.includes(v))];
  return {
    ...original,
    operation: stripIgnoredCharacters(print(document)),
    variableUsages,
    ...(original.operationDocumentNode ? { operationDocumentNode: document } : {}),
    ...changes,
  };
}

/** The fetches one dependent fetch becomes: one per group, each with its fields, requires and renamers. */
function splitReader(entity: EntityFetch, groups: readonly Group[], context: RewriteContext): FetchNode[] {
  const keys = keyFields(entity, context.supergraph);
  return groups.map((group) => {
    const document = structuredClone(entity.site.document);
    const entities = document.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION)!.selectionSet.selections.find(
      (s): s is FieldNode => s.kind === Kind.FIELD && s.name.value === '_entities',
    )!;
    const fragment = entities.selectionSet!.selections[0] as { selectionSet: { selections: readonly SelectionNode[] } };
    // Split only when this fetch provides nothing that was edited: the indices are those of its fields as planned.
    if (groups.length > 1) fragment.selectionSet.selections = fragment.selectionSet.selections.filter((_s, i) => group.outputs.has(i));
    const renamers: FetchDataRewrite[] = [];
    for (const [position, key] of group.keys) {
      const path = position.split('.');
      const name = path.pop()!;
      if (key !== name) renamers.push(context.renamer([`... on ${entity.typeName}`, ...path.slice(entity.site.at.length), key], name));
    }
    const inputRewrites = [...(entity.site.fetch.inputRewrites ?? []), ...renamers];
    return fetchNodeOf(entity.site.fetch, entity.site, document, {
      requires: requiresOf(entity, group, keys),
      ...(inputRewrites.length ? { inputRewrites } : {}),
    });
  });
}

function rebuild(node: PlanNode, replaced: ReadonlyMap<FetchNode, FetchNode[]>): PlanNode {
  switch (node.kind) {
    case 'Sequence':
    case 'Parallel':
      return { ...node, nodes: node.nodes.map((n) => rebuild(n, replaced)) };
    case 'Flatten': {
      const split = node.node.kind === 'Fetch' ? replaced.get(node.node) : undefined;
      if (split && split.length > 1) return { kind: 'Parallel', nodes: split.map((f) => ({ ...node, node: f })) };
      return { ...node, node: rebuild(node.node, replaced) };
    }
    case 'Fetch': {
      const by = replaced.get(node);
      if (by && by.length !== 1) throw new Refusal('a dependent fetch outside a Flatten');
      return by ? by[0]! : node;
    }
    case 'Condition':
      return {
        ...node,
        ...(node.ifClause ? { ifClause: rebuild(node.ifClause, replaced) } : {}),
        ...(node.elseClause ? { elseClause: rebuild(node.elseClause, replaced) } : {}),
      };
    default:
      throw new Refusal(`a ${node.kind} node`);
  }
}

/**
 * The plan with conflicting requirements separated; the same plan object when none conflict or it
 * is refused. `planned` may be the plan's sites read already: the rewrite edits their documents.
 */
export function separateRequirements(plan: QueryPlan, context: RewriteContext, planned?: PlanSites): RewriteOutcome {
  if (!hasEntityFetch(plan.node)) return { plan };
  const { sites, untouchable } = planned ?? planSites(plan);
  if (untouchable) return { plan, refused: untouchable };
  if (sites.some((s) => s.fragments.size)) return { plan, refused: 'named fragments' };
  const entities: EntityFetch[] = [];
  let unreadable = false;
  for (const site of sites) {
    const entity = entityFetch(site, context.supergraph, context.schema);
    if (entity === 'unreadable') unreadable = true;
    else if (entity) entities.push(entity);
  }
  const requirements = entities.flatMap((e) => e.requirements);
  if (requirements.length === 0) return { plan };
  const written = sites.flatMap((s) => writtenFields(s, context.schema));
  const client = clientFields(context.operation, context.schema);
  const conflicts = findConflicts(requirements, byPosition(written), client);
  if (conflicts.length === 0) return { plan };
  if (unreadable) return { plan, refused: 'an entity fetch of abstract types' };
  try {
    const d = decide(conflicts, sites, namesInUse(written, client));
    const edited = editProviders(d, context.operation);
    const replaced = new Map<FetchNode, FetchNode[]>();
    for (const entity of entities) {
      const groups = groupsOf(entity, d.readKey);
      const aliased = groups.some((g) => [...g.keys].some(([position, key]) => position.split('.').pop() !== key));
      if (groups.length > 1 && edited.has(entity.site)) throw new Refusal('a dependent fetch to split provides a separated field');
      if (groups.length > 1 || aliased) replaced.set(entity.site.fetch, splitReader(entity, groups, context));
    }
    for (const site of edited) if (!replaced.has(site.fetch)) replaced.set(site.fetch, [fetchNodeOf(site.fetch, site)]);
    return { plan: { ...plan, node: plan.node && rebuild(plan.node as PlanNode, replaced) }, aliases: d.aliases };
  } catch (err) {
    if (err instanceof Refusal) return { plan, refused: err.message };
    throw err;
  }
}

