/**
 * One delivery attempt: a POST of the delivery's JSON body with the Standard Webhooks headers
 * (`webhook-id`: the event id, the same on every attempt, the receiver's idempotency key;
 * `webhook-timestamp`: this attempt's time in seconds; `webhook-signature`: `v1,<HMAC-SHA256>` of
 * "<id>.<timestamp>.<body>" with the endpoint's secret, signed by the `standardwebhooks` library).
 * A 2xx answer is a success; anything else, a redirect included, a timeout or a network error is a
 * failure, told apart in the delivery log.
 *
 * Attempts go through undici's fetch on an agent of their own, loaded on the first delivery (the
 * gateway otherwise loads only undici's pool, ../transport/undici.ts). With Node 20's bundled
 * fetch, an attempt to a receiver that had stopped since the last one was logged as a connection
 * reset rather than refused (test/e2e/events/webhookRetries.test.ts).
 */
import type { Agent, fetch as undiciFetch } from 'undici';
import { Webhook } from 'standardwebhooks';

let client: Promise<{ fetch: typeof undiciFetch; agent: Agent }> | undefined;

/** undici's fetch and the agent of every delivery attempt, loaded once. */
function webhookClient(): Promise<{ fetch: typeof undiciFetch; agent: Agent }> {
  return (client ??= import('undici').then(({ fetch, Agent }) => ({ fetch, agent: new Agent() })));
}

export interface AttemptOutcome {
  readonly ok: boolean;
  readonly status: number | null;
  readonly error: string | null;
  readonly latencyMs: number;
}

export interface Message {
  readonly url: string;
  readonly secret: string;
  readonly id: string;
  readonly body: string;
}

function reason(err: unknown): string {
  const e = err as { name?: string; cause?: { code?: string; message?: string }; message?: string };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return 'timeout';
  const code = e.cause?.code;
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') return 'connection reset';
  return code ?? e.cause?.message ?? e.message ?? String(err);
}

export async function sendAttempt(message: Message, now: number, timeoutMs: number): Promise<AttemptOutcome> {
  const timestamp = new Date(now);
  const headers = {
    'content-type': 'application/json',
    'user-agent': 'ali-graph-webhooks',
    'webhook-id': message.id,
    'webhook-timestamp': String(Math.floor(now / 1000)),
    'webhook-signature': new Webhook(message.secret).sign(message.id, timestamp, message.body),
  };
  const started = performance.now();
  try {
    const { fetch, agent } = await webhookClient();
    const res = await fetch(message.url, { method: 'POST', headers, body: message.body, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs), dispatcher: agent });
    await res.body?.cancel().catch(() => {});
    const ok = res.status >= 200 && res.status < 300;
    return { ok, status: res.status, error: ok ? null : `HTTP ${res.status}`, latencyMs: Math.round(performance.now() - started) };
  } catch (err) {
    return { ok: false, status: null, error: reason(err), latencyMs: Math.round(performance.now() - started) };
  }
}
