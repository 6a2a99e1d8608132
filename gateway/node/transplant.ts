/**
 * Adds the node subgraph to a supergraph as composition would, and nothing else: a `join__Graph`
 * value for it, the `Node` interface, `Query.node` and `Query.nodes`, and on each entity type of
 * ./augment.ts `implements Node`, a `join__type` with its key, `nodeId`, and the node graph on its
 * key fields. Every other line of the supergraph stays as it was, so no plan of an operation that
 * does not select the node fields changes. Works on any Federation 2 supergraph (whose extracted
 * subgraphs may not compose again: an `@interfaceObject` or a `@provides` does not survive the
 * round trip); the result is validated by ./augment.ts.
 *
 * A field without `join__field` belongs to every graph of its type's `join__type`s; adding the node
 * graph to a type would add it to those fields too, so they get an explicit `join__field` for each
 * of their graphs first.
 */
import {
  Kind,
  parse,
  print,
  type ConstDirectiveNode,
  type DocumentNode,
  type EnumTypeDefinitionNode,
  type FieldDefinitionNode,
  type InterfaceTypeDefinitionNode,
  type ObjectTypeDefinitionNode,
  type ScalarTypeDefinitionNode,
} from 'graphql';

export interface Transplant {
  /** Name of the node subgraph, and its URL (never fetched). */
  readonly name: string;
  readonly url: string;
  /** Entity type → its key fields. */
  readonly keys: ReadonlyMap<string, readonly string[]>;
  /** The node subgraph's SDL (./augment.ts), whose Node interface and Query fields are copied. */
  readonly nodeSdl: string;
}

/** The prefix the supergraph's `@link` gives the join spec (`join` unless renamed with `as:`). */
function joinPrefix(doc: DocumentNode): string | undefined {
  for (const def of doc.definitions) {
    if (def.kind !== Kind.SCHEMA_DEFINITION && def.kind !== Kind.SCHEMA_EXTENSION) continue;
    for (const link of def.directives ?? []) {
      const arg = (name: string) => link.arguments?.find((a) => a.name.value === name)?.value;
      const url = arg('url');
      if (link.name.value !== 'link' || url?.kind !== Kind.STRING || !url.value.includes('specs.apollo.dev/join/')) continue;
      const as = arg('as');
      return as?.kind === Kind.STRING ? as.value : 'join';
    }
  }
  return undefined;
}

const directive = (text: string): ConstDirectiveNode => (parse(`scalar X ${text}`).definitions[0] as ScalarTypeDefinitionNode).directives![0]!;

/** The supergraph SDL with the node subgraph in it; throws when it has no join spec able to say so. */
export function transplantNodeGraph(supergraphSdl: string, t: Transplant): string {
  const doc = parse(supergraphSdl);
  const p = joinPrefix(doc);
  const defined = new Set(doc.definitions.flatMap((d) => ('name' in d && d.name ? [d.name.value] : [])));
  if (!p || !defined.has(`${p}__implements`)) throw new Error('the supergraph has no join spec with join__implements (Federation 2)');
  const graph = t.name.toUpperCase().replace(/[^A-Z0-9_]/g, '_');
  const graphOf = (d: ConstDirectiveNode) => d.arguments?.find((a) => a.name.value === 'graph')?.value;
  const joinField = (g: string) => directive(`@${p}__field(graph: ${g})`);
  /** Fields of `def` with their implicit graphs made explicit. */
  const explicit = (def: ObjectTypeDefinitionNode): FieldDefinitionNode[] => {
    // One graph per subgraph, however many keys it declares.
    const graphs = [...new Set((def.directives ?? []).filter((d) => d.name.value === `${p}__type`).map((d) => print(graphOf(d)!)))];
    return (def.fields ?? []).map((f) =>
      f.directives?.some((d) => d.name.value === `${p}__field`) ? f : { ...f, directives: [...(f.directives ?? []), ...graphs.map(joinField)] },
    );
  };
  const nodeDoc = parse(t.nodeSdl);
  const nodeQuery = nodeDoc.definitions.find((d): d is ObjectTypeDefinitionNode => d.kind === Kind.OBJECT_TYPE_DEFINITION && d.name.value === 'Query')!;
  const nodeInterface = nodeDoc.definitions.find((d): d is InterfaceTypeDefinitionNode => d.kind === Kind.INTERFACE_TYPE_DEFINITION)!;
  const nodeId = (nodeDoc.definitions.find((d) => d.kind === Kind.OBJECT_TYPE_DEFINITION && d.name.value !== 'Query') as ObjectTypeDefinitionNode).fields!.find((f) => f.name.value === 'nodeId')!;
  const served = (f: FieldDefinitionNode): FieldDefinitionNode => ({ ...f, directives: [joinField(graph)] });
  const typeDirective = (key?: readonly string[]) => directive(`@${p}__type(graph: ${graph}${key ? `, key: ${JSON.stringify(key.join(' '))}` : ''})`);
  const queryName = queryTypeName(doc);

  const definitions = doc.definitions.map((def) => {
    if (def.kind === Kind.ENUM_TYPE_DEFINITION && def.name.value === `${p}__Graph`) {
      const value = { kind: Kind.ENUM_VALUE_DEFINITION, name: { kind: Kind.NAME, value: graph }, directives: [directive(`@${p}__graph(name: ${JSON.stringify(t.name)}, url: ${JSON.stringify(t.url)})`)] };
      return { ...def, values: [...(def.values ?? []), value] } as EnumTypeDefinitionNode;
    }
    if (def.kind !== Kind.OBJECT_TYPE_DEFINITION) return def;
    if (def.name.value === queryName) {
      return { ...def, directives: [...(def.directives ?? []), typeDirective()], fields: [...explicit(def), ...nodeQuery.fields!.map(served)] };
    }
    const key = t.keys.get(def.name.value);
    if (!key) return def;
    const fields = explicit(def).map((f) => (key.includes(f.name.value) ? { ...f, directives: [...(f.directives ?? []), joinField(graph)] } : f));
    return {
      ...def,
      interfaces: [...(def.interfaces ?? []), { kind: Kind.NAMED_TYPE, name: { kind: Kind.NAME, value: 'Node' } }],
      directives: [...(def.directives ?? []), directive(`@${p}__implements(graph: ${graph}, interface: "Node")`), typeDirective(key)],
      fields: [...fields, served(nodeId)],
    } as ObjectTypeDefinitionNode;
  });
  const node: InterfaceTypeDefinitionNode = { ...nodeInterface, directives: [typeDirective()], fields: nodeInterface.fields!.map(served) };
  return print({ ...doc, definitions: [...definitions, node] });
}

function queryTypeName(doc: DocumentNode): string {
  for (const def of doc.definitions) {
    if (def.kind !== Kind.SCHEMA_DEFINITION) continue;
    const query = def.operationTypes.find((o) => o.operation === 'query');
    if (query) return query.type.name.value;
  }
  return 'Query';
}
