/**
 * `@defer` in the lean executor: the plan's `Defer` nodes (Apollo's query planner with
 * `incrementalDelivery.enableDefer`), compiled with the rest of the plan (./plan.ts) and executed
 * in one of two ways:
 *
 * - merged, for a client that accepts no incremental format: every part runs into the one result
 *   tree and the response is the operation's ordinary one (./shape.ts ignores `@defer`), the same
 *   data and errors as without `@defer`;
 * - incremental: the primary part is answered as soon as its fetches complete; each deferred
 *   block starts as soon as the fetches it depends on (`depends`, fetch ids of an enclosing part)
 *   complete, runs its fetches into the same result tree (so the de-duplication, batching and
 *   merged `_entities` requests of ./plan.ts and ./merge.ts hold across parts), and is delivered
 *   once it is complete and the part that encloses it was delivered. Its data is its selection
 *   (the `subselection` the planner prints) shaped at each position of its `queryPath` in the
 *   response delivered so far (one position per list item); the errors of its fetches go with it,
 *   with their paths, and never touch the data already delivered.
 *
 * What a part carries is format-neutral ({@link DeferredPayload}); gateway/pipeline/incremental.ts
 * writes it in the format the client negotiated.
 */
import { isCompositeType, isSubtype, parseSelectionSet, type CompositeType, type Operation, type SelectionSet } from '@apollo/federation-internals';
import type { DeferNode, PlanNode } from '@apollo/query-planner';
import type { GraphQLError } from 'graphql';
import { compileSelection } from './compileShape.ts';
import { deepMerge, type Cursor, type ResultMap } from './results.ts';
import { COMPOSITE, FIELD, FRAGMENT, LEAF, NON_NULL, LIST, shapeSelection, type CompiledShape, type ShapeField, type ShapeFragment, type ShapeSet, type ShapeType } from './shape.ts';

/** A deferred fragment at one position of the response, announced to the client (`pending`). */
export interface PendingPart {
  readonly id: string;
  readonly path: readonly (string | number)[];
  /** The client's label; none for a fragment the client did not label. */
  readonly label: string | undefined;
}

/** A deferred fragment at one position, complete: its data there (null when a null bubbled past it) and its errors. */
export interface CompletedPart extends PendingPart {
  readonly data: ResultMap | null;
  readonly errors: readonly GraphQLError[];
}

/** One subsequent payload: the parts it completes, those it announces, and whether more follow. */
export interface DeferredPayload {
  readonly completed: readonly CompletedPart[];
  readonly pending: readonly PendingPart[];
  readonly hasNext: boolean;
}

/** What follows the initial result of a deferred response. */
export interface DeferredResponse {
  /** The parts the initial result announces. */
  readonly pending: readonly PendingPart[];
  /** The rest; the last payload has `hasNext: false`. */
  readonly subsequent: AsyncGenerator<DeferredPayload, void, undefined>;
  /**
   * The client went away: `subsequent` ends without waiting for the parts still running (a
   * generator's `return()` would wait for the payload it is computing).
   */
  cancel(): void;
}

// ---------------------------------------------------------------------------------------------
// Compiled Defer nodes.

/** A deferred block of a Defer node, compiled. */
interface DeferredBlock<Step> {
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

// ---------------------------------------------------------------------------------------------
// Execution.

/** A deferred block being executed in an incremental response. */
interface Part {
  readonly block: DeferredBlock<unknown>;
  /** The enclosing deferred part; undefined: the primary part (the initial result). */
  readonly parent: Part | undefined;
  /** Errors of this part's fetches. */
  readonly errors: unknown[];
  finished: boolean;
  /** The fragment is under a `@skip`/`@include` that leaves it out: it has no position. */
  skipped: boolean;
  /** registered → announced (positions known) → delivered; or dropped (no position). */
  phase: 'registered' | 'announced' | 'delivered' | 'dropped';
  positions: Position[];
}

/** Where a part is delivered: the path, the object there in the result tree and in the response so far, and its type. */
interface Position {
  readonly id: string;
  readonly path: (string | number)[];
  readonly raw: ResultMap;
  readonly out: ResultMap;
  readonly type: CompositeType;
}

/** The state of one execution's deferred parts (incremental responses only). */
export class Deferral {
  readonly parts: Part[] = [];
  /** The primary selection of the Defer node at the root that ran. */
  rootSelection: ShapeSet | undefined;
  private readonly fetchedIds = new Set<string>();
  private readonly waiting = new Map<string, (() => void)[]>();
  private nextId = 0;
  private wake: (() => void) | undefined;
  cancelled = false;

  cancel(): void {
    this.cancelled = true;
    this.wake?.();
  }

  /** A fetch with this plan id completed (or failed). */
  fetched(id: string): void {
    this.fetchedIds.add(id);
    for (const resolve of this.waiting.get(id) ?? []) resolve();
    this.waiting.delete(id);
  }

  /** Resolves once every fetch of `ids` completed. */
  allFetched(ids: readonly string[]): Promise<unknown> {
    return Promise.all(ids.filter((id) => !this.fetchedIds.has(id)).map((id) => new Promise<void>((resolve) => this.waiting.set(id, [...(this.waiting.get(id) ?? []), resolve]))));
  }

  register(block: DeferredBlock<unknown>, parent: Part | undefined): Part {
    const part: Part = { block, parent, errors: [], finished: false, skipped: false, phase: 'registered', positions: [] };
    this.parts.push(part);
    return part;
  }

  finish(part: Part): void {
    part.finished = true;
    this.wake?.();
  }

  /** Resolves at the next {@link finish}. */
  changed(): Promise<void> {
    return new Promise((resolve) => (this.wake = resolve));
  }

  id(): string {
    return String(this.nextId++);
  }
}

/** What ./plan.ts passes down for a Defer step: its run state's deferral parts, and how to run a step. */
export interface DeferRun<Step> {
  readonly deferral: Deferral | undefined;
  readonly part: Part | undefined;
  /** Runs a step of a part: `errors` collects its fetches' errors, `part` encloses the Defer nodes inside it. */
  run(step: Step, cursor: Cursor, errors: unknown[] | undefined, part: Part | undefined): Promise<void>;
  /**
   * Whether a step is a condition (`@skip`/`@include`) that runs nothing for this request. The
   * planner puts a deferred fragment's own conditions around its fetches, not in its `queryPath`.
   */
  skips(step: Step): boolean;
}

/**
 * Executes a Defer step. Merged: the primary part, then every deferred block, awaited. Incremental:
 * the primary part, awaited; each block registered with the deferral and started once its
 * dependencies are fetched, not awaited (the delivery waits for it).
 */
export async function executeDefer<Step>(step: DeferStep<Step>, cursor: Cursor, run: DeferRun<Step>): Promise<void> {
  const primary = step.primary ? run.run(step.primary, cursor, undefined, run.part) : Promise.resolve();
  const deferral = run.deferral;
  if (!deferral) {
    await primary;
    await Promise.all(step.deferred.map((block) => (block.node ? run.run(block.node, cursor, undefined, run.part) : undefined)));
    return;
  }
  if (!run.part) deferral.rootSelection ??= step.primarySelection;
  for (const block of step.deferred) {
    const part = deferral.register(block, run.part);
    part.skipped = block.node !== undefined && run.skips(block.node);
    // Fetches of enclosing parts are complete by the time the primary part runs; a block that
    // depends only on some of the primary part's fetches starts as soon as those are.
    void (block.dependsOnPrimary ? Promise.race([primary, deferral.allFetched(block.depends)]) : primary)
      .then(() => (block.node ? run.run(block.node as Step, cursor, part.errors, part) : undefined))
      .catch((error: unknown) => part.errors.push(error))
      .finally(() => deferral.finish(part));
  }
  await primary;
}

// ---------------------------------------------------------------------------------------------
// Delivery.

function typeOf(shape: CompiledShape, raw: ResultMap, fallback: CompositeType): CompositeType {
  const typename: unknown = raw['__typename'];
  const type = typeof typename === 'string' ? shape.schema.type(typename) : undefined;
  return type && isCompositeType(type) ? type : fallback;
}

/** The positions of a block's `queryPath` in the response delivered so far (`out`), with the result tree's objects there. */
function positionsOf(shape: CompiledShape, deferral: Deferral, block: DeferredBlock<unknown>, out: ResultMap, raw: ResultMap): Position[] {
  const found: Position[] = [];
  const walk = (i: number, o: unknown, r: unknown, path: (string | number)[], type: CompositeType): void => {
    if (o === null || o === undefined || r === null || r === undefined || typeof o !== 'object' || typeof r !== 'object') return;
    if (Array.isArray(o)) {
      if (Array.isArray(r)) o.forEach((item, k) => walk(i, item, r[k], [...path, k], type));
      return;
    }
    const object = o as ResultMap;
    const rawObject = r as ResultMap;
    if (i === block.queryPath.length) {
      found.push({ id: deferral.id(), path, raw: rawObject, out: object, type: typeOf(shape, rawObject, type) });
      return;
    }
    const step = block.queryPath[i]!;
    const stepType = block.pathTypes[i]!;
    if (step.startsWith('... on ')) {
      if (isSubtype(stepType, typeOf(shape, rawObject, type))) walk(i + 1, object, rawObject, path, stepType);
      return;
    }
    walk(i + 1, object[step], rawObject[step], [...path, step], stepType);
  };
  walk(0, out, raw, [], shape.rootType);
  return found;
}

function isUnder(error: unknown, path: readonly (string | number)[]): boolean {
  const at = (error as { path?: readonly (string | number)[] }).path;
  return !!at && path.every((p, i) => at[i] === p);
}

/** Announces the parts whose enclosing part was just delivered (`parent`; undefined: the initial result), or drops them. */
function announce(shape: CompiledShape, deferral: Deferral, parent: Part | undefined, out: ResultMap, raw: ResultMap): PendingPart[] {
  const pending: PendingPart[] = [];
  for (const part of deferral.parts) {
    if (part.parent !== parent || part.phase !== 'registered') continue;
    part.positions = part.skipped ? [] : positionsOf(shape, deferral, part.block, out, raw);
    part.phase = part.positions.length > 0 ? 'announced' : 'dropped';
    for (const p of part.positions) pending.push({ id: p.id, path: p.path, label: part.block.label });
  }
  return pending;
}

/**
 * A complete part, shaped at each of its positions and merged into the response so far. Its fetch
 * errors go to the position they are under (else the first); the shaping's own errors (a null in a
 * non-null field) only when its fetches had none, as stock reports them for a whole response.
 */
function complete(shape: CompiledShape, part: Part, variables: Record<string, unknown> | undefined): CompletedPart[] {
  const unplaced = part.errors.filter((e) => !part.positions.some((p) => isUnder(e, p.path)));
  return part.positions.map((position, index) => {
    const { data, errors } = shapeSelection(shape, part.block.selection, position.type, position.raw, position.path, variables);
    if (data) deepMerge(position.out, data);
    const own = part.errors.filter((e) => isUnder(e, position.path));
    const all = [...own, ...(index === 0 ? unplaced : []), ...(part.errors.length === 0 ? errors : [])] as GraphQLError[];
    return { id: position.id, path: position.path, label: part.block.label, data, errors: all };
  });
}

/** Parts that will never be delivered: dropped, or inside a dropped part. */
function dropOrphans(deferral: Deferral): void {
  for (let changed = true; changed; ) {
    changed = false;
    for (const part of deferral.parts) {
      if (part.phase === 'registered' && part.parent?.phase === 'dropped') {
        part.phase = 'dropped';
        changed = true;
      }
    }
  }
}

/**
 * The deferred parts of an incremental response, after its initial result `out` (the response so
 * far, which each part's data is merged into) over the result tree `raw`: the parts announced with
 * it, and the payloads that follow, each as soon as one or more parts can be delivered.
 */
export function deliver(shape: CompiledShape, deferral: Deferral, out: ResultMap, raw: ResultMap, variables: Record<string, unknown> | undefined): DeferredResponse | undefined {
  const pending = announce(shape, deferral, undefined, out, raw);
  dropOrphans(deferral);
  if (pending.length === 0) return undefined;
  async function* subsequent(): AsyncGenerator<DeferredPayload, void, undefined> {
    for (;;) {
      const announced = deferral.parts.filter((p) => p.phase === 'announced');
      if (announced.length === 0 || deferral.cancelled) return;
      const ready = announced.filter((p) => p.finished);
      if (ready.length === 0) {
        await deferral.changed();
        continue;
      }
      const completed: CompletedPart[] = [];
      const next: PendingPart[] = [];
      for (const part of ready) {
        completed.push(...complete(shape, part, variables));
        part.phase = 'delivered';
      }
      for (const part of ready) next.push(...announce(shape, deferral, part, out, raw));
      dropOrphans(deferral);
      yield { completed, pending: next, hasNext: deferral.parts.some((p) => p.phase === 'announced') };
    }
  }
  return { pending, subsequent: subsequent(), cancel: () => deferral.cancel() };
}
