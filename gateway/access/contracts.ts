/**
 * Schema contracts: which subgraphs own or contribute every field of the supergraph, and the
 * filtered view of the API schema a caller's scope allows. A partner subscribed to `funding` and
 * `reuse` sees (in introspection and the explorer) only what those subgraphs serve, and an
 * operation touching anything else is refused before any subgraph is called, with an error naming
 * the missing subscription. Entity keys a query plan needs stay usable: the check applies to the
 * fields the client selects, not to the plan's internal fetches.
 *
 * Built once per supergraph; filtered schemas are built once per distinct scope and cached.
 */
import { filterSchema, pruneSchema } from '@graphql-tools/utils';
import {
  GraphQLError,
  isInterfaceType,
  isObjectType,
  isUnionType,
  Kind,
  parse,
  TypeInfo,
  visit,
  visitWithTypeInfo,
  getNamedType,
  type DirectiveNode,
  type DocumentNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import { AccessCode, inScope, type Caller, type Scope } from '../../lib/access.ts';
import { NODE_GRAPH } from '../node/augment.ts';

/** `Type.field` → the subgraphs that resolve it (never empty for a field of the API schema). */
export type FieldOwners = ReadonlyMap<string, readonly string[]>;

function argValue(d: DirectiveNode, name: string): string | boolean | undefined {
  const arg = d.arguments?.find((a) => a.name.value === name);
  if (!arg) return undefined;
  if (arg.value.kind === Kind.ENUM || arg.value.kind === Kind.STRING) return arg.value.value;
  if (arg.value.kind === Kind.BOOLEAN) return arg.value.value;
  return undefined;
}

/**
 * Reads `@join__type` / `@join__field` of a supergraph: a field with `@join__field` directives is
 * resolved by the graphs they name (not `external`, not `usedOverridden`); one without is
 * resolved by every graph that defines its type.
 */
function fieldOwners(supergraphSdl: string): { owners: FieldOwners; subgraphs: string[] } {
  const doc = parse(supergraphSdl);
  const graphNames = new Map<string, string>();
  const types = new Map<string, { graphs: string[]; fields: Map<string, string[] | null>; interfaces: string[]; inherited: Set<string> }>();
  const addType = (
    name: string,
    directives: readonly DirectiveNode[] | undefined,
    fields: readonly { name: { value: string }; directives?: readonly DirectiveNode[] | undefined }[] | undefined,
    interfaces: readonly { name: { value: string } }[] | undefined,
  ) => {
    const entry = types.get(name) ?? { graphs: [], fields: new Map<string, string[] | null>(), interfaces: [], inherited: new Set<string>() };
    types.set(name, entry);
    for (const i of interfaces ?? []) if (!entry.interfaces.includes(i.name.value)) entry.interfaces.push(i.name.value);
    for (const d of directives ?? []) {
      if (d.name.value === 'join__type') {
        const g = argValue(d, 'graph');
        if (typeof g === 'string' && !entry.graphs.includes(g)) entry.graphs.push(g);
      }
    }
    for (const f of fields ?? []) {
      const joins = (f.directives ?? []).filter((d) => d.name.value === 'join__field');
      if (joins.length === 0) {
        if (!entry.fields.has(f.name.value)) entry.fields.set(f.name.value, null);
        continue;
      }
      const owners = entry.fields.get(f.name.value) ?? [];
      // A bare @join__field: no subgraph defines the field on this type; it comes from an
      // interface (an @interfaceObject contributes it), so it has that interface field's owners.
      if (joins.some((j) => !j.arguments?.length)) entry.inherited.add(f.name.value);
      for (const j of joins) {
        const g = argValue(j, 'graph');
        if (typeof g !== 'string' || argValue(j, 'external') === true || argValue(j, 'usedOverridden') === true) continue;
        if (!owners.includes(g)) owners.push(g);
      }
      entry.fields.set(f.name.value, owners);
    }
  };
  for (const def of doc.definitions) {
    if (def.kind === Kind.ENUM_TYPE_DEFINITION && def.name.value === 'join__Graph') {
      for (const v of def.values ?? []) {
        const d = v.directives?.find((x) => x.name.value === 'join__graph');
        const name = d && argValue(d, 'name');
        graphNames.set(v.name.value, typeof name === 'string' ? name : v.name.value.toLowerCase());
      }
    } else if (
      def.kind === Kind.OBJECT_TYPE_DEFINITION ||
      def.kind === Kind.OBJECT_TYPE_EXTENSION ||
      def.kind === Kind.INTERFACE_TYPE_DEFINITION ||
      def.kind === Kind.INTERFACE_TYPE_EXTENSION
    ) {
      addType(def.name.value, def.directives, def.fields, def.interfaces);
    }
  }
  const owners = new Map<string, string[]>();
  const graphsOf = (t: { graphs: string[]; fields: Map<string, string[] | null> }, field: string) => t.fields.get(field) ?? t.graphs;
  const real = (graphs: string[]) => graphs.map((g) => graphNames.get(g) ?? g.toLowerCase()).filter((name) => name !== NODE_GRAPH);
  const subgraphs = [...graphNames.values()].filter((name) => name !== NODE_GRAPH).sort();
  for (const [typeName, t] of types) {
    for (const [field] of t.fields) {
      let graphs = graphsOf(t, field);
      if (t.inherited.has(field)) {
        graphs = [...graphs];
        for (const i of t.interfaces) {
          const it = types.get(i);
          if (it?.fields.has(field)) graphs.push(...graphsOf(it, field));
        }
      }
      // What the gateway serves itself (gateway/node/: nodeId, node, nodes) is readable by whoever
      // may read the type it is on; Node and the root fields, by any subgraph's readers.
      let list = real(graphs);
      if (list.length === 0) list = real(t.graphs);
      if (list.length === 0) list = subgraphs;
      owners.set(`${typeName}.${field}`, [...new Set(list)].sort());
    }
  }
  return { owners, subgraphs };
}

const INTROSPECTION_FIELDS = new Set(['__schema', '__type']);

/** What an operation needs, computed once per document and operation. */
interface OperationNeeds {
  /** Fields read, with their owners. */
  readonly reads: readonly { field: string; owners: readonly string[] }[];
  /** Root mutation fields, with their owners. */
  readonly writes: readonly { field: string; owners: readonly string[] }[];
  readonly introspection: boolean;
  /** Every introspection field is a direct root field of the operation (not inside a fragment). */
  readonly introspectionAtRoot: boolean;
  /** Selects data besides introspection (other than `__typename`). */
  readonly data: boolean;
}

export class Contracts {
  readonly subgraphs: readonly string[];
  private readonly owners: FieldOwners;
  private readonly schemas = new Map<string, GraphQLSchema>();
  private readonly needs = new WeakMap<DocumentNode, Map<string, OperationNeeds>>();

  constructor(
    readonly apiSchema: GraphQLSchema,
    supergraphSdl: string,
  ) {
    const { owners, subgraphs } = fieldOwners(supergraphSdl);
    this.owners = owners;
    this.subgraphs = subgraphs;
  }

  ownersOf(typeName: string, fieldName: string): readonly string[] {
    return this.owners.get(`${typeName}.${fieldName}`) ?? [];
  }

  /** Reads/writes/introspection of one operation of a document (validated against the API schema). */
  private operationNeeds(document: DocumentNode, operation: OperationDefinitionNode): OperationNeeds {
    let byOp = this.needs.get(document);
    if (!byOp) this.needs.set(document, (byOp = new Map()));
    const opKey = operation.name?.value ?? '';
    const cached = byOp.get(opKey);
    if (cached) return cached;
    const reads = new Map<string, readonly string[]>();
    const writes = new Map<string, readonly string[]>();
    let introspection = false;
    let introspectionFields = 0;
    let data = false;
    const mutationType = this.apiSchema.getMutationType();
    const fragments = new Map(
      document.definitions.flatMap((d) => (d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d] as const] : [])),
    );
    const typeInfo = new TypeInfo(this.apiSchema);
    const seen = new Set<string>();
    let depth = 0;
    const walk = (node: OperationDefinitionNode | (typeof fragments extends Map<string, infer F> ? F : never)) => {
      visit(
        node,
        visitWithTypeInfo(typeInfo, {
          Field: {
            enter: (field) => {
              const parent = typeInfo.getParentType();
              const name = field.name.value;
              if (name === '__typename' || !parent) return;
              if (INTROSPECTION_FIELDS.has(name) && depth === 0) {
                introspection = true;
                introspectionFields++;
                depth++;
                return;
              }
              if (depth > 0) {
                depth++;
                return;
              }
              data = true;
              const key = `${parent.name}.${name}`;
              const owners = this.ownersOf(parent.name, name);
              if (mutationType && parent.name === mutationType.name) writes.set(key, owners);
              else reads.set(key, owners);
            },
            leave: (field) => {
              if (depth > 0) depth--;
              void field;
            },
          },
          FragmentSpread: (spread) => {
            const name = spread.name.value;
            const fragment = fragments.get(name);
            if (!fragment || seen.has(name)) return;
            seen.add(name);
            walk(fragment);
          },
        }),
      );
    };
    walk(operation);
    // Introspection subtrees are counted by depth; a fragment spread inside one walks a fragment
    // on an introspection type, whose fields have no owners and are skipped below.
    const result: OperationNeeds = {
      reads: [...reads].filter(([k]) => !k.startsWith('__')).map(([field, owners]) => ({ field, owners })),
      writes: [...writes].map(([field, owners]) => ({ field, owners })),
      introspection,
      introspectionAtRoot:
        introspectionFields === operation.selectionSet.selections.filter((sel) => sel.kind === Kind.FIELD && INTROSPECTION_FIELDS.has(sel.name.value)).length,
      data,
    };
    byOp.set(opKey, result);
    return result;
  }

  /**
   * Refuses an operation the caller's scope does not cover: SUBGRAPH_NOT_SUBSCRIBED for a field
   * served only by subgraphs outside the read scope, FORBIDDEN for a mutation outside the write
   * scope. Returns the operation's needs (introspection and data flags) when allowed.
   */
  check(document: DocumentNode, operation: OperationDefinitionNode, caller: Caller): Pick<OperationNeeds, 'introspection' | 'introspectionAtRoot' | 'data'> {
    const needs = this.operationNeeds(document, operation);
    const forbidden = needs.writes.filter((w) => !w.owners.some((o) => caller.write.includes(o)));
    if (forbidden.length > 0) {
      const subgraphs = [...new Set(forbidden.flatMap((w) => w.owners))].sort();
      throw new GraphQLError(
        `${forbidden.map((w) => w.field).join(', ')} ${forbidden.length === 1 ? 'writes' : 'write'} to ${subgraphs.join(', ')}: ` +
          `needs an editor key scoped to ${subgraphs.join(' or ')}` +
          (caller.role === 'editor' ? ` (this key may write to ${caller.write.join(', ') || 'nothing'})` : ` (this caller is ${caller.role})`),
        { extensions: { code: AccessCode.FORBIDDEN, subgraphs, fields: forbidden.map((w) => w.field), http: { status: 403 } } },
      );
    }
    const missing = needs.reads.filter((r) => !r.owners.some((o) => inScope(caller.read, o)));
    if (missing.length > 0) {
      const subgraphs = [...new Set(missing.flatMap((r) => r.owners))].sort();
      const scope = caller.read === '*' ? 'every subgraph' : caller.read.join(', ') || 'no subgraph';
      throw new GraphQLError(
        `${missing.map((r) => r.field).join(', ')} ${missing.length === 1 ? 'is' : 'are'} served by ${subgraphs.join(', ')}, ` +
          `which ${caller.role === 'anonymous' ? 'anonymous callers may not read' : 'this key is not subscribed to'} (subscribed: ${scope})`,
        { extensions: { code: AccessCode.SUBGRAPH_NOT_SUBSCRIBED, subgraphs, fields: missing.map((r) => r.field), http: { status: 403 } } },
      );
    }
    return { introspection: needs.introspection, introspectionAtRoot: needs.introspectionAtRoot, data: needs.data };
  }

  /** The API schema as `caller` may see it (cached per distinct read and write scope). */
  schemaFor(caller: Pick<Caller, 'read' | 'write'>): GraphQLSchema {
    const key = `${scopeKey(caller.read)}|${[...caller.write].sort().join(',')}`;
    let schema = this.schemas.get(key);
    if (!schema) {
      schema = this.filtered(caller.read, caller.write);
      this.schemas.set(key, schema);
    }
    return schema;
  }

  private filtered(read: Scope, write: readonly string[]): GraphQLSchema {
    if (read === '*' && this.subgraphs.every((s) => write.includes(s))) return this.apiSchema;
    const mutation = this.apiSchema.getMutationType()?.name;
    const visibleField = new Set<string>();
    for (const [key, owners] of this.owners) {
      const typeName = key.slice(0, key.indexOf('.'));
      const ok = typeName === mutation ? owners.some((o) => write.includes(o)) : owners.some((o) => inScope(read, o));
      if (ok) visibleField.add(key);
    }
    // Hide fields whose type has nothing left to show, until nothing changes; an interface field
    // stays only if every implementation still shows it.
    const types = this.apiSchema.getTypeMap();
    const visibleType = (name: string): boolean => {
      const t = types[name];
      if (!t) return false;
      if (isObjectType(t) || isInterfaceType(t)) return Object.keys(t.getFields()).some((f) => visibleField.has(`${name}.${f}`));
      if (isUnionType(t)) return t.getTypes().some((m) => visibleType(m.name));
      return true;
    };
    for (let changed = true; changed; ) {
      changed = false;
      for (const key of [...visibleField]) {
        const [typeName, fieldName] = key.split('.') as [string, string];
        const type = types[typeName];
        if (!type || !(isObjectType(type) || isInterfaceType(type))) continue;
        const field = type.getFields()[fieldName];
        let keep = !!field && visibleType(getNamedType(field.type).name);
        if (keep && isInterfaceType(type)) {
          keep = this.apiSchema.getPossibleTypes(type).every((impl) => !visibleType(impl.name) || visibleField.has(`${impl.name}.${fieldName}`));
        }
        if (!keep) {
          visibleField.delete(key);
          changed = true;
        }
      }
    }
    const filtered = filterSchema({
      schema: this.apiSchema,
      typeFilter: (name, type) => name.startsWith('__') || !(isObjectType(type) || isInterfaceType(type) || isUnionType(type)) || visibleType(name),
      rootFieldFilter: (_op, name) => visibleField.has(`${this.rootName(_op)}.${name}`),
      objectFieldFilter: (typeName, fieldName) => visibleField.has(`${typeName}.${fieldName}`),
      interfaceFieldFilter: (typeName, fieldName) => visibleField.has(`${typeName}.${fieldName}`),
    });
    return pruneSchema(filtered);
  }

  private rootName(op: 'Query' | 'Mutation' | 'Subscription'): string {
    const t =
      op === 'Query' ? this.apiSchema.getQueryType() : op === 'Mutation' ? this.apiSchema.getMutationType() : this.apiSchema.getSubscriptionType();
    return t?.name ?? op;
  }
}

function scopeKey(scope: Scope): string {
  return scope === '*' ? '*' : [...scope].sort().join(',');
}
