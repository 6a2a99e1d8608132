/**
 * The demand-control directives of a supergraph, as Federation 2.9 composes them from the
 * subgraphs and Apollo Router's demand control reads them: `@cost(weight:)` and
 * `@listSize(assumedSize:, slicingArguments:, sizedFields:, requireOneSlicingArgument:)` of the
 * cost spec (https://specs.apollo.dev/cost/v0.1, which implements the IBM GraphQL Cost Directive
 * specification). They are read under the names the supergraph links them by (a subgraph may
 * import them renamed), so the cost analysis works for any supergraph the gateway serves; one that
 * does not link the spec has none, and every field gets the configured defaults.
 */
import { baseType, costIdentity, isListType, isNonNullType, Supergraph, type FieldDefinition, type Schema, type Type } from '@apollo/federation-internals';

export interface ListSize {
  /** The size of the list when no slicing argument gives it. */
  readonly assumedSize: number | undefined;
  /** Arguments whose value is the size of the list (the largest given, when several are). */
  readonly slicingArguments: readonly string[];
  /** Fields of the returned type that are the sized list (a connection's `edges` and `nodes`). */
  readonly sizedFields: readonly string[];
  /** Exactly one slicing argument must be given (the spec's default: true). */
  readonly requireOneSlicingArgument: boolean;
}

export interface FieldCost {
  /** `@cost(weight:)` of the field. */
  readonly weight?: number;
  readonly listSize?: ListSize;
  /** `@cost(weight:)` of its arguments, by name: added once when the argument is given. */
  readonly argumentWeights?: ReadonlyMap<string, number>;
}

export interface CostDirectives {
  /** By `Type.field`. */
  readonly fields: ReadonlyMap<string, FieldCost>;
  /** `@cost(weight:)` of object, scalar and enum types: the weight of a field returning one, unless the field has its own. */
  readonly types: ReadonlyMap<string, number>;
}

export const NO_COST_DIRECTIVES: CostDirectives = Object.freeze({ fields: new Map(), types: new Map() });

interface Names {
  readonly cost: string;
  readonly listSize: string;
}

/** The supergraph's schema and the names it links the cost directives by; no names when it does not link the cost spec. */
function linked(supergraphSdl: string): { schema: Schema; names: Names | undefined } {
  const schema = Supergraph.build(supergraphSdl, { supportedFeatures: null, validateSupergraph: false }).schema;
  const feature = schema.coreFeatures?.getByIdentity(costIdentity);
  return { schema, names: feature && { cost: feature.directiveNameInSchema('cost'), listSize: feature.directiveNameInSchema('listSize') } };
}

type Element = { appliedDirectivesOf(name: string): readonly { arguments(): Record<string, unknown> }[] };

function weightOf(element: Element, names: Names): number | undefined {
  const weight = element.appliedDirectivesOf(names.cost)[0]?.arguments()['weight'];
  return typeof weight === 'number' ? weight : undefined;
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

function listSizeOf(field: Element, names: Names): ListSize | undefined {
  const args = field.appliedDirectivesOf(names.listSize)[0]?.arguments();
  if (!args) return undefined;
  return {
    assumedSize: typeof args['assumedSize'] === 'number' ? args['assumedSize'] : undefined,
    slicingArguments: strings(args['slicingArguments']),
    sizedFields: strings(args['sizedFields']),
    requireOneSlicingArgument: args['requireOneSlicingArgument'] !== false,
  };
}

function fieldCost(field: FieldDefinition<any>, names: Names): FieldCost | undefined {
  const weight = weightOf(field, names);
  const listSize = listSizeOf(field, names);
  const argumentWeights = new Map<string, number>();
  for (const arg of field.arguments()) {
    const w = weightOf(arg, names);
    if (w !== undefined) argumentWeights.set(arg.name, w);
  }
  if (weight === undefined && !listSize && argumentWeights.size === 0) return undefined;
  return { ...(weight !== undefined ? { weight } : {}), ...(listSize ? { listSize } : {}), ...(argumentWeights.size ? { argumentWeights } : {}) };
}

function compositeFields(schema: Schema): FieldDefinition<any>[] {
  return [...schema.objectTypes(), ...schema.interfaceTypes()].flatMap((t) => t.fields() as FieldDefinition<any>[]);
}

/**
 * The directives of a supergraph the gateway has validated already, or none when they cannot be
 * read (`onUnreadable` is told): without them every list costs the configured defaults.
 */
export function costDirectivesOrNone(supergraphSdl: string, onUnreadable: (err: unknown) => void): CostDirectives {
  try {
    return readCostDirectives(supergraphSdl);
  } catch (err) {
    onUnreadable(err);
    return NO_COST_DIRECTIVES;
  }
}

/** Reads the cost directives of a supergraph (its SDL as composed, with `@link`s). */
export function readCostDirectives(supergraphSdl: string): CostDirectives {
  const { schema, names } = linked(supergraphSdl);
  if (!names) return NO_COST_DIRECTIVES;
  const fields = new Map<string, FieldCost>();
  for (const field of compositeFields(schema)) {
    const cost = fieldCost(field, names);
    if (cost) fields.set(field.coordinate, cost);
  }
  const types = new Map<string, number>();
  for (const type of schema.types()) {
    const weight = weightOf(type as unknown as Element, names);
    if (weight !== undefined) types.set(type.name, weight);
  }
  return { fields, types };
}

function isList(type: Type | undefined): boolean {
  return type !== undefined && (isListType(type) || (isNonNullType(type) && isListType(type.ofType)));
}

/**
 * The list fields of a supergraph whose size the cost analysis would have to assume (the
 * configured default): neither a slicing argument nor an assumed size, nor sized by every field
 * that returns their type (`sizedFields`). `npm run compose` refuses our SDL with any.
 */
export function unsizedListFields(supergraphSdl: string): string[] {
  const { schema, names } = linked(supergraphSdl);
  const all = compositeFields(schema);
  const listSize = (f: FieldDefinition<any>) => (names ? listSizeOf(f, names) : undefined);
  const sizes = (f: FieldDefinition<any>) => {
    const size = listSize(f);
    return size !== undefined && (size.assumedSize !== undefined || size.slicingArguments.length > 0);
  };
  const sizedByEveryParent = (f: FieldDefinition<any>) => {
    const returning = all.filter((g) => g.type !== undefined && baseType(g.type).name === f.parent.name);
    return returning.length > 0 && returning.every((g) => sizes(g) && listSize(g)!.sizedFields.includes(f.name));
  };
  return all.filter((f) => isList(f.type) && !sizes(f) && !sizedByEveryParent(f)).map((f) => f.coordinate);
}
