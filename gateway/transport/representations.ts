/**
 * De-duplication of `_entities` representations: each distinct representation of a fetch is sent
 * once, and what the subgraph answers for it goes back to every position it stood for.
 *
 * One implementation for the two places that do it. The lean executor
 * (gateway/executor/requires.ts) builds one representation per entity and de-duplicates as it
 * goes, keyed off the entity (no representation is built, let alone serialised, twice). The
 * transport (./dataSource.ts) de-duplicates the representations of every other caller (stock
 * `executeQueryPlan`: the stock executor, the lean one's fallback, subscription events), keyed by
 * their canonical JSON. A `unique` array built here is distinct by construction: the transport
 * sends it as it is, without serialising its representations again.
 */
import type { GraphQLFormattedError } from 'graphql';

/** The `unique` arrays of every DistinctRepresentations (held weakly). */
const distinctArrays = new WeakSet<readonly unknown[]>();

/** Whether an array of representations was built by a DistinctRepresentations (holds each one once). */
export function isDistinct(representations: readonly unknown[]): boolean {
  return distinctArrays.has(representations);
}

/** JSON with object keys sorted, so that `{id, __typename}` and `{__typename, id}` compare equal. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value)
      .sort()
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * The representations of one `_entities` fetch, item by item (an entity of the executor, or a
 * representation as a caller sent it), each distinct one kept once.
 */
export class DistinctRepresentations {
  /** Each distinct representation once, in the order first met: what is sent. */
  readonly unique: unknown[] = [];
  /** Per item, the index of its representation in `unique`, or -1 for an item without one (not sent). */
  readonly indexOf: number[] = [];
  private sent = 0;
  private byKey: Map<string, number> | undefined;

  constructor() {
    distinctArrays.add(this.unique);
  }

  /** The representations as a caller sent them, keyed by their canonical JSON. */
  static of(representations: readonly unknown[]): DistinctRepresentations {
    const distinct = new DistinctRepresentations();
    for (const representation of representations) distinct.add(representation, canonicalJson(representation));
    return distinct;
  }

  /** Items with a representation: the positions the full fetch would have sent. */
  get count(): number {
    return this.sent;
  }

  /** Whether some representation stands for more than one position. */
  get hasDuplicates(): boolean {
    return this.unique.length < this.sent;
  }

  /** The next item's representation, equal to any other with the same key; returns its index in `unique`. */
  add(representation: unknown, key: string): number {
    const byKey = (this.byKey ??= new Map());
    let u = byKey.get(key);
    if (u === undefined) {
      u = this.push(representation);
      byKey.set(key, u);
    } else {
      this.repeat(u);
    }
    return u;
  }

  /** The next item's representation, one not met before (the caller keys them); returns its index in `unique`. */
  push(representation: unknown): number {
    const u = this.unique.push(representation) - 1;
    this.repeat(u);
    return u;
  }

  /** The next item has the representation at `unique[u]`. */
  repeat(u: number): void {
    this.indexOf.push(u);
    this.sent++;
  }

  /** The next item has no representation. */
  skip(): void {
    this.indexOf.push(-1);
  }

  /** Per unique representation, its positions among the items that have one. */
  positions(): number[][] {
    const positions: number[][] = [];
    let position = 0;
    for (const u of this.indexOf) {
      if (u === -1) continue;
      (positions[u] ??= []).push(position++);
    }
    return positions;
  }

  /**
   * The errors of the de-duplicated fetch as the full fetch would have had them: an error on a
   * representation sent once stands at every position it stood for, in position order (as a
   * subgraph reports them, resolving representations in order); errors elsewhere come first.
   */
  expandErrors(errors: readonly GraphQLFormattedError[]): GraphQLFormattedError[] {
    const positions = this.positions();
    const keyed: { readonly error: GraphQLFormattedError; readonly key: number }[] = [];
    for (const error of errors) {
      const path = error.path;
      const at = path?.[0] === '_entities' && typeof path[1] === 'number' ? positions[path[1]] : undefined;
      if (!at) {
        keyed.push({ error, key: -1 });
        continue;
      }
      for (const position of at) keyed.push({ error: { ...error, path: ['_entities', position, ...path!.slice(2)] }, key: position });
    }
    keyed.sort((a, b) => a.key - b.key); // stable
    return keyed.map((k) => k.error);
  }

  /**
   * The `_entities` answer for every position, from the answer for each unique representation.
   * Every position gets its own object: the executor merges each entity into its result tree,
   * and may merge later fetches into it.
   */
  expandEntities(entities: readonly unknown[]): unknown[] {
    const handedOut = new Set<number>();
    const expanded: unknown[] = [];
    for (const u of this.indexOf) {
      if (u === -1) continue;
      const entity = entities[u];
      if (entity === null || typeof entity !== 'object' || !handedOut.has(u)) {
        handedOut.add(u);
        expanded.push(entity);
      } else {
        expanded.push(structuredClone(entity));
      }
    }
    return expanded;
  }
}

/**
 * The representations of a request that has some more than once, de-duplicated. Those the lean
 * executor built are distinct already and not looked at again.
 */
export function deduplicateVariables(variables: Record<string, unknown> | undefined): DistinctRepresentations | undefined {
  const reps = variables?.['representations'];
  if (!Array.isArray(reps) || reps.length < 2 || isDistinct(reps)) return undefined;
  const distinct = DistinctRepresentations.of(reps);
  return distinct.hasDuplicates ? distinct : undefined;
}

/** The answer to the de-duplicated request, for every position of the original one. */
export function expandAnswer<R extends { data?: Record<string, unknown> | null; errors?: readonly GraphQLFormattedError[] }>(response: R, distinct: DistinctRepresentations): R {
  let data = response.data;
  const entities: unknown = data?.['_entities'];
  if (data && Array.isArray(entities) && entities.length === distinct.unique.length) data = { ...data, _entities: distinct.expandEntities(entities) };
  const errors = response.errors && distinct.expandErrors(response.errors);
  return { ...response, data, ...(errors ? { errors } : {}) };
}
