/**
 * The last step of a lean plan execution: the client's response, shaped from the data the
 * fetches gathered by walking the operation once. A port of @apollo/gateway's `computeResponse`
 * (dist/resultShaping.js, of the version ../apollo/internals.ts is written for) that gives the
 * same data and the same errors, in the same order, over a form of the operation compiled once
 * per query plan instead of the federation-internals `Operation` stock rebuilds and re-inspects
 * (directives, types) for every request:
 *
 * - fields in the order of the operation's normalised selection sets (stock builds the same
 *   `Operation` with `operationFromDocument`, so the order of keys in the answer is the same);
 * - `@skip`/`@include` with literals or variables (operation defaults applied);
 * - `__typename` from the data, or the parent type (root types), null-bubbling a non-object;
 * - null of a non-null field bubbles to the nearest nullable parent; each is reported once as
 *   stock does (`Cannot return null for non-nullable field T.f.`), with invalid `__typename`s and
 *   invalid leaf values (`Invalid value found for …`).
 *
 * Whenever stock would fail an assertion (data of the wrong shape, a variable of the wrong type),
 * the walk stops and {@link shapeResponse} answers with stock's own `computeResponse`, so that
 * even those answers are stock's. The compiled form is ./compileShape.ts's; well-formed answers
 * are shaped by code generated from it (./shapeFast.ts), any other by the walk here.
 */
import {
  ERRORS,
  isCompositeType,
  isObjectType,
  isSubtype,
  type CompositeType,
  type NamedType,
  type Operation,
  type OutputType,
  type Schema,
} from '@apollo/federation-internals';
import type { GraphQLError } from 'graphql';
import { computeResponse } from '../apollo/internals.ts';
import { COMPOSITE, FIELD, Leaf, LEAF, LIST, NON_NULL, type CompiledShape, type LeafType, type ShapeField, type ShapeFragment, type ShapeSet, type ShapeType } from './compileShape.ts';
import { fastShaper } from './shapeFast.ts';

/** Thrown where stock would fail an assertion: the answer is then stock's own. */
class StockAssertion extends Error {}

function validLeaf(type: LeafType, value: unknown): boolean {
  // federation-internals' isValidLeafValue, decided on the compiled leaf kind.
  if (type.leaf === Leaf.Custom) return true;
  if (typeof value === 'boolean') return type.leaf === Leaf.Boolean;
  if (typeof value === 'number' && isFinite(value)) {
    // String(value) matches /^-?(?:0|[1-9][0-9]*)$/ exactly for integers below 1e21 (above, it has an exponent).
    if (type.leaf === Leaf.Int || type.leaf === Leaf.ID) return Number.isInteger(value) && Math.abs(value) < 1e21;
    return type.leaf === Leaf.Float;
  }
  if (typeof value === 'string') {
    if (type.leaf === Leaf.Enum) return type.enumValues!.has(value);
    return type.leaf !== Leaf.Boolean && type.leaf !== Leaf.Int && type.leaf !== Leaf.Float;
  }
  return false;
}

type Path = (string | number)[];

/**
 * At least the bytes a leaf value takes in the JSON text: a string at most 6 per UTF-16 unit (an
 * escape \u00XX) and its quotes; a number at most 25 characters. Values of custom scalars can be
 * objects, which may be shared between many places of the response: they get no bound.
 */
function leafBytesBound(value: unknown): number {
  if (typeof value === 'string') return 6 * value.length + 2;
  if (typeof value === 'number') return 25;
  if (typeof value === 'boolean') return 5;
  return Infinity;
}

/** Shaped `data` objects and an upper bound of the bytes of their JSON text (see {@link shapedBytesBound}). */
const bytesBounds = new WeakMap<object, number>();

/**
 * An upper bound of the bytes of `JSON.stringify(data)` for a response's `data` as
 * {@link shapeResponse} returned it, counted while shaping (nothing may add to it since), so that
 * the response-size ceiling (./ceilings.ts) need not walk an answer well within it; undefined for
 * any other object.
 */
export function shapedBytesBound(data: object): number | undefined {
  return bytesBounds.get(data);
}

class Shaper {
  readonly errors: GraphQLError[] = [];
  /** Flags of the last `update`: a null that must bubble up, and whether errors were already reported for it. */
  private invalid = false;
  private hasErrors = false;
  /** At least the bytes of the JSON text of what was shaped (over-counted where nulls bubble up). */
  bytes = 2;

  constructor(
    private readonly schema: Schema,
    private readonly variables: Record<string, unknown> | undefined,
  ) {}

  private ifValue(condition: { readonly variable: string }): boolean {
    const value = this.variables?.[condition.variable];
    if (value === undefined || typeof value !== 'boolean') throw new StockAssertion();
    return value;
  }

  private skipped(selection: ShapeField | ShapeFragment): boolean {
    const { skip, include } = selection;
    if (skip !== undefined && (typeof skip === 'boolean' ? skip : this.ifValue(skip))) return true;
    return include !== undefined && !(typeof include === 'boolean' ? include : this.ifValue(include));
  }

  private applies(fragment: ShapeFragment, typename: string | undefined, parentType: CompositeType): boolean {
    const condition = fragment.typeCondition;
    if (!condition) return true;
    const key = typename ? typename : `\0${parentType.name}`;
    let applies = fragment.applies.get(key);
    if (applies === undefined) {
      if (typename) {
        const type = this.schema.type(typename);
        applies = !!type && isSubtype(condition, type);
      } else {
        applies = isSubtype(condition, parentType);
      }
      fragment.applies.set(key, applies);
    }
    return applies;
  }

  /** Applies `set` to `input` into `output`; false when a null must bubble up past this object. */
  applySet(input: Record<string, any>, set: ShapeSet, output: Record<string, any>, path: Path, parentType: CompositeType): boolean {
    for (let i = 0; i < set.length; i++) {
      const selection = set[i]!;
      if ((selection.skip !== undefined || selection.include !== undefined) && this.skipped(selection)) continue;
      if (selection.kind === FIELD) {
        const responseName = selection.responseName;
        const outputValue = output[responseName];
        if (selection.isTypename) {
          if (outputValue === undefined) {
            let inputValue = input[responseName] ?? null;
            if (inputValue === null && responseName !== '__typename') inputValue = input['__typename'] ?? null;
            const type: NamedType =
              inputValue !== null && typeof inputValue === 'string' ? (this.schema.type(inputValue) ?? parentType) : parentType;
            if (!isObjectType(type)) return false;
            output[responseName] = type.name;
            this.bytes += selection.keyBytes + leafBytesBound(type.name);
          }
          continue;
        }
        const leaf = selection.leaf;
        if (leaf !== undefined && outputValue === undefined) {
          // A valid leaf value, the usual case, is copied as `update` would copy it (and leaves no null to bubble).
          const value = input[responseName];
          if (value !== undefined && value !== null && validLeaf(leaf, value)) {
            output[responseName] = value;
            this.bytes += selection.keyBytes + leafBytesBound(value);
            continue;
          }
        }
        if (outputValue === undefined) this.bytes += selection.keyBytes;
        path.push(responseName);
        const updated = this.update(outputValue, selection.type, input[responseName] ?? null, selection.selection, path, parentType);
        output[responseName] = updated;
        path.pop();
        if (this.invalid) return false;
      } else {
        const typename: unknown = input['__typename'];
        if (typename && typeof typename !== 'string') throw new StockAssertion();
        if (this.applies(selection, typename as string | undefined, parentType)) {
          if (!this.applySet(input, selection.selection, output, path, selection.typeCondition ?? parentType)) return false;
        }
      }
    }
    return true;
  }

  private describe(path: Path, currentType: OutputType, parentType: CompositeType): string {
    const element = path[path.length - 1];
    return typeof element === 'string' ? `field ${parentType}.${element}` : `array element of type ${currentType} at index ${element}`;
  }

  private update(outputValue: any, type: ShapeType, inputValue: any, selection: ShapeSet | undefined, path: Path, parentType: CompositeType): any {
    if (outputValue === null || (outputValue !== undefined && !selection)) {
      this.invalid = false;
      this.hasErrors = false;
      return outputValue;
    }
    if (type.kind === NON_NULL) {
      const updated = this.update(outputValue, type.ofType, inputValue, selection, path, parentType);
      if (updated === null) {
        if (!this.hasErrors) {
          this.errors.push(
            ERRORS.INVALID_GRAPHQL.err(`Cannot return null for non-nullable ${this.describe(path, type.ofType.fed, parentType)}.`, {
              path: Array.from(path),
            }),
          );
        }
        this.invalid = true;
        this.hasErrors = true;
        return null;
      }
      this.invalid = false;
      this.hasErrors = false;
      return updated;
    }
    this.invalid = false;
    if (inputValue === null) {
      this.hasErrors = false;
      this.bytes += 4;
      return null;
    }
    switch (type.kind) {
      case LIST:
        return this.updateList(outputValue, type, inputValue, selection, path, parentType);
      case COMPOSITE:
        return this.updateObject(outputValue, type, inputValue, selection, path, parentType);
      case LEAF: {
        if (outputValue !== undefined) throw new StockAssertion();
        const valid = validLeaf(type, inputValue);
        if (!valid) {
          this.errors.push(
            ERRORS.INVALID_GRAPHQL.err(`Invalid value found for ${this.describe(path, type.fed, parentType)}.`, { path: Array.from(path) }),
          );
        }
        this.hasErrors = !valid;
        this.bytes += valid ? leafBytesBound(inputValue) : 4;
        return valid ? inputValue : null;
      }
    }
  }

  private updateList(outputValue: any, type: ShapeType & { kind: typeof LIST }, inputValue: any, selection: ShapeSet | undefined, path: Path, parentType: CompositeType): any {
    if (!Array.isArray(inputValue) || (outputValue !== undefined && !Array.isArray(outputValue))) throw new StockAssertion();
    const length = inputValue.length;
    if (outputValue !== undefined && outputValue.length !== length) throw new StockAssertion();
    const updated = new Array(length);
    this.bytes += 2 + length;
    let nullify = false;
    let hasErrors = false;
    for (let i = 0; i < length; i++) {
      const element = inputValue[i];
      if (element === undefined) throw new StockAssertion(); // a missing element (not JSON): stock asserts
      path.push(i);
      updated[i] = this.update(outputValue === undefined ? undefined : outputValue[i], type.ofType, element, selection, path, parentType);
      path.pop();
      nullify ||= this.invalid;
      hasErrors ||= this.hasErrors;
    }
    this.invalid = false;
    this.hasErrors = hasErrors;
    return nullify ? null : updated;
  }

  private updateObject(outputValue: any, type: ShapeType & { kind: typeof COMPOSITE }, inputValue: any, selection: ShapeSet | undefined, path: Path, parentType: CompositeType): any {
    // An array where an object belongs is stock's to shape: it reads own properties only, this walk would read Array.prototype's.
    if (!selection || typeof inputValue !== 'object' || Array.isArray(inputValue) || (outputValue !== undefined && typeof outputValue !== 'object')) throw new StockAssertion();
    const typename: unknown = inputValue['__typename'];
    if (typename !== undefined && typeof typename !== 'string') throw new StockAssertion();
    let objectType: CompositeType = type.fed;
    if (typename) {
      const named = this.schema.type(typename);
      if (!named || !isCompositeType(named)) {
        this.errors.push(
          ERRORS.INVALID_GRAPHQL.err(`Invalid __typename found for object at ${this.describe(path, type.fed, parentType)}.`, {
            path: Array.from(path),
          }),
        );
        this.hasErrors = true;
        this.bytes += 4;
        return null;
      }
      objectType = named;
    }
    const output = outputValue === undefined ? {} : outputValue;
    if (outputValue === undefined) this.bytes += 2;
    const ok = this.applySet(inputValue, selection, output, path, objectType);
    this.invalid = false;
    this.hasErrors = !ok;
    if (!ok) this.bytes += 4; // null where `{…}` was counted
    return ok ? output : null;
  }
}

/** The request's variables over the operation's defaults, for `@skip`/`@include` (undefined when no condition reads them). */
function conditionVariables(shape: CompiledShape, variables: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  return shape.usesVariableConditions ? ({ __proto__: null, ...shape.defaults, ...variables } as Record<string, unknown>) : undefined;
}

/**
 * The response's `data` and post-processing errors for the data gathered by a plan: what stock's
 * `computeResponse({ operation, variables, input })` returns, and throws.
 */
export function shapeResponse(
  shape: CompiledShape,
  input: Record<string, any>,
  variables: Record<string, unknown> | undefined,
): { data: Record<string, any> | null; errors: GraphQLError[] } {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return stockShaped(shape, input, variables);
  const fast = fastShaper(shape, variables);
  if (fast) {
    const shaped = fast.run(input);
    if (shaped) {
      bytesBounds.set(shaped, fast.bytes());
      return { data: shaped, errors: [] };
    }
  }
  const shaper = new Shaper(shape.schema, conditionVariables(shape, variables));
  const data: Record<string, any> = {};
  try {
    const ok = shaper.applySet(input, shape.selection, data, [], shape.rootType);
    if (ok) bytesBounds.set(data, shaper.bytes);
    return { data: ok ? data : null, errors: shaper.errors };
  } catch (err) {
    if (!(err instanceof StockAssertion)) throw err;
    return stockShaped(shape, input, variables);
  }
}

/** Stock's own `computeResponse`, for what the walk leaves to it. */
function stockShaped(shape: CompiledShape, input: Record<string, any>, variables: Record<string, unknown> | undefined): { data: Record<string, any> | null; errors: GraphQLError[] } {
  const stock = computeResponse({
    operation: shape.operation,
    ...(variables ? { variables } : {}),
    input,
    introspectionHandling: () => {
      throw new Error('introspection is not planned by the lean executor');
    },
  });
  return { data: stock.data ?? null, errors: stock.errors };
}

/**
 * One part of an incremental response (./defer.ts): `set`, a selection of the operation's
 * (compiled with ./compileShape.ts `compileSelection`), applied to the object `input` of type
 * `parentType` found at `path` of the response, by the same rules as {@link shapeResponse}. A null
 * that bubbles past the object makes the part's data null. Where stock would fail an assertion,
 * which it cannot do for a part (it does not execute @defer), the part's data is null with an error.
 */
export function shapeSelection(
  shape: CompiledShape,
  set: ShapeSet,
  parentType: CompositeType,
  input: Record<string, any>,
  path: readonly (string | number)[],
  variables: Record<string, unknown> | undefined,
): { data: Record<string, any> | null; errors: GraphQLError[] } {
  const shaper = new Shaper(shape.schema, conditionVariables(shape, variables));
  const data: Record<string, any> = {};
  try {
    const ok = shaper.applySet(input, set, data, [...path], parentType);
    return { data: ok ? data : null, errors: shaper.errors };
  } catch (err) {
    if (!(err instanceof StockAssertion)) throw err;
    return { data: null, errors: [ERRORS.INVALID_GRAPHQL.err('Invalid data found for a deferred fragment.', { path: [...path] })] };
  }
}
