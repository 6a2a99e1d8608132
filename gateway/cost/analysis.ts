/**
 * What the cost estimate (./estimate.ts) and the measure of the actual cost (./actual.ts) share:
 * the operation's fields as ./selections.ts collects them (with the request's `@skip`/`@include`),
 * each field's definition and weight, and the size of a list field.
 *
 * The cost model (IBM's cost directive specification, as Apollo Router implements it, with two
 * differences said below): a field costs its weight, `@cost(weight:)` of the field, else of the
 * type it returns, else 1, plus the cost of its selection, times the number of items when it is a
 * list; plus the weights of its arguments that have one; a mutation costs 10 more. Unlike Apollo
 * Router, leaf fields and `__typename` weigh 1 like any field (each is a key in the response, and
 * the limits bound responses, so an alias of a leaf costs as much as the leaf), and a list that
 * declares no size is assumed to hold LIST_SIZE_DEFAULT items, never one.
 */
import {
  getNamedType,
  isInterfaceType,
  isListType,
  isNonNullType,
  isObjectType,
  Kind,
  SchemaMetaFieldDef,
  TypeMetaFieldDef,
  TypeNameMetaFieldDef,
  valueFromASTUntyped,
  type DirectiveNode,
  type FieldNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLOutputType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type ValueNode,
} from 'graphql';
import type { CostDirectives, FieldCost } from './directives.ts';
import { introspectionListSize } from './introspection.ts';
import { collectFields, subSelections, type FieldGroup, type Fragments } from './selections.ts';

export interface CostOptions {
  readonly directives: CostDirectives;
  /** Items of a list field that declares no size (LIST_SIZE_DEFAULT). */
  readonly listSize: number;
  /** Items of a page whose slicing argument is not given and that assumes no size (PAGE_SIZE_DEFAULT: what our subgraphs return then). */
  readonly pageSize: number;
}

/** Why an operation has no estimate. */
export class CostError extends Error {
  constructor(
    readonly reason: 'tooLarge' | 'slicing',
    message: string,
  ) {
    super(message);
  }
}

/** A mutation's own cost, as in Apollo Router. */
export const MUTATION_COST = 10;

/**
 * The values of the operation's variables: as given, else the operation's defaults. While
 * `recording`, every value is unknown and the names asked for are recorded: the variables the
 * cost depends on, found once per operation.
 */
export class Variables {
  private readonly recorded: Set<string> | undefined;
  constructor(
    private readonly operation: OperationDefinitionNode,
    private readonly given: Readonly<Record<string, unknown>> | undefined,
    recording = false,
  ) {
    this.recorded = recording ? new Set() : undefined;
  }

  get recording(): boolean {
    return this.recorded !== undefined;
  }

  /** The names asked for while recording. */
  get names(): string[] {
    return [...(this.recorded ?? [])];
  }

  /** A value node's value, `undefined` when unknown (recording) or absent. */
  value(node: ValueNode): unknown {
    if (node.kind !== Kind.VARIABLE) return valueFromASTUntyped(node);
    const name = node.name.value;
    if (this.recorded) return void this.recorded.add(name);
    if (this.given && Object.hasOwn(this.given, name)) return this.given[name];
    const fallback = this.operation.variableDefinitions?.find((d) => d.variable.name.value === name)?.defaultValue;
    return fallback ? valueFromASTUntyped(fallback) : undefined;
  }

  /** `@skip`/`@include` as execution applies them; an unknown condition includes. */
  included(directives: readonly DirectiveNode[] | undefined): boolean {
    for (const d of directives ?? []) {
      if (d.name.value !== 'skip' && d.name.value !== 'include') continue;
      const condition = d.arguments?.find((a) => a.name.value === 'if');
      const value = condition ? this.value(condition.value) : undefined;
      if (typeof value === 'boolean' && value === (d.name.value === 'skip')) return false;
    }
    return true;
  }
}

function fieldDefinition(schema: GraphQLSchema, type: GraphQLNamedType | undefined, name: string): GraphQLField<unknown, unknown> | undefined {
  if (name === '__typename') return TypeNameMetaFieldDef;
  if (type && type === schema.getQueryType()) {
    if (name === '__schema') return SchemaMetaFieldDef;
    if (name === '__type') return TypeMetaFieldDef;
  }
  return isObjectType(type) || isInterfaceType(type) ? type.getFields()[name] : undefined;
}

/** How many list levels wrap a type (`[[Int!]]!` → 2). */
export function listDepth(type: GraphQLOutputType): number {
  let depth = 0;
  for (let t: GraphQLOutputType = type; ; ) {
    if (isNonNullType(t)) t = t.ofType;
    else if (isListType(t)) {
      depth++;
      t = t.ofType;
    } else return depth;
  }
}

/** A collected field with what the cost model knows of it. */
export interface ResolvedField {
  readonly group: FieldGroup;
  readonly definition: GraphQLField<unknown, unknown> | undefined;
  /** `Type.field` on the type it is selected on. */
  readonly coordinate: string;
  readonly cost: FieldCost | undefined;
  /** The named type it returns. */
  readonly returns: GraphQLNamedType | undefined;
}

export class CostContext {
  private readonly resolved = new WeakMap<FieldGroup, ResolvedField>();
  private readonly children = new WeakMap<FieldGroup, FieldGroup[]>();

  constructor(
    readonly schema: GraphQLSchema,
    readonly options: CostOptions,
    readonly fragments: Fragments,
    readonly variables: Variables,
    private readonly onField?: (node: FieldNode) => void,
  ) {}

  /** The fields of the operation's root selection. */
  root(operation: OperationDefinitionNode): FieldGroup[] {
    const type = this.schema.getRootType(operation.operation);
    return this.collect([operation.selectionSet], type?.name ?? '');
  }

  /** The fields selected under a field (collected once per field). */
  childrenOf(field: ResolvedField): FieldGroup[] {
    let out = this.children.get(field.group);
    if (!out) this.children.set(field.group, (out = this.collect(subSelections(field.group), field.returns?.name ?? '')));
    return out;
  }

  private collect(sets: Parameters<typeof collectFields>[0], parent: string): FieldGroup[] {
    const { fragments, variables, onField } = this;
    return collectFields(sets, parent, { fragments, included: (d) => variables.included(d), ...(onField ? { onField } : {}) });
  }

  resolve(group: FieldGroup): ResolvedField {
    let out = this.resolved.get(group);
    if (out) return out;
    const definition = fieldDefinition(this.schema, this.schema.getType(group.on) ?? undefined, group.name);
    const coordinate = `${group.on}.${group.name}`;
    const returns = definition && getNamedType(definition.type);
    out = { group, definition, coordinate, cost: this.options.directives.fields.get(coordinate), returns };
    this.resolved.set(group, out);
    return out;
  }

  /** The weight of one item of a field. */
  weight(field: ResolvedField): number {
    return field.cost?.weight ?? (field.returns && this.options.directives.types.get(field.returns.name)) ?? 1;
  }

  /** The weights of the arguments given to a field that have one (`@cost` on an argument definition). */
  argumentsCost(field: ResolvedField): number {
    const weights = field.cost?.argumentWeights;
    if (!weights) return 0;
    let cost = 0;
    for (const a of field.group.nodes[0]!.arguments ?? []) {
      const w = weights.get(a.name.value);
      const value = w === undefined ? undefined : this.variables.value(a.value);
      if (w !== undefined && value !== null && value !== undefined) cost += w;
    }
    return cost;
  }

  /**
   * The size a list field, or the lists a field sizes (`sizedFields`), are estimated at: its
   * slicing arguments' largest value (given, from a variable, or the argument's default), else
   * its assumed size, else the default page size for a paginated field, the introspection
   * schema's own sizes, or LIST_SIZE_DEFAULT.
   */
  expectedSize(field: ResolvedField): number {
    const listSize = field.cost?.listSize;
    if (listSize) {
      const given = this.slicingValues(field, listSize.slicingArguments);
      if (listSize.requireOneSlicingArgument && listSize.slicingArguments.length > 0 && given.length !== 1 && !this.variables.recording) {
        const names = listSize.slicingArguments.join(', ');
        throw new CostError('slicing', `${field.coordinate} needs exactly one of its slicing arguments (${names}) to be estimated; ${given.length} given`);
      }
      if (given.length > 0) return Math.max(0, ...given);
      if (listSize.assumedSize !== undefined) return listSize.assumedSize;
      if (listSize.slicingArguments.length > 0) return this.options.pageSize;
    }
    return introspectionListSize(this.schema, field.coordinate) ?? this.options.listSize;
  }

  private slicingValues(field: ResolvedField, names: readonly string[]): number[] {
    const out: number[] = [];
    for (const name of names) {
      const node = field.group.nodes[0]!.arguments?.find((a) => a.name.value === name);
      // An absent variable leaves the argument unset, so its default applies; an explicit null does not.
      let value = node ? this.variables.value(node.value) : undefined;
      if (value === undefined) value = field.definition?.args.find((a) => a.name === name)?.defaultValue;
      if (typeof value === 'number' && Number.isFinite(value)) out.push(value);
    }
    return out;
  }
}
