/**
 * The webhook fields of the admin schema (gateway/access/admin.graphql), over ./admin.ts: dates as
 * ISO strings, variables as JSON text, secrets never shown but once.
 */
import { GraphQLError } from 'graphql';
import { ErrorCode } from '../../lib/errors.ts';
import { addWebhook, enableWebhook, removeWebhook, replayWebhookDeliveries, testWebhook, webhookDeliveries } from './admin.ts';
import type { WebhookService } from './service.ts';
import type { Attempt, DeliveryRecord, DeliveryState, EndpointRecord } from './store.ts';

const iso = (d: Date | null | undefined) => d?.toISOString() ?? null;

function endpointView(e: EndpointRecord) {
  return {
    id: e._id,
    key: e.key,
    url: e.url,
    query: e.query,
    variables: JSON.stringify(e.variables),
    operationName: e.operationName,
    description: e.description,
    state: e.state,
    disabledReason: e.disabledReason,
    createdAt: iso(e.createdAt),
    cursor: e.cursor,
    failingSince: iso(e.failingSince),
  };
}

const attemptView = (a: Attempt) => ({ ...a, at: iso(a.at) });

function deliveryView(d: DeliveryRecord) {
  const { eventId, entity, state, body } = d;
  return {
    eventId,
    entity,
    state,
    body,
    createdAt: iso(d.createdAt),
    deliveredAt: iso(d.deliveredAt),
    nextAttemptAt: d.state === 'pending' ? iso(d.nextAttemptAt) : null,
    retryUntil: iso(d.retryUntil),
    attempts: d.attempts.map(attemptView),
  };
}

function parseVariables(text: string | null | undefined): Record<string, unknown> | null {
  if (text == null || text === '') return null;
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new GraphQLError('variables: not JSON', { extensions: { code: ErrorCode.BAD_USER_INPUT, argument: 'variables' } });
  }
}

const STATES: readonly DeliveryState[] = ['pending', 'delivered', 'dead'];

type AddArgs = { input: { key: string; url: string; query: string; variables?: string | null; operationName?: string | null; description?: string | null } };

export function webhookResolvers(service: WebhookService | undefined) {
  const need = (): WebhookService => {
    if (service) return service;
    throw new GraphQLError('This gateway runs no webhooks', { extensions: { code: ErrorCode.NOT_FOUND } });
  };
  return {
    webhooks: async ({ key }: { key?: string | null }) => (await need().store.listEndpoints(key ?? undefined)).map(endpointView),
    webhookDeliveries: async ({ id, state, first }: { id: string; state?: string | null; first: number }) => {
      if (state != null && !(STATES as readonly string[]).includes(state)) {
        throw new GraphQLError(`state: one of ${STATES.join(', ')}`, { extensions: { code: ErrorCode.BAD_USER_INPUT, argument: 'state' } });
      }
      return (await webhookDeliveries(need(), id, (state ?? undefined) as DeliveryState | undefined, first)).map(deliveryView);
    },
    addWebhook: async ({ input }: AddArgs) => {
      const { endpoint, secret } = await addWebhook(need(), { ...input, variables: parseVariables(input.variables) });
      return { webhook: endpointView(endpoint), secret };
    },
    removeWebhook: ({ id }: { id: string }) => removeWebhook(need(), id),
    enableWebhook: async ({ id }: { id: string }) => endpointView(await enableWebhook(need(), id)),
    testWebhook: async ({ id }: { id: string }) => ({ ...(await testWebhook(need(), id)), at: new Date().toISOString() }),
    replayWebhookDeliveries: ({ id, eventIds }: { id: string; eventIds?: string[] | null }) => replayWebhookDeliveries(need(), id, eventIds ?? undefined),
  };
}
