/**
 * DataLoader helpers shared by every subgraph's `createLoaders(db)`: batch results in key order
 * with `null` for misses, entity loaders that fetch the union of the fields the batch asked for,
 * and the mapping from a GraphQL selection to a MongoDB projection.
 */
import DataLoader from 'dataloader';
import type { GraphQLResolveInfo } from 'graphql';
import { parseResolveInfo, type ResolveTree } from 'graphql-parse-resolve-info';
import type { Collection, Document, Filter } from 'mongodb';
import { findPagesByParent, ONE_BATCH, type Connection, type Ordering, type PageArgs, type PageLimits } from './pagination.ts';

/** Puts `items` back in the order of `keys`, `null` where no item has that key. */
export function orderByKeys<K, T>(keys: readonly K[], items: readonly T[], keyOf: (item: T) => K): (T | null)[] {
  const byKey = new Map<K, T>();
  for (const item of items) byKey.set(keyOf(item), item);
  return keys.map((k) => byKey.get(k) ?? null);
}

/** Groups `items` by key in the order of `keys`, `[]` for keys with none. */
export function groupByKeys<K, T>(keys: readonly K[], items: readonly T[], keyOf: (item: T) => K): T[][] {
  const byKey = new Map<K, T[]>();
  for (const item of items) {
    const k = keyOf(item);
    const list = byKey.get(k);
    if (list) list.push(item);
    else byKey.set(k, [item]);
  }
  return keys.map((k) => byKey.get(k) ?? []);
}

/**
 * Batch function helper: runs `load` once for each group of keys with the same `groupOf(key)`
 * (for example the same page arguments), and gives each key its result, or its group's error,
 * so one bad argument set fails only the fields that used it.
 */
async function batchByGroup<K, R>(
  keys: readonly K[],
  groupOf: (key: K) => unknown,
  load: (group: readonly K[]) => Promise<readonly R[]>,
): Promise<(R | Error)[]> {
  const groups = new Map<string, number[]>();
  keys.forEach((k, i) => {
    const g = JSON.stringify(groupOf(k));
    const list = groups.get(g);
    if (list) list.push(i);
    else groups.set(g, [i]);
  });
  const out: (R | Error)[] = new Array(keys.length);
  await Promise.all(
    [...groups.values()].map(async (indexes) => {
      try {
        const results = await load(indexes.map((i) => keys[i]!));
        indexes.forEach((i, j) => (out[i] = results[j]!));
      } catch (err) {
        for (const i of indexes) out[i] = err as Error;
      }
    }),
  );
  return out;
}

/**
 * GraphQL field name → the document fields it is computed from, for projections. Typed from a
 * type's generated resolvers (`FieldMap<AllianceResolvers>`), it must list every field of the
 * type (`[]` for one that needs none, such as the key or a field a loader computes), so a field
 * added to the SDL and forgotten here fails to compile instead of coming back null. Untyped
 * (the default), any field name.
 */
export type FieldMap<R = Record<string, unknown>> = {
  readonly [K in keyof R as K extends `__${string}` ? never : K]-?: readonly string[];
};

/** A key and the document fields wanted for it; `fields: null` means the whole document. */
export interface EntityKey<K> {
  readonly id: K;
  readonly fields: readonly string[] | null;
}

/** The projection covering every key's fields (undefined: some key wants the whole document). */
function unionProjection<K>(field: string, keys: readonly EntityKey<K>[], extra: readonly string[] = []): Document | undefined {
  if (keys.some((k) => k.fields === null)) return undefined;
  return Object.fromEntries([field, ...extra, ...keys.flatMap((k) => k.fields ?? [])].map((f) => [f, 1]));
}

/** DataLoader cache key of an {@link EntityKey}: the id and the (sorted) fields. */
function entityCacheKey<K>(k: EntityKey<K>): string {
  return `${String(k.id)}|${k.fields === null ? '*' : [...k.fields].sort().join(',')}`;
}

/**
 * Loads documents of one collection by a unique field. Requests made in the same tick are one
 * `find({field: {$in: ids}})` whose projection is the union of the fields they asked for.
 */
export function entityLoader<T extends Document, K extends string | number = string>(
  collection: Collection<T>,
  field = '_id',
): DataLoader<EntityKey<K>, T | null, string> {
  return new DataLoader<EntityKey<K>, T | null, string>(
    async (keys) => {
      const ids = [...new Set(keys.map((k) => k.id))];
      const projection = unionProjection(field, keys);
      const docs = await collection
        .find({ [field]: { $in: ids } } as Filter<T>, { ...(projection ? { projection } : {}), batchSize: ids.length + 1 })
        .toArray();
      return orderByKeys(
        keys.map((k) => k.id),
        docs as T[],
        (d) => (d as Document)[field] as K,
      );
    },
    { cacheKeyFn: entityCacheKey },
  );
}

export interface GroupLoaderOptions {
  /** Order of each group's documents (default `_id`). */
  readonly sort?: Document;
  /** A fixed condition every loaded document must also meet. */
  readonly filter?: Filter<Document>;
}

/**
 * Loads the documents of one collection whose `field` equals each key (a one-to-many hop):
 * one `find({field: {$in: keys}})` per tick, results grouped in key order, `[]` for none. A
 * `field` holding an array (multikey) puts the document in the group of every key it lists.
 */
export function groupLoader<T extends Document, K extends string | number = string>(
  collection: Collection<T>,
  field: string,
  options: GroupLoaderOptions = {},
): DataLoader<EntityKey<K>, T[], string> {
  const sort = options.sort ?? { _id: 1 };
  return new DataLoader<EntityKey<K>, T[], string>(
    async (keys) => {
      const ids = [...new Set(keys.map((k) => k.id))];
      const projection = unionProjection(field, keys, Object.keys(sort));
      const docs = await collection
        .find({ ...options.filter, [field]: { $in: ids } } as Filter<T>, { ...(projection ? { projection } : {}), sort, batchSize: ONE_BATCH })
        .toArray();
      const byKey = new Map<unknown, T[]>(ids.map((id) => [id, []]));
      for (const doc of docs as T[]) {
        const value = (doc as Document)[field] as unknown;
        for (const id of Array.isArray(value) ? value : [value]) byKey.get(id)?.push(doc);
      }
      return keys.map((k) => byKey.get(k.id) ?? []);
    },
    { cacheKeyFn: entityCacheKey },
  );
}

/** The fields selected on `typeName` in a resolve tree (fragments and @skip/@include applied). */
function selectedOn(tree: ResolveTree | undefined, typeName: string): Record<string, ResolveTree> {
  return (tree?.fieldsByTypeName[typeName] as Record<string, ResolveTree> | undefined) ?? {};
}

function fieldsFrom(selected: Iterable<ResolveTree>, map: FieldMap): string[] {
  const out = new Set<string>();
  for (const sel of selected) for (const f of map[sel.name] ?? []) out.add(f);
  return [...out];
}

/** Document fields needed for the object of type `typeName` that the current field returns. */
export function fieldsFor(info: GraphQLResolveInfo, typeName: string, map: FieldMap): string[] {
  return fieldsFrom(Object.values(selectedOn(parseResolveInfo(info) as ResolveTree, typeName)), map);
}

/** Document fields needed for the nodes of a connection of `nodeType` (via `nodes` and `edges.node`). */
export function nodeFieldsFor(
  info: GraphQLResolveInfo,
  connectionType: string,
  nodeType: string,
  map: FieldMap,
): string[] {
  const selected: ResolveTree[] = [];
  for (const sel of Object.values(selectedOn(parseResolveInfo(info) as ResolveTree, connectionType))) {
    if (sel.name === 'nodes') selected.push(...Object.values(selectedOn(sel, nodeType)));
    if (sel.name !== 'edges') continue;
    for (const edgeSel of Object.values(sel.fieldsByTypeName).flatMap((f) => Object.values(f))) {
      if (edgeSel.name === 'node') selected.push(...Object.values(selectedOn(edgeSel, nodeType)));
    }
  }
  return fieldsFrom(selected, map);
}

/** A projection document for `fields` (always includes `_id`). */
export function projectionOf(fields: readonly string[]): Document {
  return Object.fromEntries(['_id', ...fields].map((f) => [f, 1]));
}

/** Key of one parent's page of a connection field: the parent and everything that shapes the page. */
export interface ParentPageKey<A extends PageArgs> {
  readonly parentId: string;
  readonly args: A;
  /** Document fields the selected node fields need (see {@link nodeFieldsFor}). */
  readonly fields: readonly string[];
}

/**
 * The list-to-entity hop of a connection field (Alliance.members, Committee.meetings, …): pages
 * of many parents in one `find` per distinct (arguments, fields), through
 * {@link findPagesByParent}. `shape` turns the field's arguments into the filter and ordering,
 * validating them (a bad argument fails only the fields that used it).
 */
export function parentPageLoader<T extends Document, A extends PageArgs>(
  collection: Collection<T>,
  parentField: string,
  limits: PageLimits,
  shape: (args: A) => { filter: Filter<Document>; order: Ordering },
): DataLoader<ParentPageKey<A>, Connection<T>, string> {
  return new DataLoader<ParentPageKey<A>, Connection<T>, string>(
    (keys) =>
      batchByGroup(
        keys,
        (k) => [k.args, k.fields],
        (group) =>
          findPagesByParent(collection, parentField, group.map((k) => k.parentId), {
            ...shape(group[0]!.args),
            args: group[0]!.args,
            limits,
            projection: projectionOf(group[0]!.fields),
          }),
      ),
    { cacheKeyFn: (k) => JSON.stringify([k.parentId, k.args, k.fields]) },
  );
}
