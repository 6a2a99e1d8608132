/**
 * The fast path of ./shape.ts `shapeResponse`: for each operation (and each set of values of the
 * variables its `@skip`/`@include` read), JavaScript generated once that shapes a well-formed
 * answer with an object literal per object of the response and a property read per field, where
 * the general walk looks every field up by name and adds it to an empty object.
 *
 * Its input is JSON (the subgraphs' answers merged into an object without a prototype): like the
 * general walk, it reads properties without checking that they are an object's own, which in
 * JSON they are (response names an `Object.prototype` member has are left to stock, by
 * ./compileShape.ts; arrays where an object belongs are given up on).
 *
 * It gives the general walk's data for every answer it completes, and gives up (undefined) on
 * anything else: a null where the schema forbids one, a value of the wrong type, a `__typename`
 * that names no possible type of its object, a condition variable that is not a boolean. The general walk then shapes that answer from the start, errors and all.
 * test/unit/executorShape.test.ts holds both to stock's `computeResponse`, and checks that the
 * fast path completed the well-formed answers.
 *
 * Which fields an object gets, in which order, is decided here as the general walk decides it
 * (./shape.ts `applySet`), once per runtime type: a fragment applies by the object's `__typename`,
 * or without one by the type it stands in; a response name selected twice keeps its first place,
 * and its sub-selections are applied one after the other.
 */
import { isObjectType, isSubtype, possibleRuntimeTypes, type CompositeType, type Schema } from '@apollo/federation-internals';
import { COMPOSITE, FIELD, Leaf, LEAF, LIST, NON_NULL, type CompiledShape, type Condition, type LeafType, type ShapeField, type ShapeSet, type ShapeType } from './compileShape.ts';

/** A generated shaper: the data of a well-formed answer, or undefined; `bytes` after it, the bound of its JSON bytes. */
export interface FastShaper {
  run(input: Record<string, any>): Record<string, any> | undefined;
  bytes(): number;
}

/** Why an operation gets no fast path (generation gives up). */
class NoFastPath extends Error {}

/** Generated functions per shaper beyond which an operation keeps the general walk only. */
const MAX_FUNCTIONS = 1_000;
/** Fast shapers kept per operation (one per set of condition values). */
const MAX_VARIANTS = 16;

/** Thrown by generated code where the general walk must take over. */
const BAIL = Symbol('bail');

const LEAF_CHECKS: Readonly<Record<Leaf, { readonly valid: string; readonly bytes: string }>> = {
  [Leaf.Boolean]: { valid: "typeof v === 'boolean'", bytes: '5' },
  [Leaf.Int]: { valid: "typeof v === 'number' && Number.isInteger(v) && Math.abs(v) < 1e21", bytes: '25' },
  [Leaf.Float]: { valid: "typeof v === 'number' && isFinite(v)", bytes: '25' },
  [Leaf.String]: { valid: "typeof v === 'string'", bytes: '6 * v.length + 2' },
  [Leaf.ID]: {
    valid: "typeof v === 'string' || (typeof v === 'number' && Number.isInteger(v) && Math.abs(v) < 1e21)",
    bytes: "typeof v === 'string' ? 6 * v.length + 2 : 25",
  },
  [Leaf.Enum]: { valid: "typeof v === 'string' && constants[$].has(v)", bytes: '6 * v.length + 2' },
  [Leaf.Custom]: {
    valid: 'v !== undefined',
    bytes: "typeof v === 'string' ? 6 * v.length + 2 : typeof v === 'number' ? 25 : typeof v === 'boolean' ? 5 : Infinity",
  },
};

/** Whether two fields' types are the same (each field has its own wrappers around the named type). */
function sameType(a: ShapeType, b: ShapeType): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === NON_NULL || a.kind === LIST) return sameType(a.ofType, (b as typeof a).ofType);
  return a.fed === b.fed;
}

/** A response name of an object: its first selection, the type it was selected in, and every sub-selection of it. */
interface Entry {
  readonly field: ShapeField;
  readonly parent: CompositeType;
  readonly sets: ShapeSet[];
}

class Generator {
  private readonly functions: string[] = [];
  /** Constants the generated code reads as `constants[n]`. */
  readonly constants: unknown[] = [];
  private readonly names = new Map<string, string>();
  private readonly ids = new WeakMap<object, number>();
  private nextId = 0;

  constructor(
    private readonly schema: Schema,
    private readonly variables: Record<string, unknown>,
  ) {}

  source(rootSet: ShapeSet, rootType: CompositeType): string {
    const root = this.object([rootSet], undefined, rootType);
    return `"use strict";
let b = 0;
function tn(i, r, p) {
  let v = i[r] ?? null;
  if (v === null && r !== '__typename') v = i.__typename ?? null;
  const t = v !== null && typeof v === 'string' ? (schema.type(v) ?? p) : p;
  if (!isObjectType(t)) throw bail;
  b += 6 * t.name.length + 2;
  return t.name;
}
${this.functions.join('\n')}
return {
  run(i) {
    b = 0;
    if (i === null || typeof i !== 'object' || Array.isArray(i) || i.__typename !== undefined) throw bail;
    return ${root}(i);
  },
  bytes() { return b; },
};
//# sourceURL=gateway/executor/shapeFast.generated.js`;
  }

  private id(o: object): number {
    let id = this.ids.get(o);
    if (id === undefined) this.ids.set(o, (id = this.nextId++));
    return id;
  }

  private constant(value: unknown): number {
    return this.constants.push(value) - 1;
  }

  /** The name of the generated function for `key`, generating it with `body` the first time. */
  private fn(key: string, body: (name: string) => string): string {
    let name = this.names.get(key);
    if (name === undefined) {
      if (this.functions.length >= MAX_FUNCTIONS) throw new NoFastPath('too many functions');
      name = `f${this.names.size}`;
      this.names.set(key, name);
      this.functions.push(body(name));
    }
    return name;
  }

  private skipped(condition: Condition, skipIfTrue: boolean): boolean {
    if (condition === undefined) return false;
    const value = typeof condition === 'boolean' ? condition : this.variables[condition.variable];
    if (typeof value !== 'boolean') throw new NoFastPath('condition variable without a boolean value');
    return value === skipIfTrue;
  }

  /** The fields `sets` give an object of type `typename` (undefined: none in the answer, `type` stands in), in the general walk's order. */
  private collect(sets: readonly ShapeSet[], typename: string | undefined, type: CompositeType): Map<string, Entry> {
    const entries = new Map<string, Entry>();
    const named = typename === undefined ? undefined : this.schema.type(typename);
    const visit = (set: ShapeSet, parent: CompositeType) => {
      for (const selection of set) {
        if (this.skipped(selection.skip, true) || this.skipped(selection.include, false)) continue;
        if (selection.kind === FIELD) {
          const entry = entries.get(selection.responseName);
          if (!entry) entries.set(selection.responseName, { field: selection, parent, sets: selection.selection ? [selection.selection] : [] });
          else if (entry.field.isTypename !== selection.isTypename || !sameType(entry.field.type, selection.type)) throw new NoFastPath('a response name of two types');
          else if (selection.selection) entry.sets.push(selection.selection);
          continue;
        }
        const condition = selection.typeCondition;
        const applies = !condition || (typename === undefined ? isSubtype(condition, parent) : !!named && isSubtype(condition, named));
        if (applies) visit(selection.selection, condition ?? parent);
      }
    };
    for (const set of sets) visit(set, type);
    return entries;
  }

  /** The function shaping an object of type `typename` (undefined: the answer has none, `type` stands in). */
  private object(sets: readonly ShapeSet[], typename: string | undefined, type: CompositeType): string {
    const key = `o${sets.map((s) => this.id(s)).join(',')}|${typename ?? `\0${type.name}`}`;
    return this.fn(key, (name) => {
      const entries = this.collect(sets, typename, type);
      let keyBytes = 2;
      const properties: string[] = [];
      for (const [responseName, entry] of entries) {
        const { field } = entry;
        keyBytes += field.keyBytes;
        const read = `i[${JSON.stringify(responseName)}]`;
        let value: string;
        if (field.isTypename) value = `tn(i, ${JSON.stringify(responseName)}, constants[${this.constant(entry.parent)}])`;
        else if (field.selection) value = `${this.value(field.type, entry.sets, false)}(${read} ?? null)`;
        else value = `${this.value(field.type, [], false)}(${read} ?? null)`;
        properties.push(`${JSON.stringify(responseName)}: ${value}`);
      }
      return `function ${name}(i) {\n  b += ${keyBytes};\n  return { ${properties.join(', ')} };\n}`;
    });
  }

  /** The function shaping a value of `type` (undefined: a list element that is missing, for the general walk). */
  private value(type: ShapeType, sets: readonly ShapeSet[], nonNull: boolean): string {
    if (type.kind === NON_NULL) return this.value(type.ofType, sets, true);
    const key = `v${this.id(type)}|${nonNull}|${sets.map((s) => this.id(s)).join(',')}`;
    return this.fn(key, (name) => {
      const onNull = nonNull ? 'throw bail;' : 'b += 4; return null;';
      // A missing list element (undefined) fails every check below, as it fails the general walk's.
      const head = `function ${name}(v) {\n  if (v === null) { ${onNull} }\n`;
      switch (type.kind) {
        case LEAF:
          return `${head}${this.leaf(type)}\n}`;
        case LIST: {
          const element = this.value(type.ofType, sets, false);
          return `${head}  if (!Array.isArray(v)) throw bail;
  const n = v.length;
  const r = new Array(n);
  b += 2 + n;
  for (let k = 0; k < n; k++) r[k] = ${element}(v[k]);
  return r;\n}`;
        }
        case COMPOSITE:
          return `${head}${this.dispatch(type.fed, sets)}\n}`;
      }
    });
  }

  private leaf(type: LeafType): string {
    const check = LEAF_CHECKS[type.leaf];
    const valid = type.leaf === Leaf.Enum ? check.valid.replace('$', String(this.constant(type.enumValues))) : check.valid;
    return `  if (!(${valid})) throw bail;\n  b += ${check.bytes};\n  return v;`;
  }

  /** Picks the object's function by its `__typename`. */
  private dispatch(type: CompositeType, sets: readonly ShapeSet[]): string {
    if (sets.length === 0) throw new NoFastPath('a composite field without a selection');
    const cases = possibleRuntimeTypes(type).map((t) => `    case ${JSON.stringify(t.name)}: return ${this.object(sets, t.name, type)}(v);`);
    return `  if (typeof v !== 'object' || Array.isArray(v)) throw bail;
  const t = v.__typename;
  if (t === undefined) return ${this.object(sets, undefined, type)}(v);
  switch (t) {
${cases.join('\n')}
  }
  throw bail;`;
  }
}

/** Every variable an operation's `@skip`/`@include` conditions read. */
function conditionVariableNames(shape: CompiledShape): string[] {
  const names = new Set<string>();
  const seen = new Set<ShapeSet>();
  const visit = (set: ShapeSet) => {
    if (seen.has(set)) return;
    seen.add(set);
    for (const selection of set) {
      for (const condition of [selection.skip, selection.include]) if (typeof condition === 'object') names.add(condition.variable);
      if (selection.selection) visit(selection.selection);
    }
  };
  visit(shape.selection);
  return [...names].sort();
}

function generate(shape: CompiledShape, variables: Record<string, unknown>): FastShaper | undefined {
  const generator = new Generator(shape.schema, variables);
  let source: string;
  try {
    source = generator.source(shape.selection, shape.rootType);
  } catch (err) {
    if (err instanceof NoFastPath) return undefined;
    throw err;
  }
  const compiled = new Function('schema', 'constants', 'bail', 'isObjectType', source)(shape.schema, generator.constants, BAIL, isObjectType) as FastShaper;
  return {
    run(input) {
      try {
        return compiled.run(input);
      } catch (err) {
        if (err === BAIL) return undefined;
        throw err;
      }
    },
    bytes: () => compiled.bytes(),
  };
}

interface Variants {
  readonly names: readonly string[];
  readonly byValues: Map<string, FastShaper | undefined>;
}

const variantsOf = new WeakMap<CompiledShape, Variants>();

/**
 * The fast shaper of an operation for the values its conditions read in `variables` (over the
 * operation's defaults), generated the first time; undefined where the general walk must shape.
 */
export function fastShaper(shape: CompiledShape, variables: Record<string, unknown> | undefined): FastShaper | undefined {
  let variants = variantsOf.get(shape);
  if (!variants) variantsOf.set(shape, (variants = { names: conditionVariableNames(shape), byValues: new Map() }));
  let key = '';
  if (variants.names.length > 0) {
    for (const name of variants.names) {
      // As `{ ...defaults, ...variables }` has it: a variable given as undefined hides its default.
      const value = variables && Object.hasOwn(variables, name) ? variables[name] : shape.defaults[name];
      if (typeof value !== 'boolean') return undefined;
      key += value ? '1' : '0';
    }
  }
  if (variants.byValues.has(key)) return variants.byValues.get(key);
  const values: Record<string, unknown> = { __proto__: null, ...shape.defaults, ...variables } as Record<string, unknown>;
  if (variants.byValues.size >= MAX_VARIANTS) return undefined;
  const shaper = generate(shape, values);
  variants.byValues.set(key, shaper);
  return shaper;
}
