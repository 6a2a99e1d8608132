/**
 * The node subgraph, served in-process: the gateway's data source for `gateway-nodes` executes
 * its schema (./augment.ts) with graphql-js. `node(id:)` decodes the id (./globalId.ts), refuses a
 * type outside the caller's view (the contracts of gateway/access/contracts.ts: a partner cannot
 * reach an entity its subgraphs do not serve), asks the type's owning subgraph whether the entity
 * exists (one `_entities { __typename }` request per owning subgraph and operation, however many
 * ids), and returns the entity's key; the query planner fetches every other field through the
 * owning subgraph's entity resolver. `nodeId` on an entity is computed from its key.
 */
import type { GraphQLDataSource, GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { buildSubgraphSchema } from '@apollo/subgraph';
import DataLoader from 'dataloader';
import { execute, GraphQLError, isObjectType, parse, type GraphQLFormattedError, type GraphQLSchema } from 'graphql';
import type { Caller } from '../../lib/access.ts';
import { badInput, notFound } from '../../lib/errors.ts';
import type { GatewayContext } from '../context.ts';
import type { NodeType } from './augment.ts';
import { decodeGlobalId, encodeGlobalId, keyValues, type KeyValues } from './globalId.ts';

/** The most ids one `nodes(ids:)` takes. */
const MAX_NODE_IDS = 100;

type ProcessOptions = GraphQLDataSourceProcessOptions<GatewayContext>;
type ProcessResult = Awaited<ReturnType<GraphQLDataSource['process']>>;

export interface NodeSourceDeps {
  readonly nodeSdl: string;
  readonly nodeTypes: ReadonlyMap<string, NodeType>;
  /** The gateway's data source of a subgraph (the owners' entity resolvers). */
  readonly source: (subgraph: string) => GraphQLDataSource<GatewayContext> | undefined;
  /** The API schema the caller may see; undefined: the whole of it. */
  readonly view: (caller: Caller) => GraphQLSchema | undefined;
}

const EXISTS = 'query NodeExists($representations: [_Any!]!) { _entities(representations: $representations) { __typename } }';
const EXISTS_DOCUMENT = parse(EXISTS);

/** What one execution of the node schema shares: the incoming operation and one existence loader per owning subgraph. */
interface NodeContext {
  readonly options: ProcessOptions;
  readonly loaders: Map<string, DataLoader<KeyValues, true, string>>;
}

/** The incoming operation's context with `owner` in its caller's read scope. */
function widened(options: ProcessOptions, owner: string): GatewayContext | undefined {
  const context = 'incomingRequestContext' in options ? options.context : undefined;
  if (!context?.caller || context.caller.read === '*' || context.caller.read.includes(owner)) return context;
  return { ...context, caller: { ...context.caller, read: [...context.caller.read, owner] } };
}

const asError = (e: GraphQLFormattedError) => new GraphQLError(e.message, { extensions: e.extensions ?? {} });

export class NodeDataSource implements GraphQLDataSource<GatewayContext> {
  private readonly schema: GraphQLSchema;

  constructor(private readonly deps: NodeSourceDeps) {
    const resolvers: Record<string, Record<string, unknown>> = {
      Query: {
        node: (_p: unknown, { id }: { id: string }, ctx: NodeContext) => this.resolve(id, 'id', ctx),
        nodes: (_p: unknown, { ids }: { ids: string[] }, ctx: NodeContext) => {
          if (ids.length > MAX_NODE_IDS) throw badInput('ids', `nodes takes at most ${MAX_NODE_IDS} ids (got ${ids.length})`);
          return ids.map((id) => this.resolve(id, 'ids', ctx));
        },
      },
      Node: { __resolveType: (node: { __typename: string }) => node.__typename },
    };
    for (const type of deps.nodeTypes.values()) {
      resolvers[type.typeName] = { nodeId: (entity: KeyValues) => encodeGlobalId(type.typeName, type.shape, entity) };
    }
    this.schema = buildSubgraphSchema([{ typeDefs: parse(deps.nodeSdl), resolvers: resolvers as never }]);
  }

  async process(options: ProcessOptions): Promise<ProcessResult> {
    const document = ('document' in options ? options.document : undefined) ?? parse(options.request.query ?? '');
    const contextValue: NodeContext = { options, loaders: new Map() };
    const result = await execute({ schema: this.schema, document, variableValues: options.request.variables ?? {}, contextValue });
    return { data: result.data ?? null, ...(result.errors ? { errors: result.errors.map((e) => e.toJSON()) } : {}) };
  }

  /** The entity an id names, as its key with `__typename`; throws BAD_USER_INPUT or NOT_FOUND. */
  private async resolve(id: string, argument: string, ctx: NodeContext): Promise<KeyValues> {
    const decoded = decodeGlobalId(id);
    if (!decoded) throw badInput(argument, `"${id}" is not a global object id (the nodeId of an object)`);
    const type = this.deps.nodeTypes.get(decoded.typeName);
    // A type the caller cannot see answers as an id that names nothing: its existence is not told.
    if (!type || !this.visible(type, ctx.options)) throw notFound('node', id, argument);
    const values = keyValues(type.shape, decoded.key);
    if (!values) throw badInput(argument, `"${id}" is not a global object id (the nodeId of an object)`);
    try {
      await this.loader(type.owner, ctx).load({ __typename: type.typeName, ...values });
    } catch (err) {
      if (err instanceof GraphQLError && err.extensions['code'] === 'NOT_FOUND') throw notFound('node', id, argument);
      throw err;
    }
    return { __typename: type.typeName, ...values };
  }

  private visible(type: NodeType, options: ProcessOptions): boolean {
    const caller = 'incomingRequestContext' in options ? options.context?.caller : undefined;
    const view = caller && this.deps.view(caller);
    if (!view) return true;
    const shown = view.getType(type.typeName);
    return isObjectType(shown) && 'nodeId' in shown.getFields();
  }

  /** One `_entities` request to `owner` for every representation asked in this execution. */
  private loader(owner: string, ctx: NodeContext): DataLoader<KeyValues, true, string> {
    let loader = ctx.loaders.get(owner);
    if (loader) return loader;
    loader = new DataLoader<KeyValues, true, string>(
      async (representations) => {
        const source = this.deps.source(owner);
        if (!source) throw new Error(`no data source for subgraph ${owner}`);
        const response = await source.process({
          ...ctx.options,
          // The type is in the caller's view, but its owner may not be in the caller's read scope (a
          // partner of reuse sees Comuni, owned by alliances): this one fixed query, which tells
          // only whether the keys exist, is signed with the owner added to the caller's scope.
          context: widened(ctx.options, owner),
          request: { query: EXISTS, variables: { representations }, http: { method: 'POST', url: '', headers: new Headers() } },
          document: EXISTS_DOCUMENT,
          pathInIncomingRequest: undefined,
        } as ProcessOptions);
        const entities = (response.data as { _entities?: unknown[] } | null | undefined)?._entities;
        const whole = response.errors?.find((e) => !e.path || e.path.length < 2);
        return representations.map((_r, i) => {
          const own = response.errors?.find((e) => e.path?.[0] === '_entities' && e.path[1] === i);
          if (own) return asError(own);
          if (entities?.[i]) return true as const;
          return whole ? asError(whole) : notFound('node', '', 'id');
        });
      },
      { cacheKeyFn: (r) => JSON.stringify(r) },
    );
    ctx.loaders.set(owner, loader);
    return loader;
  }
}
