/**
 * Global Object Identification for any supergraph: the gateway reads the entity types and keys of
 * the subgraphs extracted from the supergraph it is given, and adds a subgraph of its own
 * (`gateway-nodes`, served in-process by ./dataSource.ts) to it, as composition would place it
 * (./transplant.ts). The node subgraph declares
 *
 *   interface Node { nodeId: ID! }
 *   type <Entity> implements Node @key(fields: "<key>") { <key fields>  nodeId: ID! }   (each entity)
 *   type Query { node(id: ID!): Node  nodes(ids: [ID!]!): [Node]! }
 *
 * so Apollo's query planner itself plans `node(id:)`: the node subgraph turns an id into the
 * entity's key, and every other field is fetched through the owning subgraph's entity resolver,
 * as for any entity reference. The field is `nodeId`, not `id`, as in Hive Gateway: the entities of
 * this graph (and of most federated graphs) already have an `id` that is their key within their
 * type, and clients read it; Relay is told the field's name (docs/frontend.md).
 *
 * An entity type takes part when one of its resolvable keys is made of scalar fields only. The
 * result is checked as Apollo Gateway will use it (supergraph validation, which validates the
 * extracted node subgraph too, and a query planner), and its API schema must be the original's
 * plus the node fields. The supergraph is served unchanged, with the reason logged, when it already
 * has a `Node` type, a `Query.node` or `Query.nodes` field or a subgraph of that name, or when a
 * check fails.
 */
import { ObjectType, Supergraph, type Subgraph } from '@apollo/federation-internals';
import { QueryPlanner } from '@apollo/query-planner';
import { getNullableType, isObjectType, isScalarType, type GraphQLObjectType, type GraphQLSchema } from 'graphql';
import type { NodeKeyShape } from './globalId.ts';
import { apiWithoutNodes, printedApi } from './sdl.ts';
import { transplantNodeGraph } from './transplant.ts';

/** The name of the gateway's own subgraph in an augmented supergraph. */
export const NODE_GRAPH = 'gateway-nodes';
/** Never fetched: the gateway serves the node subgraph in-process (buildService in gateway/runtime.ts). */
const NODE_GRAPH_URL = 'http://gateway-nodes.invalid/graphql';

/** An entity type that has global ids. */
export interface NodeType {
  readonly typeName: string;
  readonly shape: NodeKeyShape;
  /** GraphQL type of each key field, as the API schema declares it (e.g. `ID!`). */
  readonly keyTypes: Readonly<Record<string, string>>;
  /** The subgraph that answers whether an entity exists: the one defining most of the type's fields among those where the key is resolvable. */
  readonly owner: string;
}

export type Augmentation =
  | { readonly kind: 'augmented'; readonly sdl: string; readonly nodeSdl: string; readonly nodeTypes: ReadonlyMap<string, NodeType> }
  | { readonly kind: 'unchanged'; readonly reason: string };

const SIMPLE_FIELD_SET = /^[_A-Za-z][_0-9A-Za-z]*(?:[\s,]+[_A-Za-z][_0-9A-Za-z]*)*$/;

interface KeyCandidate {
  readonly fields: readonly string[];
  /** Subgraphs where this key is resolvable, with how many fields each defines on the type. */
  readonly subgraphs: { name: string; fieldCount: number }[];
}

/** The resolvable keys of simple field names that `typeName` has in the subgraphs. */
function keyCandidates(subgraphs: readonly Subgraph[], typeName: string): KeyCandidate[] {
  const byKey = new Map<string, KeyCandidate>();
  for (const subgraph of subgraphs) {
    const type = subgraph.schema.type(typeName);
    if (!(type instanceof ObjectType)) continue;
    const metadata = subgraph.metadata();
    const fieldCount = type.fields().filter((f) => !metadata.isFieldExternal(f)).length;
    for (const key of type.appliedDirectivesOf(metadata.keyDirective())) {
      const args = key.arguments() as { fields: string; resolvable?: boolean };
      const fieldSet = args.fields.trim();
      if (args.resolvable === false || !SIMPLE_FIELD_SET.test(fieldSet)) continue;
      const fields = fieldSet.split(/[\s,]+/);
      const id = fields.join(' ');
      const candidate = byKey.get(id) ?? { fields, subgraphs: [] };
      candidate.subgraphs.push({ name: subgraph.name, fieldCount });
      byKey.set(id, candidate);
    }
  }
  return [...byKey.values()];
}

/** The node type of an API object type, or undefined when none of its keys fits (non-scalar key fields, a `nodeId` field of its own). */
function nodeTypeOf(type: GraphQLObjectType, subgraphs: readonly Subgraph[]): NodeType | undefined {
  const fields = type.getFields();
  if (fields['nodeId']) return undefined;
  const fits = (c: KeyCandidate) => c.fields.every((f) => fields[f] && isScalarType(getNullableType(fields[f]!.type)));
  // The key most subgraphs resolve, then the shortest: the entity's usual reference.
  const [best] = keyCandidates(subgraphs, type.name)
    .filter(fits)
    .sort((a, b) => b.subgraphs.length - a.subgraphs.length || a.fields.length - b.fields.length);
  if (!best) return undefined;
  const owner = [...best.subgraphs].sort((a, b) => b.fieldCount - a.fieldCount)[0]!.name;
  const keyTypes = Object.fromEntries(best.fields.map((f) => [f, String(fields[f]!.type)]));
  const single = best.fields.length === 1 ? String(getNullableType(fields[best.fields[0]!]!.type)) : undefined;
  return { typeName: type.name, shape: { fields: best.fields, bare: single === 'ID' || single === 'String' }, keyTypes, owner };
}

function nodeTypesOf(api: GraphQLSchema, subgraphs: readonly Subgraph[]): Map<string, NodeType> {
  const roots = new Set([api.getQueryType(), api.getMutationType(), api.getSubscriptionType()].map((t) => t?.name));
  const nodeTypes = new Map<string, NodeType>();
  for (const type of Object.values(api.getTypeMap())) {
    if (type.name.startsWith('__') || roots.has(type.name) || !isObjectType(type)) continue;
    const node = nodeTypeOf(type, subgraphs);
    if (node) nodeTypes.set(type.name, node);
  }
  return nodeTypes;
}

/** The node subgraph's SDL for these entity types. */
function nodeSubgraphSdl(nodeTypes: ReadonlyMap<string, NodeType>): string {
  const builtIn = new Set(['ID', 'String', 'Int', 'Float', 'Boolean']);
  const scalars = new Set<string>();
  const types = [...nodeTypes.values()].map((t) => {
    const keys = t.shape.fields.map((f) => {
      const named = t.keyTypes[f]!.replace(/!$/, '');
      if (!builtIn.has(named)) scalars.add(named);
      return `  ${f}: ${t.keyTypes[f]}`;
    });
    return `type ${t.typeName} implements Node @key(fields: "${t.shape.fields.join(' ')}") {\n${keys.join('\n')}\n  "Its global object id: Query.node(id:) returns this object for it."\n  nodeId: ID!\n}`;
  });
  return [
    'extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])',
    ...[...scalars].map((s) => `scalar ${s}`),
    '"An object with a global id (GraphQL Global Object Identification, Relay): any entity of any subgraph."',
    'interface Node {\n  "An opaque id naming this object across the whole graph, for Query.node(id:) and Query.nodes(ids:)."\n  nodeId: ID!\n}',
    ...types,
    'type Query {',
    '  "The object of a global id (a nodeId); null with NOT_FOUND when nothing visible to the caller has it, BAD_USER_INPUT for a string that is no global id."',
    '  node(id: ID!): Node',
    '  "The objects of up to 100 global ids, in order; each one null (with its error) as node(id:) would be."',
    '  nodes(ids: [ID!]!): [Node]!',
    '}',
  ].join('\n\n');
}

/** Why this supergraph cannot have the node subgraph, if it cannot. */
function conflict(supergraph: Supergraph, api: GraphQLSchema): string | undefined {
  if (supergraph.subgraphsMetadata().some((s) => s.name === NODE_GRAPH)) return `it has a subgraph named ${NODE_GRAPH}`;
  if (api.getType('Node')) return 'it defines a Node type of its own';
  const query = api.getQueryType()?.getFields() ?? {};
  if (query['node'] || query['nodes']) return 'its Query has a node or nodes field of its own';
  return undefined;
}

const cache = new Map<string, Augmentation>();

/** The supergraph with the node subgraph composed onto it, or why it is served unchanged. Cached per SDL. */
export function augmentSupergraph(sdl: string): Augmentation {
  let result = cache.get(sdl);
  if (!result) {
    result = compute(sdl);
    if (cache.size >= 4) cache.delete(cache.keys().next().value!);
    cache.set(sdl, result);
  }
  return result;
}

function compute(sdl: string): Augmentation {
  const supergraph = Supergraph.build(sdl);
  const api = supergraph.apiSchema().toGraphQLJSSchema();
  const why = conflict(supergraph, api);
  if (why) return { kind: 'unchanged', reason: why };
  const nodeTypes = nodeTypesOf(api, supergraph.subgraphs().values());
  if (nodeTypes.size === 0) return { kind: 'unchanged', reason: 'no entity type has a key of scalar fields' };
  const nodeSdl = nodeSubgraphSdl(nodeTypes);
  const keys = new Map([...nodeTypes.values()].map((t) => [t.typeName, t.shape.fields]));
  let augmented: string;
  try {
    augmented = transplantNodeGraph(sdl, { name: NODE_GRAPH, url: NODE_GRAPH_URL, keys, nodeSdl });
    // What Apollo Gateway does with it: validate the supergraph and its subgraphs, build a planner.
    const built = Supergraph.build(augmented, { validateSupergraph: true });
    new QueryPlanner(built);
    const after = apiWithoutNodes(built.apiSchema().toGraphQLJSSchema(), nodeTypes.keys());
    if (after !== printedApi(api)) return { kind: 'unchanged', reason: 'the API schema with the node subgraph differs from the original beyond the node fields' };
  } catch (err) {
    return { kind: 'unchanged', reason: `the node subgraph does not fit: ${(err as Error).message}` };
  }
  return { kind: 'augmented', sdl: augmented, nodeSdl, nodeTypes };
}
