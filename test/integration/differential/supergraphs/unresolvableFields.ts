/**
 * A field no subgraph can resolve where it is asked: an entity interface with no implementation in
 * the supergraph, whose `label` is contributed only by another subgraph's `@interfaceObject`
 * through a key declared `resolvable: false`. The planner concludes the field can never produce a
 * result and drops it with its parent; the spec has no silent null for a selected field, so the
 * request is refused with an error naming it. Around it, what can be resolved (the interface's own
 * field, the interfaceObject's root field, the reverse pairing for `Product`) answers as stock does.
 */
import type { DifferentialCase, SubgraphDef } from '../harness.ts';
import { fed2 } from '../harness.ts';

const BREADS = [{ id: 'p1', name: 'Focaccia' }];

/** Returns Nodes it has no implementation for, and Products it knows only as an interface object. */
export const nodes: SubgraphDef = {
  name: 'nodes',
  typeDefs: `${fed2(['@key', '@interfaceObject'], 'v2.3')}
    interface Node @key(fields: "id") { id: ID! }
    type Product @key(fields: "id", resolvable: false) @interfaceObject { id: ID! }
    type Query { node: Node nodes: [Node!] product: Product! }`,
  resolvers: {
    Query: {
      node: () => ({ __typename: 'Node', id: 'n1' }),
      nodes: () => [
        { __typename: 'Node', id: 'n1' },
        { __typename: 'Node', id: 'n2' },
      ],
      product: () => ({ __typename: 'Product', id: 'p1' }),
    },
    Node: {
      __resolveReference: () => {
        throw new Error('Node has no implementation here');
      },
    },
  },
};

/** Contributes Node.label through a non-resolvable key; owns Product's implementations. */
export const labels: SubgraphDef = {
  name: 'labels',
  typeDefs: `${fed2(['@key', '@interfaceObject'], 'v2.3')}
    type Node @key(fields: "id", resolvable: false) @interfaceObject { id: ID! label: String }
    interface Product @key(fields: "id") { id: ID! }
    type Bread implements Product @key(fields: "id") { id: ID! name: String! }
    type Query { labelled: Node }`,
  resolvers: {
    Query: { labelled: () => ({ __typename: 'Node', id: 'n9' }) },
    Node: {
      __resolveReference: () => {
        throw new Error('not resolvable');
      },
      label: (node: { id: string }) => `label of ${node.id}`,
    },
    Product: { __resolveReference: (ref: { id: string }) => ({ __typename: 'Bread', ...(BREADS.find((b) => b.id === ref.id) ?? {}) }) },
    Bread: { __resolveReference: (ref: { id: string }) => BREADS.find((b) => b.id === ref.id) ?? null },
  },
};

const refused = (path: string) => ({
  status: 400,
  errors: [{ message: new RegExp(`^Cannot fetch Node\\.label at "${path.replace(/\./g, '\\.')}"`), code: 'UNRESOLVABLE_FIELD' }],
});

export const unresolvableFieldsCase: DifferentialCase = {
  name: 'fields no subgraph can resolve',
  about: 'an interface with no implementation whose field comes only from an @interfaceObject with a non-resolvable key',
  subgraphs: [nodes, labels],
  operations: [
    { name: 'interfaceObject root field and its own field', query: '{ labelled { id label } }' },
    { name: 'interface field of the returning subgraph', query: '{ node { id } }' },
    { name: 'interfaceObject type at the root, its key only', query: '{ product { id } }' },
    { name: 'type condition on an implementation elsewhere', query: '{ product { ... on Bread { id } } }' },
  ],
  stockWrong: [
    {
      operation: { name: 'field only an interfaceObject with a non-resolvable key has', query: '{ node { label } }' },
      why:
        'the planner finds no way to reach Node.label from the subgraph that returns the Node, drops the field and ' +
        'its parent, and answers node: null with no error: a selected field silently null',
      stock: { status: 200, data: { node: null } },
      right: [refused('node.label')],
    },
    {
      operation: { name: 'the same field in a list, next to a resolvable sibling', query: '{ nodes { id label } labelled { label } }' },
      why:
        'the same dropped field in a list: stock answers the list null, with an error about the type the subgraph ' +
        'returned (it could only return the interface), not about the field it could not fetch',
      stock: {
        status: 200,
        data: { nodes: null, labelled: { label: 'label of n9' } },
        errors: [{ message: 'Abstract type "Node" was resolved to a non-object type "Node".', path: ['nodes', 0] }],
      },
      right: [refused('nodes.label')],
    },
  ],
};
