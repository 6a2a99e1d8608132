/**
 * The representations an `_entities` fetch sends: a fetch's `requires` selection compiled once,
 * one representation per entity built from it as stock's `executeSelectionSet` builds it, each
 * distinct one kept once (../transport/representations.ts).
 *
 * Under the usual shape of `requires`, `... on T { __typename k1 k2 }` with leaf fields only, an
 * entity's representation is determined by its key fields' values: they are looked up in a trie
 * ({@link findFlatSlot}), and a representation is built only for a key not met before.
 */
import type { FetchNode, QueryPlanSelectionNode } from '@apollo/query-planner';
import { isAbstractType, isInterfaceType, isObjectType, type GraphQLSchema } from 'graphql';
import { applyRewrites } from '../apollo/internals.ts';
import { DistinctRepresentations } from '../transport/representations.ts';
import { deepMerge, type ResultMap } from './results.ts';

/** A `requires` selection, compiled (`executeSelectionSet` of stock). */
export type RequireSelection =
  | { readonly kind: 0; readonly responseName: string; readonly selections: readonly RequireSelection[] | undefined }
  | { readonly kind: 1; readonly typeCondition: string | undefined; readonly selections: readonly RequireSelection[]; readonly applies: Map<string, boolean> };

/** `requires` of the shape `... on T { __typename k1 k2 }`, leaf fields only. */
export interface FlatRequires {
  readonly fragment: RequireSelection & { kind: 1 };
  readonly fields: readonly string[];
}

/** A fetch's `requires`, compiled. */
export interface CompiledRequires {
  readonly selections: readonly RequireSelection[];
  readonly flat: FlatRequires | undefined;
}

function compileSelections(selections: readonly QueryPlanSelectionNode[]): RequireSelection[] {
  return selections.map((s) =>
    s.kind === 'Field'
      ? { kind: 0 as const, responseName: s.alias ?? s.name, selections: s.selections ? compileSelections(s.selections) : undefined }
      : { kind: 1 as const, typeCondition: s.typeCondition, selections: compileSelections(s.selections), applies: new Map<string, boolean>() },
  );
}

function flatRequires(requires: readonly RequireSelection[]): FlatRequires | undefined {
  const fragment = requires[0];
  if (requires.length !== 1 || fragment?.kind !== 1 || !fragment.typeCondition) return undefined;
  const fields: string[] = [];
  for (const s of fragment.selections) {
    if (s.kind !== 0 || s.selections) return undefined;
    fields.push(s.responseName);
  }
  return fields.includes('__typename') ? { fragment, fields } : undefined;
}

export function compileRequires(requires: readonly QueryPlanSelectionNode[]): CompiledRequires {
  const selections = compileSelections(requires);
  return { selections, flat: flatRequires(selections) };
}

/** Stock's `isObjectOfType(schema, obj, typeCondition)` (default false), memoised per fragment. */
function appliesTo(schema: GraphQLSchema, selection: RequireSelection & { kind: 1 }, source: ResultMap): boolean {
  const typename = source['__typename'];
  if (!typename) return false;
  const condition = selection.typeCondition!;
  if (condition === typename) return true;
  let applies = selection.applies.get(typename);
  if (applies === undefined) {
    const type = schema.getType(typename);
    const conditional = schema.getType(condition);
    applies = !!type && !!conditional && isAbstractType(conditional) && (isObjectType(type) || isInterfaceType(type)) && schema.isSubType(conditional, type);
    selection.applies.set(typename, applies);
  }
  return applies;
}

/** Stock's `executeSelectionSet`: an entity's representation, or null when an input is missing. */
function representation(schema: GraphQLSchema, source: any, selections: readonly RequireSelection[]): ResultMap | null {
  if (source === null) return null;
  const result: ResultMap = {};
  for (const selection of selections) {
    if (selection.kind === 0) {
      const value = source[selection.responseName];
      if (value === undefined || !Object.prototype.hasOwnProperty.call(source, selection.responseName)) return null;
      const sub = selection.selections;
      if (Array.isArray(value)) {
        result[selection.responseName] = sub ? value.map((v) => representation(schema, v, sub)) : value.slice();
      } else if (sub) {
        result[selection.responseName] = representation(schema, value, sub);
      } else {
        result[selection.responseName] = value;
      }
    } else {
      if (!selection.typeCondition || !source) continue;
      if (appliesTo(schema, selection, source)) deepMerge(result, representation(schema, source, selection.selections));
    }
  }
  return result;
}

/**
 * {@link representation} under flat `requires`, once {@link findFlatSlot} found every field: the
 * fragment's fields in its order, lists copied, as stock's merge of the fragment into an empty
 * object leaves them (without that second object and its merge).
 */
function flatRepresentation(flat: FlatRequires, entity: ResultMap): ResultMap {
  const rep: ResultMap = {};
  const fields = flat.fields;
  for (let f = 0; f < fields.length; f++) {
    const value = entity[fields[f]!];
    rep[fields[f]!] = Array.isArray(value) ? value.slice() : value;
  }
  return rep;
}

/** The representations of a fetch's entities, each distinct one once. */
export interface EntityRepresentations {
  /** Item `e` is entity `e`; its representation is `distinct.unique[distinct.indexOf[e]]`, if any. */
  readonly distinct: DistinctRepresentations;
  /** Per unique representation, the `__typename` of the entity it was built from. */
  readonly typenames: unknown[];
}

/**
 * One representation per entity (as stock builds them, input rewrites applied), each distinct one
 * once: entities with equal key fields under flat `requires`, or equal representations otherwise.
 */
export function representEntities(schema: GraphQLSchema, fetch: FetchNode, requires: CompiledRequires, entities: readonly ResultMap[]): EntityRepresentations {
  const distinct = new DistinctRepresentations();
  const typenames: unknown[] = [];
  const { flat, selections } = requires;
  const trie: KeyTrie = new Map();
  for (const entity of entities) {
    if (flat) {
      if (!findFlatSlot(schema, flat, entity, trie)) {
        distinct.skip();
        continue;
      }
      const { node, key } = slot;
      const u = node.get(key) as number | undefined;
      if (u !== undefined) {
        distinct.repeat(u);
        continue;
      }
      const rep = flatRepresentation(flat, entity);
      applyRewrites(schema, fetch.inputRewrites, rep);
      node.set(key, distinct.push(rep));
      typenames.push(entity['__typename']);
    } else {
      const rep = representation(schema, entity, selections);
      if (!rep || !rep['__typename']) {
        distinct.skip();
        continue;
      }
      const known = distinct.unique.length;
      if (distinct.add(rep, JSON.stringify(rep)) === known) {
        applyRewrites(schema, fetch.inputRewrites, rep);
        typenames.push(entity['__typename']);
      }
    }
  }
  return { distinct, typenames };
}

/**
 * The de-duplication keys of the representations of one fetch under flat `requires`: one level
 * per field, keyed by the field's value (Map keys compare strings, numbers, booleans and null by
 * value and never equal across types), the last level holding the index of the representation.
 * Objects and arrays are keyed by their JSON, in a map of their own (under OBJECT_VALUES), so that
 * they never meet a string. Built from the entities' values without making a key string per
 * entity (that was the executor's largest allocation).
 */
type KeyTrie = Map<unknown, KeyTrie | number>;
const OBJECT_VALUES = Symbol('object values');

/** Where {@link findFlatSlot} found an entity's key: `node.get(key)` is its index, if any. */
const slot: { node: KeyTrie; key: unknown } = { node: new Map(), key: undefined };

/**
 * Finds the slot of an entity's representation under flat `requires` (in `slot`), or returns
 * false when it has none (the type condition does not apply, or a field is missing): the
 * representation is determined by these values, in this order.
 */
function findFlatSlot(schema: GraphQLSchema, flat: FlatRequires, entity: ResultMap, trie: KeyTrie): boolean {
  if (!appliesTo(schema, flat.fragment, entity)) return false;
  const fields = flat.fields;
  const last = fields.length - 1;
  let node = trie;
  for (let f = 0; ; f++) {
    let value: unknown = entity[fields[f]!];
    if (value === undefined) return false;
    if ((value !== null && typeof value === 'object') || typeof value === 'bigint') {
      let objects = node.get(OBJECT_VALUES) as KeyTrie | undefined;
      if (!objects) node.set(OBJECT_VALUES, (objects = new Map()));
      node = objects;
      value = JSON.stringify(value);
    }
    if (f === last) {
      slot.node = node;
      slot.key = value;
      return true;
    }
    let next = node.get(value) as KeyTrie | undefined;
    if (!next) node.set(value, (next = new Map()));
    node = next;
  }
}
