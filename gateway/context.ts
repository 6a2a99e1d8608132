/** The per-request context of the gateway, built for every GraphQL request by gateway/routes/ (graphql, analytics) and gateway/subscriptions/. */
import type { Logger } from 'pino';
import type { Caller } from '../lib/access.ts';
import type { IncrementalHandoff } from './pipeline/incremental.ts';
import type { SubscriptionHandoff } from './pipeline/plugin.ts';

export interface GatewayContext {
  /** The caller's `x-request-id` (if a safe value) or a new UUID; sent to every subgraph and on every log line. */
  readonly requestId: string;
  /**
   * Who is calling, established from the request's API key or JWT (or anonymous), and carried
   * to every subgraph in the signed `x-ali-gateway-token` header.
   */
  readonly caller: Caller;
  /** Logger bound to this request (`requestId` on every line). */
  readonly log: Logger;
  /** Set by the request pipeline (gateway/pipeline/) for SSE and WebSocket requests: where a subscription is handed to the transport. */
  readonly handoff?: SubscriptionHandoff;
  /** Set by the request pipeline when the client takes incremental delivery (`@defer`): where the executor leaves the deferred parts. */
  readonly incremental?: IncrementalHandoff;
}

/** Headers the gateway sets on subgraph requests. */
export const REQUEST_ID_HEADER = 'x-request-id';
