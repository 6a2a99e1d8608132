/**
 * npm run webhooks -- <command>: webhook endpoints, through a running gateway's admin API
 * (/admin/graphql), which validates a registration as the key it is for and delivers the events.
 *
 *   add --key NAME --url URL --query FILE [--variables JSON] [--operation-name NAME] [--description TEXT]
 *          prints the endpoint's id and, on its last line, its signing secret (not shown again)
 *   list [--key NAME]
 *   remove --id ID
 *   enable --id ID
 *   test --id ID          sends a signed webhook.test message now
 *   deliveries --id ID [--state pending|delivered|dead] [--first N]
 *   replay --id ID [--event EVENT_ID]...   sends dead-lettered deliveries again
 *
 * The gateway: --gateway URL, else http://localhost:<GATEWAY_PORT>/. The admin key: --admin-key,
 * else ADMIN_API_KEY.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfig } from '../lib/config.ts';

const USAGE = `usage: npm run webhooks -- add --key NAME --url URL --query FILE [--variables JSON] [--operation-name NAME] [--description TEXT]
       npm run webhooks -- list [--key NAME]
       npm run webhooks -- remove|enable|test --id ID
       npm run webhooks -- deliveries --id ID [--state pending|delivered|dead] [--first N]
       npm run webhooks -- replay --id ID [--event EVENT_ID]...
options: --gateway URL (default http://localhost:GATEWAY_PORT/), --admin-key KEY (default ADMIN_API_KEY)`;

function fail(message: string, code = 2): never {
  console.error(message);
  process.exit(code);
}

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    key: { type: 'string' },
    url: { type: 'string' },
    query: { type: 'string' },
    variables: { type: 'string' },
    'operation-name': { type: 'string' },
    description: { type: 'string' },
    id: { type: 'string' },
    state: { type: 'string' },
    first: { type: 'string' },
    event: { type: 'string', multiple: true },
    gateway: { type: 'string' },
    'admin-key': { type: 'string' },
  },
});
const command = positionals[0];
const COMMANDS = ['add', 'list', 'remove', 'enable', 'test', 'deliveries', 'replay'];
if (!command || !COMMANDS.includes(command)) fail(USAGE);

const cfg = loadConfig();
const gateway = values.gateway ?? `http://localhost:${cfg.GATEWAY_PORT}/`;
const adminKey = values['admin-key'] ?? cfg.ADMIN_API_KEY ?? fail('an admin key is needed: --admin-key, or ADMIN_API_KEY');
const need = (name: 'id' | 'key' | 'url' | 'query'): string => values[name] ?? fail(`--${name} is required\n${USAGE}`);

const WEBHOOK = 'id key url state disabledReason cursor failingSince createdAt description';

async function admin(query: string, variables: Record<string, unknown>): Promise<Record<string, any>> {
  const res = await fetch(new URL('admin/graphql', gateway), {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${adminKey}` },
    body: JSON.stringify({ query, variables }),
  }).catch((err: Error) => fail(`cannot reach the gateway at ${gateway}: ${err.message}`, 1));
  const body = (await res.json().catch(() => ({}))) as { data?: Record<string, any>; errors?: { message: string; extensions?: { code?: string } }[] };
  if (body.errors?.length) fail(body.errors.map((e) => `error (${e.extensions?.code ?? res.status}): ${e.message}`).join('\n'), 1);
  if (!res.ok || !body.data) fail(`the gateway answered ${res.status}`, 1);
  return body.data;
}

const row = (w: Record<string, any>) => [w.id, w.key, w.state, w.url, w.cursor ?? '-', w.disabledReason ?? ''].join('\t');

async function run(): Promise<void> {
  switch (command) {
    case 'add': {
      const input = {
        key: need('key'),
        url: need('url'),
        query: readFileSync(need('query'), 'utf8'),
        variables: values.variables ?? null,
        operationName: values['operation-name'] ?? null,
        description: values.description ?? null,
      };
      const data = await admin(`mutation($input: AddWebhookInput!) { addWebhook(input: $input) { secret webhook { ${WEBHOOK} } } }`, { input });
      const { webhook, secret } = data['addWebhook'];
      console.log(`Added webhook ${webhook.id} for key "${webhook.key}" → ${webhook.url} (from event ${webhook.cursor}). Its signing secret, not shown again:`);
      return console.log(secret);
    }
    case 'list': {
      const data = await admin(`query($key: String) { webhooks(key: $key) { ${WEBHOOK} } }`, { key: values.key ?? null });
      console.log(['id', 'key', 'state', 'url', 'cursor', 'disabled because'].join('\t'));
      for (const w of data['webhooks']) console.log(row(w));
      return;
    }
    case 'remove':
      await admin('mutation($id: ID!) { removeWebhook(id: $id) }', { id: need('id') });
      return console.log(`Removed ${values.id}.`);
    case 'enable':
      return console.log(row((await admin(`mutation($id: ID!) { enableWebhook(id: $id) { ${WEBHOOK} } }`, { id: need('id') }))['enableWebhook']));
    case 'test': {
      const t = (await admin('mutation($id: ID!) { testWebhook(id: $id) { status error latencyMs } }', { id: need('id') }))['testWebhook'];
      console.log(`status ${t.status ?? '-'}${t.error ? ` (${t.error})` : ''} in ${t.latencyMs} ms`);
      if (t.error) process.exitCode = 1;
      return;
    }
    case 'deliveries': {
      const vars = { id: need('id'), state: values.state ?? null, first: values.first ? Number(values.first) : 50 };
      const data = await admin('query($id: ID!, $state: String, $first: Int) { webhookDeliveries(id: $id, state: $state, first: $first) { eventId entity state attempts { at status error latencyMs } } }', vars);
      for (const d of data['webhookDeliveries']) {
        const tries = d.attempts.map((a: any) => `${a.at} ${a.status ?? a.error} ${a.latencyMs}ms`).join('; ');
        console.log([d.eventId, d.entity, d.state, `${d.attempts.length} attempt(s)`, tries].join('\t'));
      }
      return;
    }
    case 'replay': {
      const n = (await admin('mutation($id: ID!, $ids: [String!]) { replayWebhookDeliveries(id: $id, eventIds: $ids) }', { id: need('id'), ids: values.event ?? null }))['replayWebhookDeliveries'];
      return console.log(`${n} dead-lettered deliveries sent again.`);
    }
  }
}

await run();
