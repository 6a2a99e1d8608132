/**
 * The work for one webhook endpoint, on the gateway instance that holds its lease (./lease.ts).
 *
 * Intake: the endpoint's subscription, run through the gateway's pipeline as its key
 * (gateway/subscriptions/internal.ts), from the endpoint's cursor. Every event's result, shaped
 * under the key's contract with what other subgraphs contribute, becomes a delivery record (the
 * JSON body POSTed on every attempt) before the cursor moves past it: at least once, whatever
 * instance dies when. When the stream ends (the subgraph away, the gateway reconnecting), the
 * intake subscribes again from the cursor; a refusal that will not go away (the key revoked, the
 * document no longer valid, the position older than the log keeps) disables the endpoint.
 *
 * Sending: deliveries of one entity go out one at a time, in log order; other entities' meanwhile
 * (up to {@link MAX_IN_FLIGHT} at once). A failed attempt is retried on the schedule (./schedule.ts)
 * until the retry period runs out, then dead-lettered; the entity's next delivery then goes ahead.
 * An endpoint that has failed every attempt for `disableAfterMs` is disabled.
 */
import { parse, type ExecutionResult, type OperationDefinitionNode } from 'graphql';
import type { Logger } from 'pino';
import { parseEventId } from '../../lib/events.ts';
import { eventOf, isPosition, positionId, type InternalOutcome, type ResultEvent } from '../subscriptions/index.ts';
import type { WebhookMetrics } from './metrics.ts';
import { retryDelay, type Clock, type RetrySchedule } from './schedule.ts';
import { sendAttempt } from './send.ts';
import type { DeliveryRecord, EndpointRecord, WebhookStore } from './store.ts';

export interface WorkerDeps {
  readonly store: WebhookStore;
  readonly clock: Clock;
  readonly random: () => number;
  readonly schedule: RetrySchedule;
  readonly retryPeriodMs: number;
  readonly disableAfterMs: number;
  readonly timeoutMs: number;
  readonly metrics: WebhookMetrics;
  readonly log: Logger;
  /** Opens the endpoint's subscription after `after` (through the pipeline, as its key). */
  readonly subscribe: (endpoint: EndpointRecord, after: string | undefined) => Promise<InternalOutcome>;
  /** Whether this instance still holds the endpoint's lease (checked before every attempt). */
  readonly holds: () => boolean;
}

/** Entities of one endpoint with a request in flight at once. */
const MAX_IN_FLIGHT = 8;
/** Wait before the intake subscribes again after its stream ended. */
const RESUBSCRIBE_MS = 1_000;
/** Refusals that subscribing again will not change: the endpoint is disabled. */
const PERMANENT = new Set([
  'EVENT_ID_EXPIRED',
  'EVENT_ID_UNKNOWN',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'SUBGRAPH_NOT_SUBSCRIBED',
  'PERSISTED_QUERY_NOT_IN_LIST',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
  'OPERATION_LIMIT_EXCEEDED',
]);

/** The response key of a subscription's root field: the `type` of its deliveries. */
function eventType(query: string, operationName: string | null): string {
  const ops = parse(query).definitions.filter((d): d is OperationDefinitionNode => d.kind === 'OperationDefinition');
  const op = ops.find((o) => (operationName ? o.name?.value === operationName : true));
  const field = op?.selectionSet.selections.find((s) => s.kind === 'Field');
  return field && field.kind === 'Field' ? (field.alias ?? field.name).value : 'event';
}

export class EndpointWorker {
  private running = true;
  private readonly queues = new Map<string, DeliveryRecord[]>();
  private readonly known = new Set<string>();
  private readonly inFlight = new Set<string>();
  private readonly timers = new Map<string, { cancel(): void }>();
  private readonly held = new Set<string>();
  private stream: { return(): Promise<unknown> } | undefined;
  private readonly type: string;
  private intake: Promise<void> = Promise.resolve();

  constructor(
    private endpoint: EndpointRecord,
    private readonly deps: WorkerDeps,
  ) {
    this.type = eventType(endpoint.query, endpoint.operationName);
  }

  get id(): string {
    return this.endpoint._id;
  }

  async start(): Promise<void> {
    await this.reload();
    this.intake = this.runIntake().catch((err: unknown) => this.deps.log.error({ err, webhook: this.id }, 'webhook intake failed'));
  }

  /** The endpoint as stored now: after a replay or an enable, its pending deliveries are read again. */
  async refresh(endpoint: EndpointRecord): Promise<void> {
    const changed = endpoint.updatedAt.getTime() !== this.endpoint.updatedAt.getTime();
    // While this worker runs, it alone writes `failingSince` (health below), and its write may not
    // have landed yet when the record was read: a stale null there would restart the count.
    this.endpoint = { ...endpoint, cursor: this.endpoint.cursor ?? endpoint.cursor, failingSince: this.endpoint.failingSince };
    if (changed) await this.reload();
    for (const entity of [...this.queues.keys()]) this.pump(entity);
  }

  async stop(): Promise<void> {
    this.running = false;
    for (const t of this.timers.values()) t.cancel();
    this.timers.clear();
    await this.stream?.return();
    await this.intake;
  }

  private async reload(): Promise<void> {
    for (const d of await this.deps.store.pendingDeliveries(this.id)) this.enqueue(d);
  }

  private async runIntake(): Promise<void> {
    while (this.running) {
      const outcome = await this.deps.subscribe(this.endpoint, this.endpoint.cursor ?? undefined);
      const refusal = outcome.kind === 'refused' ? outcome.errors : await this.consume(outcome);
      if (!this.running) return;
      const code = refusal?.map((e) => String(e.extensions?.['code'] ?? '')).find((c) => PERMANENT.has(c));
      if (code) return this.disable(`its subscription was refused: ${code} (${refusal![0]!.message})`);
      if (refusal) this.deps.log.warn({ webhook: this.id, errors: refusal.map((e) => e.message) }, 'webhook subscription ended; subscribing again');
      // Real time, not the schedule's clock: this is the subgraph coming back, not a retry.
      await new Promise<void>((resolve) => setTimeout(resolve, RESUBSCRIBE_MS).unref());
    }
  }

  /** Takes in every event of one subscription; returns the errors it ended with, if any. */
  private async consume(outcome: Extract<InternalOutcome, { kind: 'stream' }>): Promise<readonly { message: string; extensions?: Record<string, unknown> }[] | undefined> {
    this.stream = outcome.stream;
    let errors: readonly { message: string; extensions?: Record<string, unknown> }[] | undefined;
    for await (const result of outcome.stream) {
      if (!this.running) break;
      if (isPosition(result)) {
        if (this.endpoint.cursor === null) await this.moveCursor(positionId(result));
        continue;
      }
      const event = eventOf(result);
      if (event) await this.takeIn(outcome.format(result), event);
      else errors = outcome.format(result).errors as typeof errors;
    }
    return errors;
  }

  private async moveCursor(id: string): Promise<void> {
    this.endpoint = { ...this.endpoint, cursor: id };
    await this.deps.store.updateEndpoint(this.id, { cursor: id });
  }

  private async takeIn(result: ExecutionResult | { data?: unknown; errors?: unknown }, event: ResultEvent): Promise<void> {
    const now = this.deps.clock.now();
    const body = JSON.stringify({ type: this.type, timestamp: new Date(now).toISOString(), data: result.data ?? null, ...(result.errors ? { errors: result.errors } : {}) });
    const delivery: DeliveryRecord = {
      _id: `${this.id}/${event.id}`,
      endpoint: this.id,
      eventId: event.id,
      position: parseEventId(event.id)?.position ?? 0,
      entity: event.entity,
      body,
      state: 'pending',
      createdAt: new Date(now),
      retryUntil: new Date(now + this.deps.retryPeriodMs),
      nextAttemptAt: new Date(now),
      attempts: [],
      deliveredAt: null,
    };
    if (await this.deps.store.addDelivery(delivery)) this.enqueue(delivery);
    await this.moveCursor(event.id);
  }

  private enqueue(d: DeliveryRecord): void {
    if (this.known.has(d._id)) return;
    this.known.add(d._id);
    const queue = this.queues.get(d.entity) ?? [];
    queue.push(d);
    queue.sort((a, b) => a.position - b.position);
    this.queues.set(d.entity, queue);
    this.pump(d.entity);
  }

  /** Sends the entity's oldest delivery when it is due and a slot is free. */
  private pump(entity: string): void {
    if (!this.running || !this.deps.holds() || this.inFlight.has(entity) || this.timers.has(entity)) return;
    const head = this.queues.get(entity)?.[0];
    if (!head) return void this.queues.delete(entity);
    const wait = head.nextAttemptAt.getTime() - this.deps.clock.now();
    if (wait > 0) {
      const timer = this.deps.clock.setTimeout(() => {
        this.timers.delete(entity);
        this.pump(entity);
      }, wait);
      return void this.timers.set(entity, timer);
    }
    if (this.inFlight.size >= MAX_IN_FLIGHT) return void this.held.add(entity);
    this.inFlight.add(entity);
    void this.attempt(head)
      .catch((err: unknown) => this.deps.log.error({ err, webhook: this.id }, 'webhook attempt failed'))
      .finally(() => {
        this.inFlight.delete(entity);
        this.pump(entity);
        for (const e of [...this.held]) {
          if (this.inFlight.size >= MAX_IN_FLIGHT) break;
          this.held.delete(e);
          this.pump(e);
        }
      });
  }

  private async attempt(d: DeliveryRecord): Promise<void> {
    const { clock, metrics } = this.deps;
    const now = clock.now();
    const outcome = await sendAttempt({ url: this.endpoint.url, secret: this.endpoint.secret, id: d.eventId, body: d.body }, now, this.deps.timeoutMs);
    d.attempts.push({ at: new Date(now), status: outcome.status, error: outcome.error, latencyMs: outcome.latencyMs });
    const after = clock.now();
    if (outcome.ok) {
      d.state = 'delivered';
      d.deliveredAt = new Date(after);
      metrics.delivered(after - d.createdAt.getTime());
    } else {
      const next = after + retryDelay(d.attempts.length, this.deps.schedule, this.deps.random);
      if (next > d.retryUntil.getTime()) {
        d.state = 'dead';
        metrics.deadLettered();
        this.deps.log.warn({ webhook: this.id, eventId: d.eventId, attempts: d.attempts.length }, 'webhook delivery dead-lettered');
      } else {
        d.nextAttemptAt = new Date(next);
        metrics.retried();
      }
    }
    if (d.state !== 'pending') this.done(d);
    await this.deps.store.saveDelivery(d);
    await this.health(outcome.ok, now);
  }

  private done(d: DeliveryRecord): void {
    this.known.delete(d._id);
    const queue = this.queues.get(d.entity);
    if (queue?.[0] === d) queue.shift();
  }

  /** Tracks how long every attempt has failed; disables the endpoint past `disableAfterMs`. */
  private async health(ok: boolean, now: number): Promise<void> {
    const since = this.endpoint.failingSince;
    if (ok) {
      if (since === null) return;
      this.endpoint = { ...this.endpoint, failingSince: null };
      return this.deps.store.updateEndpoint(this.id, { failingSince: null });
    }
    if (since === null) {
      this.endpoint = { ...this.endpoint, failingSince: new Date(now) };
      return this.deps.store.updateEndpoint(this.id, { failingSince: new Date(now) });
    }
    if (now - since.getTime() >= this.deps.disableAfterMs) {
      await this.disable(`every attempt has failed since ${since.toISOString()}`);
    }
  }

  private async disable(reason: string): Promise<void> {
    if (!this.running) return;
    this.running = false;
    for (const t of this.timers.values()) t.cancel();
    this.timers.clear();
    await this.deps.store.updateEndpoint(this.id, { state: 'disabled', disabledReason: reason, updatedAt: new Date(this.deps.clock.now()) });
    this.deps.metrics.disabled();
    this.deps.log.warn({ webhook: this.id, key: this.endpoint.key, url: this.endpoint.url, reason }, 'webhook endpoint disabled');
    await this.stream?.return();
  }
}
