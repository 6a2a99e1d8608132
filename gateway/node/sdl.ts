/**
 * The API schema of a supergraph printed with and without the node additions (./augment.ts), to
 * prove that adding the node subgraph changed nothing else.
 */
import { lexicographicSortSchema, parse, print, printSchema, visit, type GraphQLSchema } from 'graphql';

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
