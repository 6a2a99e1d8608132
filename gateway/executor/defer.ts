/**
 * `@defer` in the lean executor: the plan's `Defer` nodes (Apollo's query planner with
 * `incrementalDelivery.enableDefer`), compiled with the rest of the plan (./plan.ts) and executed
 * in one of two ways:
 *
 * - merged, for a client that accepts no incremental format: every part runs into the one result
 *   tree and the response is the operation's ordinary one (./shape.ts ignores `@defer`), the same
 *   data and errors as without `@defer`;
 * - incremental: the primary part is answered as soon as its fetches complete; each deferred
 *   block starts once its Defer node's primary part is complete (or as soon as the fetches it
 *   depends on are, when they are all of that primary part), runs its fetches into the same result tree (so the de-duplication, batching and
 *   merged `_entities` requests of ./plan.ts and ./merge.ts hold across parts), and is delivered
 *   once it is complete and the part that encloses it was delivered. Its data is its selection
 *   (the `subselection` the planner prints) shaped at each position of its `queryPath` in the
 *   response delivered so far (one position per list item); the errors of its fetches go with it,
 *   with their paths, and never touch the data already delivered.
 *
 * The blocks are compiled by ./compileDefer.ts. What a part carries is format-neutral
 * ({@link DeferredPayload}); gateway/pipeline/incremental.ts writes it in the format the client
 * negotiated.
 */
import { isCompositeType, isSubtype, type CompositeType } from '@apollo/federation-internals';
import type { GraphQLError } from 'graphql';
import { tracer } from '../apollo/internals.ts';
import type { DeferredBlock, DeferStep } from './compileDefer.ts';
import { deepMerge, type Cursor, type ResultMap } from './results.ts';
import type { CompiledShape, ShapeSet } from './compileShape.ts';
import { shapeSelection } from './shape.ts';

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
  /** Open a `gateway.defer` span per deferred part (a tracer is recording). */
  readonly tracing: boolean;
  /** Runs a step of a part: `errors` collects its fetches' errors, `part` encloses the Defer nodes inside it. */
  run(step: Step, cursor: Cursor, errors: unknown[] | undefined, part: Part | undefined): Promise<void>;
  /**
   * Whether a step is a condition (`@skip`/`@include`) that runs nothing for this request. The
   * planner puts a deferred fragment's own conditions around its fetches, not in its `queryPath`.
   */
  skips(step: Step): boolean;
}

/** OpenTelemetry's `SpanStatusCode.ERROR`. */
const SPAN_ERROR = 2;

/**
 * A deferred part's execution in a `gateway.defer` span, with Apollo Router's attributes for its
 * deferred parts (`graphql.label` when labelled, `graphql.path`: the fragment's position, list
 * levels included); it encloses the part's `gateway.fetch` spans and its nested parts' spans, ends
 * when its fetches' results are in, and is marked failed when any of them failed. The request's spans may
 * have ended by then: the initial result was answered before.
 */
function traced(block: DeferredBlock<unknown>, errors: readonly unknown[], execute: () => Promise<void>): Promise<void> {
  const attributes = { 'graphql.path': block.queryPath.join('/'), ...(block.label === undefined ? {} : { 'graphql.label': block.label }) };
  return tracer.startActiveSpan('gateway.defer', { attributes }, async (span) => {
    try {
      await execute();
    } catch (error) {
      span.setStatus({ code: SPAN_ERROR });
      throw error;
    } finally {
      if (errors.length > 0) span.setStatus({ code: SPAN_ERROR });
      span.end();
    }
  });
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
    const execute = () => (block.node ? run.run(block.node as Step, cursor, part.errors, part) : Promise.resolve());
    void (block.dependsOnPrimary ? Promise.race([primary, deferral.allFetched(block.depends)]) : primary)
      .then(() => (run.tracing ? traced(block, part.errors, execute) : execute()))
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
