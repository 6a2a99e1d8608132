/**
 * The partner example of docs/realtime.md (examples/subscribe.ts) runs as documented: started
 * with a partner key, it prints the one event a mutation made, with the fields other subgraphs
 * contribute.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createEventBus, type LocalEventBus } from '../../../lib/events.ts';
import { piedmontMunicipalities } from '../../../lib/domain/registry.ts';
import { allianceDocs } from '../../../subgraphs/alliances/data/seed.ts';
import { startStack, type Stack } from '../../helpers/stack.ts';

const root = path.resolve(import.meta.dirname, '..', '..', '..');
let stack: Stack;
let bus: LocalEventBus;
beforeAll(async () => {
  bus = createEventBus();
  stack = await startStack({ events: bus });
});
afterAll(async () => {
  await stack?.stop();
  await bus?.close();
});

it('prints the adoption event with the Comune ALI from alliances and the projects from funding', async () => {
  const partner = await stack.createKey({ name: 'example-partner', role: 'partner', subgraphs: ['reuse', 'alliances', 'funding'] });
  const editor = await stack.createKey({ name: 'example-editor', role: 'editor', subgraphs: ['reuse'] });
  const wsUrl = `${stack.gatewayUrl.replace(/^http/, 'ws')}graphql`;
  const child = spawn(process.execPath, ['--import', 'tsx', 'examples/subscribe.ts', '--url', wsUrl, '--key', partner, '--province', '001', '--count', '1'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));

  // Subscribed once the reuse subgraph has a subscriber.
  const deadline = Date.now() + 30_000;
  while (bus.subscriberCount('reuse.adoptionChanged') === 0) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the example did not subscribe: ${out}${err}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const taken = new Set((await stack.dbs.reuse.collection('adoptions').find({ solutionId: 'sigma-ter-piemonte' }).toArray()).map((d) => d['istatCode']));
  // A member of Turin's ALI (province 001), so that the event's alliance comes from the alliances subgraph.
  const comune = piedmontMunicipalities().find((m) => m.istatCode.startsWith('001') && m.allianceId !== null && !taken.has(m.istatCode))!;
  const alliance = allianceDocs().find((a) => a._id === comune.allianceId)!;
  const r = await stack.query(
    'mutation($input: RegisterAdoptionInput!) { registerAdoption(input: $input) { adoption { id } } }',
    { input: { solutionId: 'sigma-ter-piemonte', municipalityIstatCode: comune.istatCode, status: 'PLANNED', provenance: 'SAMPLE' } },
    { 'x-api-key': editor },
  );
  expect(r.body.errors).toBeUndefined();

  expect(await exited, err).toBe(0);
  const lines = out.trim().split('\n');
  expect(lines).toHaveLength(1);
  const event = JSON.parse(lines[0]!) as { data: { adoptionChanged: any } };
  // Broken once to prove it: with `membership { alliance { name } }` removed from the example's
  // subscription (examples/subscribe.ts), this fails; the old check sat inside `if (membership)`.
  expect(event.data.adoptionChanged).toMatchObject({
    kind: 'REGISTERED',
    previousStatus: null,
    adoption: {
      id: `sigma-ter-piemonte:${comune.istatCode}`,
      status: 'PLANNED',
      // sigma-ter-project: the solution's one funded project, from the funding subgraph.
      solution: { name: 'SIGMA TER Piemonte', fundedProjects: [{ id: 'apq-act-4-sigma-ter-piemonte' }] },
      municipality: { istatCode: comune.istatCode, name: comune.name, membership: { alliance: { name: alliance.name } } },
    },
  });
});
