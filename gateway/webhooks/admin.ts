/**
 * What an admin does with webhooks (the admin API, gateway/access/admin.graphql, and
 * `npm run webhooks`): register an endpoint for a key, list, remove, enable again, send a test
 * message, read the delivery log, replay dead-lettered deliveries.
 *
 * Registering validates everything before anything is stored: the key is active; the URL is
 * https (or http on a loopback address where `allowLoopbackHttp`); and the document and variables
 * are subscribed once, as the key, through the gateway's pipeline and on to the owning subgraph,
 * exactly as the deliveries will be — so a document outside the key's view, an invalid one, or a
 * malformed filter argument is refused with the error a client would get. That first subscription
 * also gives the endpoint its starting position: it receives every event from the moment it is
 * registered.
 */
import { randomUUID } from 'node:crypto';
import { isIP } from 'node:net';
import { GraphQLError } from 'graphql';
import { ErrorCode } from '../../lib/errors.ts';
import { isPosition, positionId } from '../subscriptions/index.ts';
import { sendAttempt, type AttemptOutcome } from './send.ts';
import type { WebhookService } from './service.ts';
import { newEndpointId, newSecret, type DeliveryRecord, type DeliveryState, type EndpointRecord } from './store.ts';

export interface AddWebhookInput {
  readonly key: string;
  readonly url: string;
  readonly query: string;
  readonly variables?: Record<string, unknown> | null;
  readonly operationName?: string | null;
  readonly description?: string | null;
}

const bad = (argument: string, message: string) => new GraphQLError(message, { extensions: { code: ErrorCode.BAD_USER_INPUT, argument } });

/** How long registering waits for the owning subgraph to say where the subscription starts. */
const START_TIMEOUT_MS = 10_000;

function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '');
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

/** An https URL, or http on a loopback address when allowed (development). */
export function checkUrl(text: string, allowLoopbackHttp: boolean): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw bad('url', 'url: not a URL');
  }
  if (url.username || url.password) throw bad('url', 'url: credentials do not belong in the URL (deliveries are signed)');
  if (url.protocol === 'https:') return url.toString();
  if (url.protocol === 'http:' && allowLoopbackHttp && isLoopback(url.hostname)) return url.toString();
  throw bad('url', allowLoopbackHttp ? 'url: https, or http on a loopback address' : 'url: https only');
}

/** Subscribes once as the key and returns where the subscription starts (its event id), or throws the refusal. */
async function startingPosition(service: WebhookService, endpoint: EndpointRecord): Promise<string> {
  const outcome = await service.subscribe(endpoint, undefined);
  if (outcome.kind === 'refused') {
    const e = outcome.errors[0]!;
    throw new GraphQLError(`query: ${e.message}`, { extensions: { ...(e.extensions ?? {}), argument: 'query' } });
  }
  const timer = setTimeout(() => void outcome.stream.return(), START_TIMEOUT_MS);
  try {
    const first = await outcome.stream.next();
    if (!first.done && isPosition(first.value)) return positionId(first.value);
    const errors = first.done ? [] : (outcome.format(first.value).errors ?? []);
    const e = errors[0];
    throw new GraphQLError(`query: ${e?.message ?? 'the owning subgraph did not start the subscription'}`, {
      extensions: { code: e?.extensions?.['code'] ?? ErrorCode.SUBGRAPH_UNAVAILABLE, argument: 'query' },
    });
  } finally {
    clearTimeout(timer);
    await outcome.stream.return();
  }
}

export async function addWebhook(service: WebhookService, input: AddWebhookInput): Promise<{ endpoint: EndpointRecord; secret: string }> {
  if (!(await service.deps.keys.verifyName(input.key))) throw bad('key', `key: no active key named "${input.key}"`);
  const url = checkUrl(input.url, service.options.allowLoopbackHttp);
  const variables = input.variables ?? {};
  if (typeof variables !== 'object' || Array.isArray(variables)) throw bad('variables', 'variables: a JSON object');
  const now = new Date(service.options.clock.now());
  const endpoint: EndpointRecord = {
    _id: newEndpointId(),
    key: input.key,
    url,
    query: input.query,
    variables,
    operationName: input.operationName ?? null,
    description: input.description ?? null,
    secret: newSecret(),
    state: 'active',
    disabledReason: null,
    createdAt: now,
    updatedAt: now,
    cursor: null,
    failingSince: null,
  };
  endpoint.cursor = await startingPosition(service, endpoint);
  await service.store.addEndpoint(endpoint);
  void service.kick();
  return { endpoint, secret: endpoint.secret };
}

async function existing(service: WebhookService, id: string): Promise<EndpointRecord> {
  const endpoint = await service.store.getEndpoint(id);
  if (!endpoint) throw new GraphQLError(`No webhook endpoint "${id}"`, { extensions: { code: ErrorCode.NOT_FOUND, argument: 'id' } });
  return endpoint;
}

export async function removeWebhook(service: WebhookService, id: string): Promise<boolean> {
  await existing(service, id);
  const removed = await service.store.removeEndpoint(id);
  void service.kick();
  return removed;
}

/** Active again, its failure streak forgotten; its subscription resumes from its cursor. */
export async function enableWebhook(service: WebhookService, id: string): Promise<EndpointRecord> {
  await existing(service, id);
  await service.store.updateEndpoint(id, { state: 'active', disabledReason: null, failingSince: null, updatedAt: new Date(service.options.clock.now()) });
  void service.kick();
  return existing(service, id);
}

/** A signed `webhook.test` message, sent now; the receiver's answer. */
export async function testWebhook(service: WebhookService, id: string): Promise<AttemptOutcome> {
  const endpoint = await existing(service, id);
  const now = service.options.clock.now();
  const body = JSON.stringify({ type: 'webhook.test', timestamp: new Date(now).toISOString(), data: { webhook: id } });
  return sendAttempt({ url: endpoint.url, secret: endpoint.secret, id: `test.${randomUUID()}`, body }, now, service.options.timeoutMs);
}

export async function webhookDeliveries(service: WebhookService, id: string, state: DeliveryState | undefined, first: number): Promise<DeliveryRecord[]> {
  await existing(service, id);
  if (!Number.isInteger(first) || first < 1 || first > 500) throw bad('first', 'first: 1 to 500');
  return service.store.listDeliveries(id, state, first);
}

/** Dead-lettered deliveries (all, or those of `eventIds`) go out again, with a new retry period. */
export async function replayWebhookDeliveries(service: WebhookService, id: string, eventIds: readonly string[] | undefined): Promise<number> {
  await existing(service, id);
  const now = service.options.clock.now();
  const n = await service.store.replayDead(id, eventIds, new Date(now), new Date(now + service.options.retryPeriodMs));
  void service.kick();
  return n;
}
