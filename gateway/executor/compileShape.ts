/**
 * Compiles an operation, as stock builds it for execution (a federation-internals `Operation`),
 * into the form ./shape.ts and ./shapeFast.ts shape responses with, defined here: once per query
 * plan, every selection's `@skip`/`@include`, response name, type and sub-selection read up front.
 */
import type { CompositeType, Operation, OutputType, Schema, SelectionSet } from '@apollo/federation-internals';

/** The value of an `if:` argument: a literal, or the name of a variable. */
export type Condition = undefined | boolean | { readonly variable: string };

export const FIELD = 0;
export const FRAGMENT = 1;

export interface ShapeField {
  readonly kind: typeof FIELD;
  readonly responseName: string;
  /** The bytes of `"responseName":` and a comma in the JSON text. */
  readonly keyBytes: number;
  readonly skip: Condition;
  readonly include: Condition;
  readonly isTypename: boolean;
  readonly type: ShapeType;
  readonly selection: ShapeSet | undefined;
  /** The leaf type of a field whose type is a leaf or a non-null leaf (the fast path of most fields); undefined otherwise. */
  readonly leaf: LeafType | undefined;
}

export interface ShapeFragment {
  readonly kind: typeof FRAGMENT;
  readonly skip: Condition;
  readonly include: Condition;
  readonly typeCondition: CompositeType | undefined;
  readonly selection: ShapeSet;
  /** Whether the type condition applies, by `__typename` (or `\0` + parent type when there is none). */
  readonly applies: Map<string, boolean>;
}

export type ShapeSet = readonly (ShapeField | ShapeFragment)[];

export const NON_NULL = 0;
export const LIST = 1;
export const COMPOSITE = 2;
export const LEAF = 3;

export const enum Leaf {
  Custom,
  Boolean,
  Int,
  Float,
  String,
  ID,
  Enum,
}

export type ShapeType =
  | { readonly kind: typeof NON_NULL; readonly ofType: ShapeType; readonly fed: OutputType }
  | { readonly kind: typeof LIST; readonly ofType: ShapeType; readonly fed: OutputType }
  | { readonly kind: typeof COMPOSITE; readonly fed: CompositeType }
  | { readonly kind: typeof LEAF; readonly leaf: Leaf; readonly enumValues: ReadonlySet<string> | undefined; readonly fed: OutputType };

export type LeafType = ShapeType & { readonly kind: typeof LEAF };

/** The operation, compiled for shaping; built once per query plan. */
export interface CompiledShape {
  readonly operation: Operation;
  readonly schema: Schema;
  readonly rootType: CompositeType;
  readonly selection: ShapeSet;
  /** Operation variables' default values, merged under the request's variables for `@skip`/`@include`. */
  readonly defaults: Readonly<Record<string, unknown>>;
  readonly usesVariableConditions: boolean;
}

/** Why an operation is left to the stock executor. */
export class UnsupportedOperation extends Error {}

/** Names a plain object inherits: a response name among them needs own-property checks, which the lean path does not do. */
export const INHERITED_NAMES: ReadonlySet<string> = new Set([
  ...Object.getOwnPropertyNames(Object.prototype),
  '__proto__',
]);

/** An element of a selection, as far as its `@skip`/`@include` go. */
type Directed = { appliedDirectivesOf(d: unknown): { arguments(): { if?: unknown } }[] };

class ShapeCompiler {
  private readonly skipDirective: unknown;
  private readonly includeDirective: unknown;
  private readonly sets = new Map<SelectionSet, ShapeSet>();
  private readonly types = new Map<OutputType, ShapeType>();
  usesVariableConditions = false;

  constructor(private readonly schema: Schema) {
    this.skipDirective = schema.skipDirective();
    this.includeDirective = schema.includeDirective();
  }

  set(set: SelectionSet): ShapeSet {
    const known = this.sets.get(set);
    if (known) return known;
    const out: (ShapeField | ShapeFragment)[] = [];
    for (const selection of set.selections()) {
      const element = selection.element as unknown as Directed;
      const skip = this.condition(element, this.skipDirective);
      const include = this.condition(element, this.includeDirective);
      if (selection.kind === 'FieldSelection') {
        const field = selection.element;
        if (field.definition.isSchemaIntrospectionField()) throw new UnsupportedOperation('introspection');
        const responseName = field.responseName();
        if (INHERITED_NAMES.has(responseName)) throw new UnsupportedOperation(`response name ${responseName}`);
        const isTypename = field.name === '__typename';
        const type: ShapeType = isTypename ? { kind: LEAF, leaf: Leaf.String, enumValues: undefined, fed: this.schema.stringType() } : this.type(field.definition.type!);
        const named = type.kind === NON_NULL ? type.ofType : type;
        const selectionSet = selection.selectionSet ? this.set(selection.selectionSet) : undefined;
        out.push({
          kind: FIELD,
          responseName,
          keyBytes: Buffer.byteLength(JSON.stringify(responseName)) + 2,
          skip,
          include,
          isTypename,
          type,
          selection: selectionSet,
          leaf: named.kind === LEAF && !selectionSet ? named : undefined,
        });
      } else {
        out.push({
          kind: FRAGMENT,
          skip,
          include,
          typeCondition: selection.element.typeCondition,
          selection: this.set(selection.selectionSet),
          applies: new Map(),
        });
      }
    }
    this.sets.set(set, out);
    return out;
  }

  private condition(element: Directed, directive: unknown): Condition {
    const applied = element.appliedDirectivesOf(directive)[0];
    if (!applied) return undefined;
    const arg = applied.arguments().if;
    if (typeof arg === 'boolean') return arg;
    const name = (arg as { name?: unknown } | undefined)?.name;
    if (typeof name !== 'string') throw new UnsupportedOperation('unexpected if: argument');
    this.usesVariableConditions = true;
    return { variable: name };
  }

  private type(type: OutputType): ShapeType {
    let compiled = this.types.get(type);
    if (compiled) return compiled;
    switch (type.kind) {
      case 'NonNullType':
        compiled = { kind: NON_NULL, ofType: this.type(type.ofType as OutputType), fed: type };
        break;
      case 'ListType':
        compiled = { kind: LIST, ofType: this.type(type.ofType as OutputType), fed: type };
        break;
      case 'ObjectType':
      case 'InterfaceType':
      case 'UnionType':
        compiled = { kind: COMPOSITE, fed: type };
        break;
      case 'EnumType':
        compiled = { kind: LEAF, leaf: Leaf.Enum, enumValues: new Set(type.values.map((v) => v.name)), fed: type };
        break;
      case 'ScalarType':
        compiled = { kind: LEAF, leaf: this.scalar(type), enumValues: undefined, fed: type };
        break;
      default:
        throw new UnsupportedOperation(`unexpected output type ${String(type)}`);
    }
    this.types.set(type, compiled);
    return compiled;
  }

  private scalar(type: OutputType): Leaf {
    const schema = this.schema;
    if (type === schema.booleanType()) return Leaf.Boolean;
    if (type === schema.intType()) return Leaf.Int;
    if (type === schema.floatType()) return Leaf.Float;
    if (type === schema.stringType()) return Leaf.String;
    if (type === schema.idType()) return Leaf.ID;
    return Leaf.Custom;
  }
}

/** Compiles an operation (as stock builds it) for `shapeResponse`; throws UnsupportedOperation for introspection. */
export function compileShape(operation: Operation): CompiledShape {
  const schema = operation.schema();
  const rootType: CompositeType | undefined = schema.schemaDefinition.rootType(operation.rootKind);
  if (!rootType) throw new UnsupportedOperation(`no ${operation.rootKind} root type`);
  const compiler = new ShapeCompiler(schema);
  const selection = compiler.set(operation.selectionSet);
  return {
    operation,
    schema,
    rootType,
    selection,
    defaults: operation.collectDefaultedVariableValues(),
    usesVariableConditions: compiler.usesVariableConditions,
  };
}

/**
 * Compiles one selection set of an operation's schema (a deferred fragment's, as the query planner
 * prints it in a plan) for ./shape.ts `shapeSelection`; throws UnsupportedOperation for
 * introspection. Its `@skip`/`@include` variables must be among the operation's.
 */
export function compileSelection(schema: Schema, set: SelectionSet): ShapeSet {
  return new ShapeCompiler(schema).set(set);
}
