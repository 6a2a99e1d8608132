/**
 * The pipeline's part inside Apollo Server's request pipeline, after parsing, validation and the
 * access and limits plugins: which operation type each transport may carry. A subscription that
 * passed every check is handed over to the transport that asked for it (SSE, WebSocket) instead
 * of being executed; over plain HTTP it is refused. Over an SSE GET (which Apollo Server sees as a
 * POST, see ./request.ts) a mutation is refused as Apollo Server refuses it over any other GET.
 */
import { HeaderMap, type ApolloServerPlugin } from '@apollo/server';
import { GraphQLError, type DocumentNode, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';
import type { GatewayContext } from '../context.ts';

/** A subscription that passed parsing, validation, the caller's scope and its role's limits. */
export interface AcceptedSubscription {
  /** The API schema it was validated against. */
  readonly schema: GraphQLSchema;
  readonly document: DocumentNode;
  readonly operation: OperationDefinitionNode;
  readonly operationName: string | undefined;
  /** Its source text (the query planner's cache key). */
  readonly query: string;
  /** As sent: not yet coerced. */
  readonly variables: Record<string, unknown>;
}

/** Where a subscription transport receives the subscription its request carried (GatewayContext['handoff']). */
export interface SubscriptionHandoff {
  /** The request was an SSE GET: no mutations. */
  readonly viaGet: boolean;
  accepted?: AcceptedSubscription;
}

const SUBSCRIPTIONS_OVER_HTTP =
  'Subscriptions are served over GraphQL over WebSocket (graphql-transport-ws, ws://<gateway>/graphql) or Server-Sent Events (this URL with Accept: text/event-stream)';

/** Install it before the access plugin: over an SSE GET, the ban on mutations answers first, as Apollo Server's own ban does over HTTP GET. */
export function requestPipelinePlugin(): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, contextValue }) {
          const type = operation?.operation;
          if (type === 'mutation' && contextValue.handoff?.viaGet) {
            throw new GraphQLError('GET requests only support query operations (and subscriptions over SSE), not mutation operations', {
              extensions: { code: 'BAD_REQUEST', http: { status: 405, headers: new HeaderMap([['allow', 'POST']]) } },
            });
          }
          if (type === 'subscription' && !contextValue.handoff) {
            throw new GraphQLError(SUBSCRIPTIONS_OVER_HTTP, { extensions: { code: 'BAD_REQUEST', http: { status: 400 } } });
          }
        },
        async responseForOperation({ schema, document, operation, source, request, contextValue }) {
          const { handoff } = contextValue;
          if (operation?.operation !== 'subscription' || !handoff) return null;
          handoff.accepted = { schema, document, operation, operationName: operation.name?.value, query: source, variables: request.variables ?? {} };
          // Never sent: the transport streams the subscription instead.
          return { http: { status: 200, headers: new HeaderMap() }, body: { kind: 'single', singleResult: { data: null } } };
        },
      };
    },
  };
}
