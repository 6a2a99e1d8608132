/**
 * Webhooks: partners that cannot hold a subscription open register an endpoint (the admin API,
 * `npm run webhooks`); the gateway delivers each event of the endpoint's subscription to it, signed
 * (Standard Webhooks), retried, in order per entity, at least once. This is the running part: every
 * `pollMs` each gateway instance reads the endpoints, holds the leases it can (./lease.ts), runs a
 * worker for each endpoint it holds (./worker.ts) and stops those it lost; registration and the
 * other admin operations are ./admin.ts's.
 */
import { randomBytes } from 'node:crypto';
import type { Db } from 'mongodb';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { KeyStore } from '../access/keys.ts';
import type { InternalOutcome, SubscriptionServer } from '../subscriptions/index.ts';
import { Leases } from './lease.ts';
import { createWebhookMetrics, type WebhookMetrics } from './metrics.ts';
import { DEFAULT_SCHEDULE, systemClock, type Clock, type RetrySchedule } from './schedule.ts';
import { WebhookStore, type EndpointRecord, type EndpointState } from './store.ts';
import { EndpointWorker } from './worker.ts';

/** GatewayOptions['webhooks']: every field optional. */
export interface WebhookOptions {
  /** How long a delivery is retried before it is dead-lettered (WEBHOOK_RETRY_HOURS, default 24 h). */
  readonly retryPeriodMs?: number;
  /** An endpoint failing every attempt this long is disabled (WEBHOOK_DISABLE_AFTER_HOURS, default 120 h). */
  readonly disableAfterMs?: number;
  /** Longest wait for an endpoint's answer (WEBHOOK_TIMEOUT_MS, default 15 s). */
  readonly timeoutMs?: number;
  /** Backoff between attempts (default 5 s doubling up to 1 h, with jitter). */
  readonly schedule?: RetrySchedule;
  /** How often each instance reads the endpoints and renews its leases (default 5 s). */
  readonly pollMs?: number;
  /** How long a lease lasts unless renewed (default 15 s; renewed every poll). */
  readonly leaseMs?: number;
  /** Accept `http:` endpoints on loopback addresses (default: not in production). */
  readonly allowLoopbackHttp?: boolean;
  /** The clock of the retry schedule (tests advance their own). */
  readonly clock?: Clock;
  readonly random?: () => number;
  /** How long delivered and dead deliveries stay in the log (default 30 days, as the event log). */
  readonly logRetentionMs?: number;
  /** false: this instance registers endpoints (admin API) but delivers nothing (default true). */
  readonly deliver?: boolean;
}

export type ResolvedWebhookOptions = Required<WebhookOptions>;

export function resolveWebhookOptions(o: WebhookOptions = {}, production = false): ResolvedWebhookOptions {
  return {
    retryPeriodMs: o.retryPeriodMs ?? 24 * 3_600_000,
    disableAfterMs: o.disableAfterMs ?? 120 * 3_600_000,
    timeoutMs: o.timeoutMs ?? 15_000,
    schedule: o.schedule ?? DEFAULT_SCHEDULE,
    pollMs: o.pollMs ?? 5_000,
    leaseMs: o.leaseMs ?? 15_000,
    allowLoopbackHttp: o.allowLoopbackHttp ?? !production,
    clock: o.clock ?? systemClock,
    random: o.random ?? Math.random,
    logRetentionMs: o.logRetentionMs ?? 30 * 86_400_000,
    deliver: o.deliver ?? true,
  };
}

export interface WebhookDeps {
  readonly db: Db;
  readonly keys: KeyStore;
  readonly subscriptions: Pick<SubscriptionServer, 'subscribeAs'>;
  readonly registry: Registry;
  readonly log: Logger;
}

/** How often an instance deletes old delivered and dead deliveries. */
const TRIM_INTERVAL_MS = 60 * 60 * 1000;

export class WebhookService {
  readonly store: WebhookStore;
  readonly metrics: WebhookMetrics;
  private readonly leases: Leases;
  private readonly workers = new Map<string, EndpointWorker>();
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  /** The pass not started yet, if any: a tick meanwhile joins it. */
  private queued: Promise<void> | undefined;
  private stopped = false;
  private trimmedAt = 0;

  constructor(
    readonly deps: WebhookDeps,
    readonly options: ResolvedWebhookOptions,
  ) {
    this.store = new WebhookStore(deps.db);
    this.metrics = createWebhookMetrics(deps.registry);
    // Leases run on real time whatever the schedule's clock: they are about instances dying, not retries.
    this.leases = new Leases(deps.db, `gateway-${randomBytes(6).toString('hex')}`, options.leaseMs, systemClock);
  }

  async start(): Promise<void> {
    await this.store.init();
    if (!this.options.deliver) return;
    await this.tick();
    this.timer = setInterval(() => void this.tick(), this.options.pollMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.ticking;
    for (const [id, worker] of this.workers) {
      await worker.stop();
      await this.leases.release(id);
    }
    this.workers.clear();
  }

  /** Reads the endpoints now rather than at the next poll (after an admin change). */
  kick(): Promise<void> {
    return this.options.deliver ? this.tick() : Promise.resolve();
  }

  /**
   * One pass: the endpoints by state, the leases held or lost, the workers started or stopped.
   * Passes never overlap, and while one runs at most one more waits (what it reads is then newer
   * than any request for it): a database slower than `pollMs` delays passes, it does not queue them.
   */
  private tick(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.queued) return this.queued;
    const pass = (this.ticking ?? Promise.resolve())
      .then(() => {
        this.queued = undefined;
        return this.pass();
      })
      .catch((err: unknown) => this.deps.log.error({ err }, 'webhooks: a pass failed'));
    this.ticking = this.queued = pass;
    return pass;
  }

  private async pass(): Promise<void> {
    if (this.stopped) return;
    const endpoints = await this.store.listEndpoints();
    const counts: Record<EndpointState, number> = { active: 0, disabled: 0 };
    for (const e of endpoints) counts[e.state]++;
    this.metrics.endpoints(counts);
    const present = new Set(endpoints.map((e) => e._id));
    for (const [id, worker] of this.workers) {
      if (present.has(id)) continue;
      await worker.stop();
      this.workers.delete(id);
      await this.leases.forget(id);
    }
    for (const endpoint of endpoints) await this.follow(endpoint);
    const now = Date.now();
    if (now - this.trimmedAt >= TRIM_INTERVAL_MS) {
      this.trimmedAt = now;
      await this.store.trimDeliveries(new Date(this.options.clock.now() - this.options.logRetentionMs));
    }
  }

  /** Starts, refreshes or stops the worker of one endpoint as its state, its key and its lease say. */
  private async follow(endpoint: EndpointRecord): Promise<void> {
    const id = endpoint._id;
    if (endpoint.state === 'active' && !(await this.deps.keys.verifyName(endpoint.key))) {
      // Its key was revoked or expired: nothing more goes out under it.
      const reason = `its key "${endpoint.key}" is revoked or expired`;
      await this.store.updateEndpoint(id, { state: 'disabled', disabledReason: reason, updatedAt: new Date(this.options.clock.now()) });
      this.metrics.disabled();
      this.deps.log.warn({ webhook: id, key: endpoint.key, reason }, 'webhook endpoint disabled');
      endpoint = { ...endpoint, state: 'disabled' };
    }
    const worker = this.workers.get(id);
    const held = endpoint.state === 'active' && (await this.leases.hold(id));
    if (held && worker) return worker.refresh(endpoint);
    if (held) {
      const started = new EndpointWorker(endpoint, {
        ...this.options,
        store: this.store,
        metrics: this.metrics,
        log: this.deps.log,
        subscribe: (e, after) => this.subscribe(e, after),
        holds: () => this.leases.valid(id),
      });
      this.workers.set(id, started);
      return started.start();
    }
    if (worker) {
      this.workers.delete(id);
      await worker.stop();
    }
    if (endpoint.state !== 'active') await this.leases.release(id);
  }

  /** The endpoint's subscription, as its key, through the gateway's pipeline. */
  async subscribe(endpoint: EndpointRecord, after: string | undefined): Promise<InternalOutcome> {
    const verified = await this.deps.keys.verifyName(endpoint.key);
    if (!verified) {
      return { kind: 'refused', errors: [{ message: `The key "${endpoint.key}" is revoked, expired or gone`, extensions: { code: 'UNAUTHENTICATED' } }] };
    }
    return this.deps.subscriptions.subscribeAs({
      caller: verified.caller,
      documents: verified.documents,
      requestId: `webhook-${endpoint._id}`,
      log: this.deps.log.child({ webhook: endpoint._id }),
      quotaKey: `webhook:${endpoint._id}`,
      query: endpoint.query,
      variables: endpoint.variables,
      operationName: endpoint.operationName,
      lastEventId: after,
    });
  }
}
