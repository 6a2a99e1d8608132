/**
 * The one request pipeline of every transport: GraphQL over HTTP (POST and GET), over SSE (POST
 * and GET, `Accept: text/event-stream`) and over WebSocket (graphql-ws) all run a request through
 * {@link RequestPipeline.run}, which does, in this order:
 *
 * 1. trusted documents: a key bound to an app runs only its registered operations (./request.ts);
 * 2. the parser's depth guard (./nesting.ts), and the ban on `@skip`/`@include` at the root of a
 *    subscription, which graphql-js 16's validation throws on (./subscriptionRoot.ts);
 * 3. a slot among the operations executing at once (./executions.ts: past the limit, operations
 *    wait in arrival order while the process has no CPU to spare);
 * 4. Apollo Server's own HTTP pipeline, `executeHTTPGraphQLRequest`: CSRF prevention (a GET, or
 *    a POST whose content type a browser form can send, needs `apollo-require-preflight` or
 *    `x-apollo-operation-name`), request parsing, the token limit, parsing, validation (without
 *    suggestions in production), the ban on mutations over GET, then the gateway's plugins
 *    (metrics, ./plugin.ts, access, operation limits) and execution, with every error formatted
 *    and masked by the gateway's `formatError` (gateway/errors.ts).
 *
 * Each transport only carries the request in and the answer out: the HTTP route writes Apollo
 * Server's answer; SSE writes a refusal as that HTTP answer and a result as a `next` event; the
 * WebSocket sends a refusal as an `error` message and a result as `next`. A subscription that
 * passed every check comes back as {@link AcceptedSubscription} for the transport to stream. A
 * query with `@defer` is answered incrementally to a client that takes it (./incremental.ts): over
 * HTTP as Apollo Server's multipart answer, over SSE and WebSocket as a result to send as
 * successive `next` messages.
 */
import type { ApolloServer, HTTPGraphQLRequest, HTTPGraphQLResponse } from '@apollo/server';
import { graphqlMediaType } from '../http/responses.ts';
import { HeaderMap } from '@apollo/server';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import type { GatewayContext } from '../context.ts';
import type { DocumentStore } from '../access/documents.ts';
import { incrementalFormat, type IncrementalHandoff, type InitialPayload, type SubsequentPayload } from './incremental.ts';
import type { ExecutionSlots } from './executions.ts';
import { DocumentChecks } from './nesting.ts';
import type { AcceptedSubscription, SubscriptionHandoff } from './plugin.ts';
import { getAsPost, queryOf, trustedRequest } from './request.ts';

export { requestPipelinePlugin, type AcceptedSubscription } from './plugin.ts';
export { ExecutionSlots } from './executions.ts';
export { incrementalDeliveryPlugin, incrementalPayloads } from './incremental.ts';
export { paramsOf, readHttpRequest, webSocketRequest } from './request.ts';

export type Transport = 'http' | 'sse' | 'ws';

export interface PipelineRequest {
  readonly transport: Transport;
  /** The request as Apollo Server takes it (./request.ts: readHttpRequest, webSocketRequest). */
  readonly http: HTTPGraphQLRequest;
  /** The admitted caller's context (request id, caller, logger). */
  readonly context: GatewayContext;
  /** The app whose trusted documents bind the caller's key, or null (any operation). */
  readonly documents: string | null;
  /** Whether the client has gone away (an operation that waited for a slot is then not executed). */
  readonly gone?: () => boolean;
}

export type PipelineOutcome =
  /**
   * The answer: a refusal (4xx, with `errors`), the one result of a query or mutation, or (HTTP) a
   * multipart answer with deferred parts, which `cancel` stops when the client goes away.
   */
  | { readonly kind: 'response'; readonly response: HTTPGraphQLResponse; readonly cancel?: () => void }
  /** A subscription that passed every check (over SSE and WebSocket only). */
  | { readonly kind: 'subscription'; readonly subscription: AcceptedSubscription }
  /** A result with deferred parts, each payload one `next` message (over SSE and WebSocket only). */
  | {
      readonly kind: 'incremental';
      readonly initial: InitialPayload;
      readonly subsequent: AsyncGenerator<SubsequentPayload, void, undefined>;
      /** Stops the deferred parts (the client went away). */
      readonly cancel: () => void;
    };

export interface RequestPipeline {
  run(request: PipelineRequest): Promise<PipelineOutcome>;
}

export interface PipelineDeps {
  /** Apollo Server with {@link requestPipelinePlugin} installed. */
  readonly apollo: ApolloServer<GatewayContext>;
  readonly documents: DocumentStore | undefined;
  /** The largest document any role may send, in tokens (Apollo Server's parse limit, and the guard's). */
  readonly maxTokens: number;
  /** The gateway's error formatting (client codes, masking in production). */
  readonly formatError: (error: GraphQLFormattedError) => GraphQLFormattedError;
  /** How many operations execute at once (./executions.ts). */
  readonly slots: ExecutionSlots;
}

export function createRequestPipeline(deps: PipelineDeps): RequestPipeline {
  const checks = new DocumentChecks(deps.maxTokens);
  /** A refusal of the pipeline's own, in the shape of Apollo Server's answers. */
  function refusal(error: GraphQLError, request: HTTPGraphQLRequest): PipelineOutcome {
    return { kind: 'response', response: refusalResponse(error, request) };
  }
  function refusalResponse(error: GraphQLError, request: HTTPGraphQLRequest): HTTPGraphQLResponse {
    const { http, ...extensions } = error.extensions as { http?: { status?: number } };
    const body = JSON.stringify({ errors: [deps.formatError({ ...error.toJSON(), extensions })] });
    // In the media type the client accepts, as Apollo Server answers (../http/responses.ts).
    const headers = new HeaderMap([['content-type', `${graphqlMediaType(request.headers.get('accept'))}; charset=utf-8`]]);
    return { status: http?.status ?? 400, headers, body: { kind: 'complete', string: body } };
  }

  return {
    async run({ transport, http, context, documents, gone }) {
      const viaGet = transport === 'sse' && http.method === 'GET';
      if (viaGet) {
        const post = getAsPost(http);
        if (!post.ok) return refusal(new GraphQLError(post.message, { extensions: { code: 'BAD_REQUEST', http: { status: 400 } } }), http);
        http = post.http;
      }
      if (documents !== null && deps.documents) {
        const trusted = await trustedRequest(deps.documents, documents, http);
        if (!trusted.ok) return refusal(new GraphQLError(trusted.message, { extensions: { code: 'PERSISTED_QUERY_NOT_IN_LIST', http: { status: 403 } } }), http);
        http = trusted.http;
      }
      const query = queryOf(http);
      const malformed = query === undefined ? undefined : checks.error(query);
      if (malformed) return refusal(malformed, http);
      const handoff: SubscriptionHandoff | undefined = transport === 'http' ? undefined : { viaGet };
      const format = transport === 'http' ? incrementalFormat(http.headers.get('accept')) : 'deferSpec=20220824';
      const incremental: IncrementalHandoff | undefined = format ? { format, overHttp: transport === 'http' } : undefined;
      if (transport !== 'http') {
        // Apollo Server answers JSON; the transport re-frames it (SSE events, graphql-ws messages).
        const headers = new HeaderMap(http.headers);
        headers.set('accept', 'application/json');
        http = { ...http, headers };
      }
      const response = await deps.slots.run(async () =>
        gone?.()
          ? refusalResponse(new GraphQLError('The client went away before its operation started', { extensions: { code: 'CLIENT_CLOSED_REQUEST', http: { status: 499 } } }), http)
          : deps.apollo.executeHTTPGraphQLRequest({
              httpGraphQLRequest: http,
              context: async () => ({ ...context, ...(handoff ? { handoff } : {}), ...(incremental ? { incremental } : {}) }),
            }),
      );
      if (handoff?.accepted) return { kind: 'subscription', subscription: handoff.accepted };
      const deferred = incremental?.deferred;
      if (incremental?.delivery && deferred) return { kind: 'incremental', ...incremental.delivery, cancel: deferred.cancel };
      return { kind: 'response', response, ...(deferred && response.body.kind === 'chunked' ? { cancel: deferred.cancel } : {}) };
    },
  };
}
