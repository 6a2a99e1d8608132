/**
 * SDL helpers of the node subgraph's composition (./augment.ts): descriptions put back after the
 * extraction that dropped them, and the API schema printed with and without the node additions, to
 * prove the composition changed nothing else.
 */
import {
  Kind,
  lexicographicSortSchema,
  parse,
  print,
  printSchema,
  visit,
  type ASTNode,
  type DefinitionNode,
  type GraphQLSchema,
  type StringValueNode,
} from 'graphql';

type Described = ASTNode & { readonly description?: StringValueNode | undefined; readonly name?: { readonly value: string } };

/** Every description of a document, by schema coordinate (`Type`, `Type.field`, `Type.field(arg:)`, `@dir(arg:)`). */
function descriptions(doc: { readonly definitions: readonly DefinitionNode[] }): Map<string, StringValueNode> {
  const out = new Map<string, StringValueNode>();
  const add = (coordinate: string, node: Described) => {
    if (node.description) out.set(coordinate, node.description);
  };
  for (const def of doc.definitions) {
    if (!('name' in def) || !def.name) continue;
    const prefix = def.kind === Kind.DIRECTIVE_DEFINITION ? `@${def.name.value}` : def.name.value;
    add(prefix, def);
    const members = [
      ...('fields' in def ? (def.fields ?? []) : []),
      ...('values' in def ? (def.values ?? []) : []),
    ] as readonly Described[];
    for (const member of members) {
      add(`${prefix}.${member.name!.value}`, member);
      for (const arg of ('arguments' in member ? (member.arguments as readonly Described[] | undefined) : undefined) ?? []) add(`${prefix}.${member.name!.value}(${arg.name!.value}:)`, arg);
    }
    for (const arg of ('arguments' in def ? (def.arguments ?? []) : []) as readonly Described[]) add(`${prefix}(${arg.name!.value}:)`, arg);
  }
  return out;
}

/** `target` with the descriptions of `source` wherever `target` has none (same coordinates). */
export function restoreDescriptions(target: string, source: string): string {
  const known = descriptions(parse(source));
  const path: string[] = [];
  // The same coordinates as descriptions(): a directive's arguments hang off `@dir` itself.
  const coordinate = (name: string, kind: string) => {
    if (path.length === 0) return kind === Kind.DIRECTIVE_DEFINITION ? `@${name}` : name;
    const parent = path[0]!;
    if (path.length === 1) return parent.startsWith('@') ? `${parent}(${name}:)` : `${parent}.${name}`;
    return `${parent}.${path[1]}(${name}:)`;
  };
  const named = new Set<string>([
    Kind.OBJECT_TYPE_DEFINITION, Kind.INTERFACE_TYPE_DEFINITION, Kind.UNION_TYPE_DEFINITION, Kind.ENUM_TYPE_DEFINITION,
    Kind.INPUT_OBJECT_TYPE_DEFINITION, Kind.SCALAR_TYPE_DEFINITION, Kind.DIRECTIVE_DEFINITION, Kind.FIELD_DEFINITION,
    Kind.INPUT_VALUE_DEFINITION, Kind.ENUM_VALUE_DEFINITION,
  ]);
  const doc = visit(parse(target), {
    enter(node: ASTNode) {
      if (!named.has(node.kind)) return undefined;
      const n = node as Described;
      const description = known.get(coordinate(n.name!.value, node.kind));
      path.push(node.kind === Kind.DIRECTIVE_DEFINITION ? `@${n.name!.value}` : n.name!.value);
      return !n.description && description ? { ...n, description } : undefined;
    },
    leave(node: ASTNode) {
      if (named.has(node.kind)) path.pop();
    },
  });
  return print(doc);
}

/** An API schema as clients see it, in a stable order and layout. */
export function printedApi(schema: GraphQLSchema): string {
  return `${print(parse(printSchema(lexicographicSortSchema(schema))))}\n`;
}

/** The printed API schema of an augmented supergraph without what the node subgraph added. */
export function apiWithoutNodes(schema: GraphQLSchema, nodeTypes: Iterable<string>): string {
  const types = new Set(nodeTypes);
  const query = schema.getQueryType()?.name;
  const doc = visit(parse(printedApi(schema)), {
    InterfaceTypeDefinition: (node) => (node.name.value === 'Node' ? null : undefined),
    ObjectTypeDefinition(node) {
      const name = node.name.value;
      if (name !== query && !types.has(name)) return undefined;
      const drop = name === query ? ['node', 'nodes'] : ['nodeId'];
      return {
        ...node,
        interfaces: node.interfaces?.filter((i) => i.name.value !== 'Node'),
        fields: node.fields?.filter((f) => !drop.includes(f.name.value)),
      };
    },
  });
  return `${print(doc)}\n`;
}
