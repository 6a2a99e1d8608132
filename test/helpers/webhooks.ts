/**
 * What the webhook tests need: a partner receiver on loopback that can be told to fail (500, hang
 * past the gateway's timeout, refuse connections) and verifies every delivery with the Standard
 * Webhooks reference library, de-duplicating by `webhook-id` as a real application must; a clock
 * the test advances; and the admin API.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Webhook } from 'standardwebhooks';
import type { Clock } from '../../gateway/webhooks/schedule.ts';

export type ReceiverMode = 'ok' | 'fail' | 'hang' | 'slow';

export interface ReceivedRequest {
  readonly id: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
  /** The signature checked out with the endpoint's secret (the spec's reference verification). */
  readonly verified: boolean;
  readonly receivedAt: number;
}

export class TestReceiver {
  mode: ReceiverMode = 'ok';
  /** With `slow`, how long each answer takes. */
  slowMs = 1500;
  secret: string | undefined;
  readonly requests: ReceivedRequest[] = [];
  /** What the application received: each event once (de-duplicated by webhook-id), in arrival order. */
  readonly app: { id: string; body: any }[] = [];
  private server: http.Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}/`;
  }

  async start(): Promise<this> {
    const server = http.createServer((req, res) => this.handle(req, res));
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
    return this;
  }

  /** Stops listening: the next attempts are refused connections. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let verified = false;
      try {
        new Webhook(this.secret ?? 'whsec_MDEyMzQ1Njc4OWFiY2RlZg==').verify(body, req.headers as Record<string, string>);
        verified = true;
      } catch {
        verified = false;
      }
      const id = String(req.headers['webhook-id']);
      this.requests.push({ id, headers: req.headers, body, verified, receivedAt: Date.now() });
      const mode = this.mode;
      if (mode === 'fail') return void res.writeHead(500).end();
      // A receiver that does its work and answers too late: the event reached the application.
      if (verified && !this.app.some((e) => e.id === id)) this.app.push({ id, body: JSON.parse(body) });
      if (mode === 'hang') return void setTimeout(() => res.writeHead(204).end(), 3000).unref();
      if (mode === 'slow') return void setTimeout(() => res.writeHead(204).end(), this.slowMs).unref();
      res.writeHead(verified ? 204 : 401).end();
    });
  }
}

/** A clock that moves only when the test says: `advance` runs the timers that fall due, in order. */
export class ManualClock implements Clock {
  private t = Date.now();
  private timers: { at: number; fn: () => void; cancelled: boolean }[] = [];

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): { cancel(): void } {
    const timer = { at: this.t + Math.max(0, ms), fn, cancelled: false };
    this.timers.push(timer);
    return { cancel: () => void (timer.cancelled = true) };
  }

  advance(ms: number): void {
    const until = this.t + ms;
    for (;;) {
      const due = this.timers.filter((x) => !x.cancelled && x.at <= until).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.timers = this.timers.filter((x) => x !== due);
      this.t = Math.max(this.t, due.at);
      due.fn();
    }
    this.t = until;
  }
}

/** One admin operation at /admin/graphql. */
export async function adminQuery(gatewayUrl: string, adminKey: string, query: string, variables: Record<string, unknown> = {}): Promise<{ data?: any; errors?: any[] }> {
  const res = await fetch(`${gatewayUrl}admin/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${adminKey}` },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as { data?: any; errors?: any[] };
}

export const ADD_WEBHOOK = `mutation($input: AddWebhookInput!) { addWebhook(input: $input) { secret webhook { id key url state cursor } } }`;
export const DELIVERIES = `query($id: ID!, $state: String) { webhookDeliveries(id: $id, state: $state, first: 100) { eventId entity state retryUntil nextAttemptAt attempts { at status error latencyMs } body } }`;
