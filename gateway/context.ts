/** The per-request context of the gateway, built for every HTTP request by gateway/server.ts. */
import type { Logger } from 'pino';

export interface GatewayContext {
  /** The caller's `x-request-id` (if a safe value) or a new UUID; sent to every subgraph and on every log line. */
  readonly requestId: string;
  /**
   * Who is calling, as forwarded to subgraphs in `x-ali-identity` (null: anonymous). Issue #4
   * replaces this with verified keys; until then it is the caller's `x-ali-identity` header.
   */
  readonly identity: string | null;
  /** Logger bound to this request (`requestId` on every line). */
  readonly log: Logger;
}

/** Headers the gateway sets on subgraph requests. */
export const REQUEST_ID_HEADER = 'x-request-id';
export const IDENTITY_HEADER = 'x-ali-identity';
