/**
 * The access rules inside Apollo Server's request pipeline, after parsing and validation and
 * before any subgraph is called: scope checks (contracts.ts) for every operation, and
 * introspection answered from the caller's filtered schema (or refused for callers without it).
 */
import { HeaderMap, type ApolloServerPlugin, type GraphQLResponse } from '@apollo/server';
import { execute, GraphQLError, type DocumentNode, type ExecutionResult } from 'graphql';
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

export function accessPlugin(opts: AccessPluginOptions): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart() {
      let introspect = false;
      return {
        async didResolveOperation({ document, operation, contextValue }) {
          const contracts = opts.contracts();
          if (!contracts || !operation) return;
          const { introspection, data } = contracts.check(document, operation, contextValue.caller);
          if (!introspection) return;
          if (!opts.introspection(contextValue.caller)) {
            throw new GraphQLError(
              contextValue.caller.role === 'anonymous'
                ? 'Introspection is off for anonymous callers: use an API key with the analyst, partner, editor or admin role'
                : `Introspection is not available to the ${contextValue.caller.role} role`,
              { extensions: { code: AccessCode.FORBIDDEN, http: { status: 403 } } },
            );
          }
          if (data) {
            throw new GraphQLError('Send __schema and __type in an operation of their own, without data fields', {
              extensions: { code: 'GRAPHQL_VALIDATION_FAILED', http: { status: 400 } },
            });
          }
          introspect = true;
        },
        async responseForOperation({ document, request, operationName, contextValue }): Promise<GraphQLResponse | null> {
          const contracts = opts.contracts();
          if (!introspect || !contracts) return null;
          const schema = contracts.schemaFor(contextValue.caller);
          const cacheable = !request.variables || Object.keys(request.variables).length === 0;
          const key = `${String(contextValue.caller.read)}|${contextValue.caller.write.join(',')}|${operationName ?? ''}`;
          let byDocument = introspectionResults.get(contracts);
          if (!byDocument) introspectionResults.set(contracts, (byDocument = new WeakMap()));
          let byScope = byDocument.get(document);
          let result = cacheable ? byScope?.get(key) : undefined;
          if (!result) {
            result = (await execute({ schema, document, variableValues: request.variables ?? {}, operationName })) as ExecutionResult;
            if (cacheable) {
              if (!byScope) byDocument.set(document, (byScope = new Map()));
              byScope.set(key, result);
            }
          }
          return {
            http: { status: undefined, headers: new HeaderMap() },
            body: { kind: 'single', singleResult: { data: result.data as Record<string, unknown>, ...(result.errors ? { errors: result.errors.map((e) => e.toJSON()) } : {}) } },
          };
        },
      };
    },
  };
}
