/**
 * Compiles the `Defer` nodes of a plan (for ./defer.ts, which executes them): for each deferred
 * block, the static types along its `queryPath`, the fetches it waits for, and the selection it
 * delivers at each of its positions, compiled as ./compileShape.ts compiles the operation. The
 * planner prints that selection (`subselection`) after optimising `__typename` away next to other
 * fields; the operation's own `__typename`s at the same place are put back.
 */
import { isCompositeType, parseSelectionSet, type CompositeType, type Operation, type SelectionSet } from '@apollo/federation-internals';
import type { DeferNode, PlanNode } from '@apollo/query-planner';
import { compileSelection } from './compileShape.ts';
import { COMPOSITE, FIELD, FRAGMENT, LEAF, LIST, NON_NULL, type CompiledShape, type ShapeField, type ShapeFragment, type ShapeSet, type ShapeType } from './compileShape.ts';

/** A deferred block of a Defer node, compiled. */
export interface DeferredBlock<Step> {
  readonly label: string | undefined;
  readonly queryPath: readonly string[];
  /** The static type at each step of `queryPath` (index i: after step i). */
  readonly pathTypes: readonly CompositeType[];
  readonly depends: readonly string[];
  /** Whether every dependency is a fetch of the Defer node's primary part (the block may then start before the rest of it). */
  readonly dependsOnPrimary: boolean;
  readonly node: Step | undefined;
  /** What the block delivers at each position, of type `pathTypes.at(-1)` (the root type for an empty path). */
  readonly selection: ShapeSet;
  readonly parentType: CompositeType;
}

export interface DeferStep<Step> {
  readonly kind: 'Defer';
  readonly primary: Step | undefined;
  /** The primary part's selection at the Defer node's position (the initial result's, for a Defer node at the root). */
  readonly primarySelection: ShapeSet;
  readonly deferred: readonly DeferredBlock<Step>[];
}

function namedType(type: ShapeType): ShapeType {
  return type.kind === NON_NULL || type.kind === LIST ? namedType(type.ofType) : type;
}

/** The field with this response name in a compiled selection (fragments searched too), or undefined. */
function fieldNamed(set: ShapeSet, responseName: string): (ShapeSet[number] & { kind: typeof FIELD }) | undefined {
  for (const selection of set) {
    if (selection.kind === FIELD) {
      if (selection.responseName === responseName && selection.selection) return selection;
    } else {
      const found = fieldNamed(selection.selection, responseName);
      if (found) return found;
    }
  }
  return undefined;
}

/** The static types along a `queryPath` (response names and `... on T`), read from the operation's compiled shape. */
function typesAlong(shape: CompiledShape, queryPath: readonly string[]): CompositeType[] {
  const types: CompositeType[] = [];
  let set: ShapeSet = shape.selection;
  for (const step of queryPath) {
    if (step.startsWith('... on ')) {
      const type = shape.schema.type(step.slice('... on '.length));
      if (!type || !isCompositeType(type)) throw new Error(`deferred fragment path: unknown type in ${queryPath.join('/')}`);
      types.push(type);
      continue;
    }
    const field = fieldNamed(set, step);
    const type = field && namedType(field.type);
    if (!field?.selection || !type || type.kind === LEAF || type.kind !== COMPOSITE) throw new Error(`deferred fragment path: no field ${step} in ${queryPath.join('/')}`);
    types.push(type.fed);
    set = field.selection;
  }
  return types;
}

/** The `__typename` fields of a compiled selection, in the fragments they are in. */
function typenamesOf(set: ShapeSet): ShapeSet {
  const out: (ShapeField | ShapeFragment)[] = [];
  for (const selection of set) {
    if (selection.kind === FIELD) {
      if (selection.isTypename) out.push(selection);
    } else {
      const inner = typenamesOf(selection.selection);
      if (inner.length > 0) out.push({ ...selection, selection: inner, applies: new Map() });
    }
  }
  return out;
}

/**
 * `sub` with the `__typename` fields the operation selects at the same places (`full`): the
 * planner prints a part's selection after optimising away `__typename` next to other fields (it
 * fills them in itself when it shapes a whole response), and Apollo Client selects it everywhere.
 */
function withTypenames(sub: ShapeSet, full: ShapeSet): ShapeSet {
  const out: (ShapeField | ShapeFragment)[] = sub.map((selection) => {
    if (selection.kind === FRAGMENT) return { ...selection, selection: withTypenames(selection.selection, full), applies: new Map() };
    const match = selection.selection && fieldNamed(full, selection.responseName);
    return match?.selection ? { ...selection, selection: withTypenames(selection.selection!, match.selection) } : selection;
  });
  const names = new Set(sub.filter((s): s is ShapeField => s.kind === FIELD).map((s) => s.responseName));
  for (const typename of typenamesOf(full)) if (typename.kind === FRAGMENT || !names.has(typename.responseName)) out.push(typename);
  return out;
}

/** The operation's compiled selection at a `queryPath` (the root's for an empty one). */
function selectionAt(shape: CompiledShape, queryPath: readonly string[]): ShapeSet {
  let set = shape.selection;
  for (const step of queryPath) if (!step.startsWith('... on ')) set = fieldNamed(set, step)?.selection ?? [];
  return set;
}

/** A selection the planner printed, compiled at `parentType` (an empty one for none), with the operation's `__typename`s there. */
function compileSubselection(shape: CompiledShape, queryPath: readonly string[], parentType: CompositeType, source: string | undefined): ShapeSet {
  const operation = shape.operation;
  const set: SelectionSet | undefined = source ? parseSelectionSet({ parentType, source, variableDefinitions: operation.variableDefinitions, validate: false }) : undefined;
  return withTypenames(set ? compileSelection(operation.schema(), set) : [], selectionAt(shape, queryPath));
}

/** The ids of the fetches of a plan node. */
function fetchIds(node: PlanNode | undefined, into = new Set<string>()): Set<string> {
  if (!node) return into;
  switch (node.kind) {
    case 'Fetch':
      if (node.id !== undefined) into.add(node.id);
      break;
    case 'Sequence':
    case 'Parallel':
      for (const n of node.nodes) fetchIds(n, into);
      break;
    case 'Flatten':
      fetchIds(node.node, into);
      break;
    case 'Condition':
      fetchIds(node.ifClause, into);
      fetchIds(node.elseClause, into);
      break;
    case 'Defer':
      fetchIds(node.primary.node, into);
      break;
  }
  return into;
}

/**
 * Whether a label names more than one deferred fragment once named fragments are expanded (a
 * labelled @defer in a fragment spread twice): the planner plans them as one deferred block at
 * one of the places, so such an operation is answered merged, as the RFC lets a server do.
 */
export function repeatsDeferLabels(operation: Operation): boolean {
  const seen = new Set<string>();
  const walk = (set: SelectionSet): boolean =>
    set.selections().some((selection) => {
      if (selection.kind === 'FragmentSelection') {
        for (const directive of selection.element.appliedDirectives) {
          const label: unknown = directive.name === 'defer' ? directive.arguments()['label'] : undefined;
          if (typeof label !== 'string') continue;
          if (seen.has(label)) return true;
          seen.add(label);
        }
      }
      return selection.selectionSet ? walk(selection.selectionSet) : false;
    });
  return walk(operation.expandAllFragments().selectionSet);
}

/** Compiles a Defer node found at `queryPath` (of type `parentType`); other nodes of its parts with `compileStep`. */
export function compileDefer<Step>(
  node: DeferNode,
  shape: CompiledShape,
  queryPath: readonly string[],
  parentType: CompositeType,
  compileStep: (node: PlanNode) => Step,
): DeferStep<Step> {
  const primaryIds = fetchIds(node.primary.node);
  const deferred = node.deferred.map((block): DeferredBlock<Step> => {
    const pathTypes = typesAlong(shape, block.queryPath);
    const blockType = pathTypes.at(-1) ?? shape.rootType;
    // A block with deferred fragments of its own is a Defer node whose primary is the block's part.
    const nested = block.node?.kind === 'Defer' ? block.node : undefined;
    const selection = compileSubselection(shape, block.queryPath, blockType, block.subselection ?? nested?.primary.subselection);
    const step = nested ? (compileDefer(nested, shape, block.queryPath, blockType, compileStep) as Step) : block.node ? compileStep(block.node) : undefined;
    const depends = block.depends.map((d) => d.id);
    const dependsOnPrimary = depends.length > 0 && depends.every((id) => primaryIds.has(id));
    return { label: block.label, queryPath: block.queryPath, pathTypes, depends, dependsOnPrimary, node: step, selection, parentType: blockType };
  });
  return {
    kind: 'Defer',
    primary: node.primary.node ? compileStep(node.primary.node) : undefined,
    primarySelection: compileSubselection(shape, queryPath, parentType, node.primary.subselection),
    deferred,
  };
}
