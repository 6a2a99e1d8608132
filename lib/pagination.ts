/**
 * Cursor pagination (Relay connections) over MongoDB with keyset queries: stable ordering on
 * indexed fields with `_id` as the final tie-breaker, opaque cursors bound to their ordering,
 * and a default and maximum page size.
 */
import type { Collection, Document, Filter, FindOptions, Sort } from 'mongodb';
import { ErrorCode, userError } from './errors.ts';

export interface PageArgs {
  readonly first?: number | null;
  readonly after?: string | null;
}

export interface PageLimits {
  readonly defaultSize: number;
  readonly maxSize: number;
}

/** A named stable ordering: fields with direction, ending with `_id`. */
export interface Ordering {
  readonly name: string;
  readonly fields: readonly (readonly [field: string, direction: 1 | -1])[];
}

export interface Connection<T> {
  readonly edges: { cursor: string; node: T }[];
  readonly nodes: T[];
  readonly pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
  /** Resolved lazily by the default field resolver: costs a count only when selected. */
  readonly totalCount: () => Promise<number>;
}

/** A batch size no list of ours exceeds: the whole result in the first reply, no getMore. */
export const ONE_BATCH = 100_000;

type CursorValue = string | number | boolean | bigint | null;

export function ordering(name: string, ...fields: (readonly [string, 1 | -1])[]): Ordering {
  const last = fields[fields.length - 1];
  return { name, fields: last?.[0] === '_id' ? fields : [...fields, ['_id', 1]] };
}

export function encodeCursor(order: Ordering, values: readonly CursorValue[]): string {
  // bigint (Int64 money) travels as {"n": "<digits>"} since JSON has no exact big integers.
  const json = JSON.stringify([order.name, ...values.map((v) => (typeof v === 'bigint' ? { n: v.toString() } : v))]);
  return Buffer.from(json, 'utf8').toString('base64url');
}

/** Decodes a cursor and checks it belongs to `order`; throws INVALID_CURSOR otherwise. */
export function decodeCursor(order: Ordering, cursor: string): CursorValue[] {
  const invalid = (why: string) =>
    userError(ErrorCode.INVALID_CURSOR, `Invalid cursor for argument "after": ${why}`, { argument: 'after' });
  if (!/^[A-Za-z0-9_-]{1,1024}$/.test(cursor)) throw invalid('not a cursor returned by this field');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid('not a cursor returned by this field');
  }
  if (!Array.isArray(parsed) || parsed.length !== order.fields.length + 1) throw invalid('not a cursor returned by this field');
  const [name, ...values] = parsed as unknown[];
  if (name !== order.name) throw invalid(`it was issued for ordering ${String(name)}, not ${order.name}`);
  return values.map((v) => {
    if (v === null || ['string', 'number', 'boolean'].includes(typeof v)) return v as CursorValue;
    const n = (v as { n?: unknown }).n;
    if (typeof v === 'object' && typeof n === 'string' && /^-?\d{1,19}$/.test(n)) return BigInt(n);
    throw invalid('not a cursor returned by this field');
  });
}

/** Validates `first` against the limits and returns the page size. */
export function pageSize(args: PageArgs, limits: PageLimits): number {
  const first = args.first ?? limits.defaultSize;
  if (!Number.isInteger(first) || first < 1 || first > limits.maxSize) {
    throw userError(
      ErrorCode.PAGE_SIZE_OUT_OF_RANGE,
      `Argument "first" must be between 1 and ${limits.maxSize} (got ${first})`,
      { argument: 'first', max: limits.maxSize },
    );
  }
  return first;
}

/** `{ $or: [...] }` selecting the documents strictly after `values` in `order`. */
export function afterFilter(order: Ordering, values: readonly CursorValue[]): Filter<Document> {
  const branches: Document[] = order.fields.map(([field, dir], i) => {
    const branch: Document = {};
    for (let j = 0; j < i; j++) branch[order.fields[j]![0]] = values[j];
    branch[field] = { [dir === 1 ? '$gt' : '$lt']: values[i] };
    return branch;
  });
  return { $or: branches };
}

function sortOf(order: Ordering): Sort {
  return Object.fromEntries(order.fields) as Sort;
}

function valuesOf(order: Ordering, doc: Document): CursorValue[] {
  return order.fields.map(([field]) => (doc[field] ?? null) as CursorValue);
}

/** Builds the connection from up to `size + 1` documents fetched in order. */
export function toConnection<T extends Document>(
  docs: T[],
  size: number,
  order: Ordering,
  hasPrevious: boolean,
  count: () => Promise<number>,
): Connection<T> {
  const page = docs.slice(0, size);
  const edges = page.map((node) => ({ cursor: encodeCursor(order, valuesOf(order, node)), node }));
  return {
    edges,
    nodes: page,
    pageInfo: {
      hasNextPage: docs.length > size,
      hasPreviousPage: hasPrevious,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges[edges.length - 1]?.cursor ?? null,
    },
    totalCount: count,
  };
}

export interface PageQuery {
  readonly filter: Filter<Document>;
  readonly order: Ordering;
  readonly args: PageArgs;
  readonly limits: PageLimits;
  readonly projection?: Document;
}

function pagedFilter(q: PageQuery): { size: number; filter: Filter<Document> } {
  const size = pageSize(q.args, q.limits);
  const filter = q.args.after ? { $and: [q.filter, afterFilter(q.order, decodeCursor(q.order, q.args.after))] } : q.filter;
  return { size, filter };
}

/** One page of `collection`: one `find` (plus one `count` only if `totalCount` is selected). */
export async function findPage<T extends Document>(collection: Collection<T>, q: PageQuery): Promise<Connection<T>> {
  const { size, filter } = pagedFilter(q);
  const options: FindOptions = { sort: sortOf(q.order), limit: size + 1, batchSize: size + 1 };
  if (q.projection) options.projection = withOrderFields(q.projection, q.order);
  const docs = (await collection.find(filter as Filter<T>, options).toArray()) as T[];
  return toConnection(docs, size, q.order, Boolean(q.args.after), () => collection.countDocuments(q.filter as Filter<T>));
}

/**
 * Pages of the same connection field for many parents at once (the list-to-entity hop of a
 * DataLoader): one `find`. With one parent it is a plain limited page query; with several,
 * `parentField: {$in: parents}` reads every parent's documents (a per-parent limit needs
 * `$group`/`$push`, which FerretDB lacks) in one batch, split and cut per parent. The parents'
 * `totalCount`s, when selected, cost one aggregation for all of them.
 */
export async function findPagesByParent<T extends Document>(
  collection: Collection<T>,
  parentField: string,
  parents: readonly (string | number)[],
  q: PageQuery,
): Promise<Connection<T>[]> {
  const distinct = [...new Set(parents)];
  const ofParents = (filter: Filter<Document>) => ({ $and: [{ [parentField]: distinct.length === 1 ? distinct[0] : { $in: distinct } }, filter] });
  let counts: Promise<Map<unknown, number>> | undefined;
  const countOf = (parent: string | number) => async () => {
    counts ??= collection
      .aggregate<{ _id: unknown; n: number | bigint }>([
        { $match: ofParents(q.filter) },
        // A single accumulator: FerretDB 1.24 computes only the first one of a $group.
        { $group: { _id: `$${parentField}`, n: { $sum: 1 } } },
      ])
      .toArray()
      .then((rows) => new Map(rows.map((r) => [r._id, Number(r.n)])));
    return (await counts).get(parent) ?? 0;
  };
  if (distinct.length === 1) {
    const page = await findPage(collection, { ...q, filter: ofParents(q.filter) });
    return parents.map((p) => ({ ...page, totalCount: countOf(p) }));
  }
  const { size, filter } = pagedFilter(q);
  const options: FindOptions = { sort: sortOf(q.order), batchSize: ONE_BATCH };
  if (q.projection) options.projection = withOrderFields({ ...q.projection, [parentField]: 1 }, q.order);
  const docs = (await collection.find(ofParents(filter) as Filter<T>, options).toArray()) as T[];
  const byParent = new Map<unknown, T[]>();
  for (const doc of docs) {
    const key = (doc as Document)[parentField];
    const list = byParent.get(key);
    if (!list) byParent.set(key, [doc]);
    else if (list.length <= size) list.push(doc);
  }
  return parents.map((p) => toConnection(byParent.get(p) ?? [], size, q.order, Boolean(q.args.after), countOf(p)));
}

function withOrderFields(projection: Document, order: Ordering): Document {
  const p: Document = { ...projection };
  for (const [field] of order.fields) p[field] = 1;
  return p;
}
