/**
 * The actual cost of an executed operation: the weights of the estimate (./analysis.ts) over the
 * data really returned, each list counted as the items it holds. Where the estimate assumes,
 * this counts; the two side by side (metrics, and the response's `extensions.cost` on request)
 * show how far the `@listSize` declarations are from the data.
 */
import { isAbstractType, isObjectType, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';
import { CostContext, MUTATION_COST, Variables, type CostOptions, type ResolvedField } from './analysis.ts';
import type { FieldGroup, Fragments } from './selections.ts';

/** Whether fields selected on type `on` apply to an object of type `typename`. */
function applies(schema: GraphQLSchema, on: string, typename: string): boolean {
  if (on === typename) return true;
  const abstract = schema.getType(on);
  const object = schema.getType(typename);
  return isAbstractType(abstract) && isObjectType(object) && schema.isSubType(abstract, object);
}

/** A field group with what the walk needs of it, resolved once per execution. */
interface Entry {
  readonly key: string;
  readonly on: string;
  readonly field: ResolvedField;
  readonly weight: number;
  readonly argumentsCost: number;
  /** The compiled selection of the field's objects, set on first use. */
  children: Compiled | undefined;
}

/** The entries of a selection. */
interface Compiled {
  /** The first entry of each response key (what an object without `__typename` is counted by). */
  readonly entries: readonly Entry[];
  readonly all: readonly Entry[];
  /**
   * By `__typename`, the entries that count an object of that type: the first of each response
   * key among those that apply to it (the objects of a list are mostly of a few types).
   */
  readonly byTypename: Map<string, readonly Entry[]>;
}

/** The first entry of each response key, in order. */
function firstOfEachKey(entries: readonly Entry[]): Entry[] {
  const seen = new Set<string>();
  return entries.filter((entry) => !seen.has(entry.key) && seen.add(entry.key));
}

/**
 * Each selection's fields resolved once per execution rather than once per object of a list: an
 * answer holds many objects of the same selection, and the walk runs on every answer (metrics).
 */
class Walk {
  private readonly compiled = new WeakMap<readonly FieldGroup[], Compiled>();

  constructor(readonly ctx: CostContext) {}

  compile(groups: readonly FieldGroup[]): Compiled {
    let out = this.compiled.get(groups);
    if (out) return out;
    const entries = groups.map((group) => {
      const field = this.ctx.resolve(group);
      return { key: group.key, on: group.on, field, weight: this.ctx.weight(field), argumentsCost: this.ctx.argumentsCost(field), children: undefined };
    });
    this.compiled.set(groups, (out = { entries: firstOfEachKey(entries), all: entries, byTypename: new Map() }));
    return out;
  }

  /** The entries of `selection` that apply to an object of type `typename` (all of them for an object without one). */
  private entriesFor(selection: Compiled, typename: string | undefined): readonly Entry[] {
    if (typename === undefined) return selection.entries;
    let entries = selection.byTypename.get(typename);
    if (!entries) {
      entries = firstOfEachKey(selection.all.filter((entry) => applies(this.ctx.schema, entry.on, typename)));
      selection.byTypename.set(typename, entries);
    }
    return entries;
  }

  valueCost(entry: Entry, value: unknown): number {
    if (Array.isArray(value)) {
      let cost = 0;
      for (let i = 0; i < value.length; i++) cost += this.valueCost(entry, value[i]);
      return cost;
    }
    if (value === null || typeof value !== 'object') return entry.weight;
    // Kept on the entry: looking the selection up in the context's maps for every object of an
    // answer allocated about 40 bytes an object (V8's sampling heap profiler; 37 KB per walk of the
    // benchmark's heavyNested answer, and a walk a quarter slower).
    return entry.weight + this.objectCost((entry.children ??= this.compile(this.ctx.childrenOf(entry.field))), value as Record<string, unknown>);
  }

  /** Each response key of an object counted once, by the first field that selects it on the object's type. */
  objectCost(selection: Compiled, object: Record<string, unknown>): number {
    const typename = typeof object['__typename'] === 'string' ? object['__typename'] : undefined;
    const entries = this.entriesFor(selection, typename);
    let cost = 0;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      if (entry.key in object) cost += this.valueCost(entry, object[entry.key]) + entry.argumentsCost;
    }
    return cost;
  }
}

/**
 * The actual cost of the results of one operation run with given values of the variables its
 * cost reads (`@skip`/`@include` conditions, weighted arguments): its selections are resolved on
 * first use and kept, so that one instance serves every result of the operation with those values
 * (gateway/operationLimits.ts keeps them per operation, as it keeps the estimates).
 */
export class ActualCost {
  private readonly walk: Walk;
  private root: readonly FieldGroup[] | undefined;

  constructor(
    schema: GraphQLSchema,
    private readonly operation: OperationDefinitionNode,
    fragments: Fragments,
    options: CostOptions,
    variables: Readonly<Record<string, unknown>> | undefined,
  ) {
    this.walk = new Walk(new CostContext(schema, options, fragments, new Variables(operation, variables)));
  }

  /** The actual cost of `data`, a result of the operation. */
  of(data: Readonly<Record<string, unknown>>): number {
    const walk = this.walk;
    const root = (this.root ??= walk.ctx.root(this.operation));
    return (this.operation.operation === 'mutation' ? MUTATION_COST : 0) + walk.objectCost(walk.compile(root), data);
  }
}
