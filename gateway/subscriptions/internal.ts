/**
 * Subscriptions the gateway opens for itself (webhook deliveries, gateway/webhooks/): through the
 * same request pipeline and the same execution as a client's subscription, as the key they run
 * for, so they get exactly what that key would get over SSE: its contract, its scope, its limits.
 */
import type { ExecutionResult, GraphQLFormattedError } from 'graphql';
import type { FormattedExecutionResult } from 'graphql-ws';
import type { Logger } from 'pino';
import type { Caller } from '../../lib/access.ts';
import { webSocketRequest } from '../pipeline/index.ts';
import type { TransportDeps } from './shared.ts';
import type { EventStream } from './stream.ts';

export interface InternalSubscription {
  readonly caller: Caller;
  /** The key's trusted-documents app, or null. */
  readonly documents: string | null;
  readonly requestId: string;
  readonly log: Logger;
  /** What the per-key subscription limit counts against (one per webhook endpoint). */
  readonly quotaKey: string;
  readonly query: string;
  readonly variables: Record<string, unknown>;
  readonly operationName: string | null;
  /** Resume after this event id; undefined: start at the log's head. */
  readonly lastEventId: string | undefined;
}

export type InternalOutcome =
  | { readonly kind: 'refused'; readonly errors: readonly GraphQLFormattedError[] }
  /** Positions on: the first result is the start position (./stream.ts, isPosition); `format` formats a result as a client gets it. */
  | { readonly kind: 'stream'; readonly stream: EventStream<unknown>; readonly format: (result: ExecutionResult) => FormattedExecutionResult };

const NOT_A_SUBSCRIPTION: readonly GraphQLFormattedError[] = [{ message: 'Not a subscription: a webhook is a subscription document', extensions: { code: 'BAD_USER_INPUT', argument: 'query' } }];

export async function subscribeInternally({ deps, execution, shared }: TransportDeps, req: InternalSubscription): Promise<InternalOutcome> {
  const payload = { query: req.query, variables: req.variables, ...(req.operationName ? { operationName: req.operationName } : {}) };
  const context = { requestId: req.requestId, caller: req.caller, log: req.log };
  const outcome = await deps.pipeline.run({ transport: 'ws', http: webSocketRequest(payload), context, documents: req.documents });
  if (outcome.kind === 'incremental') {
    outcome.cancel();
    await outcome.subsequent.return();
    return { kind: 'refused', errors: NOT_A_SUBSCRIPTION };
  }
  if (outcome.kind === 'response') {
    const body = outcome.response.body.kind === 'complete' ? (JSON.parse(outcome.response.body.string) as ExecutionResult & { errors?: GraphQLFormattedError[] }) : {};
    const errors = body.errors ?? [];
    if (errors.length > 0) return { kind: 'refused', errors };
    return { kind: 'refused', errors: NOT_A_SUBSCRIPTION };
  }
  const session = { caller: req.caller, requestId: req.requestId, log: req.log, quotaKey: req.quotaKey, open: 0 };
  const prepared = await execution.subscribe(outcome.subscription, session, {
    // Whoever consumes the stream keeps up (it only records deliveries): no socket to watch.
    congested: () => false,
    overflow: () => {},
    lastEventId: req.lastEventId,
    positions: true,
  });
  if (prepared.kind === 'refused') return { kind: 'refused', errors: prepared.errors.map(shared.formatError) };
  return { kind: 'stream', stream: prepared.stream as EventStream<unknown>, format: shared.formatResult };
}
