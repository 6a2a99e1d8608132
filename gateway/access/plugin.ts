/**
 * The access rules inside Apollo Server's request pipeline, after parsing and validation and
 * before any subgraph is called: scope checks (contracts.ts) for every operation, and
 * introspection answered from the caller's filtered schema (or refused for callers without it).
 */
import { HeaderMap, type ApolloServerPlugin, type GraphQLResponse } from '@apollo/server';
import { execute, GraphQLError, Kind, type DocumentNode, type ExecutionResult, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';
import { AccessCode, type Caller } from '../../lib/access.ts';
import type { GatewayContext } from '../context.ts';
import type { Contracts } from './contracts.ts';

export interface AccessPluginOptions {
  /** The current supergraph's contracts (undefined before it is loaded). */
  readonly contracts: () => Contracts | undefined;
  /** May this caller introspect? */
  readonly introspection: (caller: Caller) => boolean;
}

/** Answers per supergraph, document and scope (introspection of a given schema never changes). */
const introspectionResults = new WeakMap<Contracts, WeakMap<DocumentNode, Map<string, ExecutionResult>>>();

/** What the request does with introspection: 'whole': answer the operation from the caller's view; 'patch': data from the subgraphs, introspection fields from the view. */
type Introspect = 'whole' | 'patch' | undefined;

export function accessPlugin(opts: AccessPluginOptions): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart() {
      let introspect: Introspect;
      return {
        async didResolveOperation({ document, operation, request, contextValue }) {
          if (!operation) throw unresolvedOperation(request.operationName);
          const contracts = opts.contracts();
          if (contracts) introspect = checkAccess(opts, contracts, document, operation, contextValue.caller);
        },
        async willSendResponse({ response, document, operation, request, contextValue }) {
          const contracts = opts.contracts();
          if (introspect !== 'patch' || !contracts || !document || !operation || response.body.kind !== 'single') return;
          const data = response.body.singleResult.data as Record<string, unknown> | null | undefined;
          if (data) await patchIntrospection(data, contracts.schemaFor(contextValue.caller), document, operation, request.variables);
        },
        async responseForOperation({ document, request, operationName, contextValue }): Promise<GraphQLResponse | null> {
          const contracts = opts.contracts();
          if (introspect !== 'whole' || !contracts) return null;
          const result = await introspectionResult(contracts, contextValue.caller, document, request.variables, operationName);
          return {
            http: { status: undefined, headers: new HeaderMap() },
            body: { kind: 'single', singleResult: { data: result.data as Record<string, unknown>, ...(result.errors ? { errors: result.errors.map((e) => e.toJSON()) } : {}) } },
          };
        },
      };
    },
  };
}

/** Apollo leaves an operation it could not pick to the executor, which fails with a 500: a 400 here instead. */
function unresolvedOperation(operationName: string | undefined): GraphQLError {
  return new GraphQLError(
    operationName ? `Unknown operation named "${operationName}".` : 'Must provide operation name if query contains multiple operations.',
    { extensions: { code: 'OPERATION_RESOLUTION_FAILURE', http: { status: 400 } } },
  );
}

/**
 * The scope checks of the caller (throws the refusal), and how its introspection, if it asks for
 * any, is to be answered.
 */
function checkAccess(opts: AccessPluginOptions, contracts: Contracts, document: DocumentNode, operation: OperationDefinitionNode, caller: Caller): Introspect {
  const { introspection, introspectionAtRoot, data } = contracts.check(document, operation, caller);
  if (!introspection) return undefined;
  if (!opts.introspection(caller)) {
    throw new GraphQLError(
      caller.role === 'anonymous'
        ? 'Introspection is off for anonymous callers: use an API key with the analyst, partner, editor or admin role'
        : `Introspection is not available to the ${caller.role} role`,
      { extensions: { code: AccessCode.FORBIDDEN, http: { status: 403 } } },
    );
  }
  if (!data) return 'whole';
  if (contracts.schemaFor(caller) === contracts.apiSchema) return undefined;
  // Mixed with data: the executor answers introspection from the whole API schema, so the
  // caller's view replaces those root fields in the response (willSendResponse).
  if (!introspectionAtRoot) {
    throw new GraphQLError('With a scoped key, select __schema and __type directly on the operation, not inside fragments', {
      extensions: { code: 'GRAPHQL_VALIDATION_FAILED', http: { status: 400 } },
    });
  }
  return 'patch';
}

/** Replaces the introspection root fields of `data` with the answer of the caller's view (`schema`). */
async function patchIntrospection(
  data: Record<string, unknown>,
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown> | undefined,
): Promise<void> {
  const only: OperationDefinitionNode = {
    ...operation,
    selectionSet: {
      ...operation.selectionSet,
      selections: operation.selectionSet.selections.filter((sel) => sel.kind === Kind.FIELD && (sel.name.value === '__schema' || sel.name.value === '__type')),
    },
  };
  const doc: DocumentNode = { kind: Kind.DOCUMENT, definitions: [only, ...document.definitions.filter((d) => d.kind === Kind.FRAGMENT_DEFINITION)] };
  const view = (await execute({ schema, document: doc, variableValues: variables ?? {} })) as ExecutionResult;
  for (const [key, value] of Object.entries(view.data ?? {})) data[key] = value;
}

/** An introspection-only operation answered from the caller's view; kept per supergraph, document and scope when it has no variables. */
async function introspectionResult(
  contracts: Contracts,
  caller: Caller,
  document: DocumentNode,
  variables: Record<string, unknown> | undefined,
  operationName: string | null | undefined,
): Promise<ExecutionResult> {
  const schema = contracts.schemaFor(caller);
  const cacheable = !variables || Object.keys(variables).length === 0;
  const key = `${String(caller.read)}|${caller.write.join(',')}|${operationName ?? ''}`;
  let byDocument = introspectionResults.get(contracts);
  if (!byDocument) introspectionResults.set(contracts, (byDocument = new WeakMap()));
  let byScope = byDocument.get(document);
  let result = cacheable ? byScope?.get(key) : undefined;
  if (!result) {
    result = (await execute({ schema, document, variableValues: variables ?? {}, operationName })) as ExecutionResult;
    if (cacheable) {
      if (!byScope) byDocument.set(document, (byScope = new Map()));
      byScope.set(key, result);
    }
  }
  return result;
}
