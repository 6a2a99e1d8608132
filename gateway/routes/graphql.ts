/**
 * /graphql over HTTP, GET and POST: a method other than those gets 405; then admission (caller,
 * rate limit), the request read within the body limit (413, 400), and the request pipeline of
 * every transport (gateway/pipeline/), whose answer is sent compressed, or, with deferred parts,
 * as a multipart stream (gateway/http/incremental.ts). A request that accepts
 * `text/event-stream` is admitted and read the same way and then served by the SSE transport
 * (gateway/subscriptions/).
 */
import { sendHTTPGraphQLResponse } from '../../lib/http.ts';
import type { SubscriptionServer } from '../subscriptions/index.ts';
import type { Admit } from '../http/admission.ts';
import { sendCompressed } from '../http/compression.ts';
import { sendChunked } from '../http/incremental.ts';
import type { Handler } from '../http/handler.ts';
import { httpError, negotiatedStatus } from '../http/responses.ts';
import { readHttpRequest, type PipelineRequest, type RequestPipeline } from '../pipeline/index.ts';

export interface GraphQLRouteDeps {
  readonly pipeline: RequestPipeline;
  readonly admit: Admit;
  readonly bodyLimitBytes: number;
  readonly subscriptions: Pick<SubscriptionServer, 'wantsEventStream' | 'sse'>;
}

export function graphqlRoute(deps: GraphQLRouteDeps): Handler {
  return async (req, res, { url, requestId, log }) => {
    if (req.method !== 'GET' && req.method !== 'POST') {
      res.setHeader('allow', 'GET, POST, OPTIONS');
      return httpError(res, 405, 'METHOD_NOT_ALLOWED', 'Use GET or POST');
    }
    const admitted = await deps.admit(req, res);
    if (!admitted) return;
    const read = await readHttpRequest(req, url, deps.bodyLimitBytes);
    if (!read.ok) {
      if (read.status === 413) res.setHeader('connection', 'close');
      return httpError(res, read.status, read.code, read.message);
    }
    const sse = deps.subscriptions.wantsEventStream(req);
    const request: PipelineRequest = { transport: sse ? 'sse' : 'http', http: read.http, context: { requestId, caller: admitted.caller, log }, documents: admitted.documents, gone: () => res.destroyed };
    if (sse) return deps.subscriptions.sse(req, res, request);
    const outcome = await deps.pipeline.run(request);
    // Over plain HTTP the pipeline refuses subscriptions itself (gateway/pipeline/plugin.ts).
    if (outcome.kind !== 'response') throw new Error('a subscription was accepted over plain HTTP');
    const response = { ...outcome.response, status: negotiatedStatus(outcome.response) };
    if (response.body.kind === 'chunked') return sendChunked(res, response, outcome.cancel);
    return sendHTTPGraphQLResponse(res, response, (status, headers, text) => sendCompressed(req, res, status, headers, text));
  };
}
