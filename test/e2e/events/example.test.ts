/**
 * The webhook example of docs/realtime.md runs as documented: `npm run webhooks` registers an
 * endpoint through the admin API, the partner receiver of examples/webhookReceiver.ts verifies the
 * signed test message and the event a mutation makes, and prints the event once.
 */
import { execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startStack, type Stack } from '../../helpers/stack.ts';
import { freePort } from '../../helpers/ports.ts';
import { freshComuni, until } from '../../helpers/eventClients.ts';

const root = path.resolve(import.meta.dirname, '..', '..', '..');
const tsx = path.join(root, 'node_modules', '.bin', 'tsx');
const run = promisify(execFile);

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ gateway: { webhooks: { pollMs: 100, schedule: { baseMs: 200, maxMs: 1000 } } } });
});
afterAll(() => stack?.stop());

it('registers, tests, delivers, logs and removes an endpoint with npm run webhooks, to the example receiver', async () => {
  await stack.createKey({ name: 'example-hooks-partner', role: 'partner', subgraphs: ['reuse', 'alliances'] });
  const editor = await stack.createKey({ name: 'example-hooks-editor', role: 'editor', subgraphs: ['reuse'] });
  const admin = await stack.createKey({ name: 'example-hooks-admin', role: 'admin' });
  const port = await freePort();
  const cli = (...args: string[]) => run(tsx, ['scripts/webhooks.ts', ...args, '--gateway', stack.gatewayUrl], { cwd: root, env: { ...process.env, ADMIN_API_KEY: admin } });

  const added = await cli('add', '--key', 'example-hooks-partner', '--url', `http://127.0.0.1:${port}/`, '--query', 'test/e2e/events/operations/adoptions.graphql', '--variables', '{"provinceCode":"001"}');
  const lines = added.stdout.trim().split('\n');
  const id = /Added webhook (wh_\S+)/.exec(lines[0]!)![1]!;
  const secret = lines.at(-1)!;
  expect(secret).toMatch(/^whsec_/);
  expect((await cli('list')).stdout).toContain(`${id}\texample-hooks-partner\tactive\thttp://127.0.0.1:${port}/`);

  const receiver = spawn(tsx, ['examples/webhookReceiver.ts', '--secret', secret, '--port', String(port), '--count', '1'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  receiver.stdout.on('data', (d: Buffer) => (out += d.toString()));
  receiver.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => receiver.once('exit', resolve));
  await until(() => `the receiver to listen: ${err}`, () => err.includes('listening on'), 30_000);

  expect((await cli('test', '--id', id)).stdout).toMatch(/^status 204 in \d+ ms/);
  await until('the verified test message', () => err.includes('test message test.'));

  const istat = (await freshComuni(stack.dbs.reuse, 'sigma-ter-piemonte', '001'))[0]!;
  const write = await stack.query('mutation($input: RegisterAdoptionInput!) { registerAdoption(input: $input) { adoption { id } } }', { input: { solutionId: 'sigma-ter-piemonte', municipalityIstatCode: istat, provenance: 'SAMPLE' } }, { 'x-api-key': editor });
  expect(write.body.errors).toBeUndefined();
  expect(await exited, err).toBe(0);
  const event = JSON.parse(out.trim()) as { id: string; type: string; data: any };
  expect(event).toMatchObject({ id: expect.stringMatching(/^reuse\.\d+$/), type: 'adoptionChanged', data: { adoptionChanged: { kind: 'REGISTERED', adoption: { id: `sigma-ter-piemonte:${istat}` } } } });

  await until('the delivery logged', async () => (await cli('deliveries', '--id', id)).stdout.includes('delivered'));
  expect((await cli('deliveries', '--id', id)).stdout).toMatch(new RegExp(`^${event.id.replace('.', '\\.')}\\tadoptions/sigma-ter-piemonte:${istat}\\tdelivered\\t1 attempt\\(s\\)\\t\\S+ 204 \\d+ms$`, 'm'));
  expect((await cli('remove', '--id', id)).stdout).toContain(`Removed ${id}.`);
  expect((await cli('list')).stdout.trim().split('\n')).toHaveLength(1);
  // Without an admin key, the CLI says so.
  await expect(run(tsx, ['scripts/webhooks.ts', 'list', '--gateway', stack.gatewayUrl], { cwd: root, env: { ...process.env, ADMIN_API_KEY: '' } })).rejects.toMatchObject({ stderr: expect.stringContaining('an admin key is needed') });
});
