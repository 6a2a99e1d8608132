/**
 * A partner agency's webhook receiver, runnable as is:
 *
 *   npm run example:webhook-receiver -- --secret whsec_… [--port 8787] [--count N]
 *
 * Verifies every delivery's Standard Webhooks signature with the spec's reference library
 * (`standardwebhooks`: HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>", timestamp within
 * 5 minutes), answers 401 to anything unsigned or tampered with, and hands each event to the
 * application once: the gateway delivers at least once (a retry after a lost answer brings the
 * same event again), so the receiver de-duplicates by `webhook-id`, the event id. Here the seen ids
 * are kept in memory; a real receiver keeps them with the data it updates, in one transaction.
 * Prints one JSON line per event: `{"id":"reuse.42","type":"adoptionChanged","data":{…}}`.
 *
 * Register it (with an admin key, against a running gateway):
 *   npm run webhooks -- add --key PARTNER_KEY_NAME --url http://127.0.0.1:8787/ --query adoptions.graphql
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';

export interface ReceivedEvent {
  readonly id: string;
  readonly type: string;
  readonly data: unknown;
}

export interface Receiver {
  readonly url: string;
  close(): Promise<void>;
}

/** Listens on `port` (0: any); calls `onEvent` once per event id, in the order deliveries arrive. */
export async function startReceiver(secret: string, port: number, onEvent: (event: ReceivedEvent) => void): Promise<Receiver> {
  const webhook = new Webhook(secret);
  const seen = new Set<string>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let message: { type: string; data: unknown };
      try {
        // Verify the raw body as received: re-serialised JSON would not match the signature.
        message = webhook.verify(body, req.headers as Record<string, string>) as { type: string; data: unknown };
      } catch (err) {
        res.writeHead(err instanceof WebhookVerificationError ? 401 : 400).end();
        return;
      }
      const id = String(req.headers['webhook-id']);
      // `npm run webhooks -- test` sends a signed ping: acknowledged, not an application event.
      if (message.type === 'webhook.test') {
        console.error(`test message ${id} verified`);
        res.writeHead(204).end();
        return;
      }
      if (!seen.has(id)) {
        seen.add(id);
        onEvent({ id, type: message.type, data: message.data });
      }
      // A duplicate is acknowledged too: the gateway then stops retrying it.
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { secret: { type: 'string' }, port: { type: 'string', default: '8787' }, count: { type: 'string' } } });
  const secret = values.secret ?? process.env['WEBHOOK_SECRET'];
  if (!secret) {
    console.error('usage: npm run example:webhook-receiver -- --secret whsec_… [--port 8787] [--count N]');
    process.exit(2);
  }
  const limit = values.count ? Number(values.count) : Infinity;
  let received = 0;
  const receiver = await startReceiver(secret, Number(values.port), (event) => {
    console.log(JSON.stringify(event));
    if (++received >= limit) void receiver.close().then(() => process.exit(0));
  });
  console.error(`listening on ${receiver.url}`);
}
