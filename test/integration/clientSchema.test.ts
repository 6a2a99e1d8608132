/**
 * The client schemas of schema/client/ (`npm run schema:client`): current with the supergraph, free
 * of federation internals, filtered per view, and accepted by Relay's compiler for a query that
 * uses `node(id:)` and a `@refetchable` fragment.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { buildSchema } from 'graphql';
import { afterAll, describe, expect, it } from 'vitest';
import { printClientSchemas } from '../../gateway/clientSchema.ts';

const root = path.resolve(import.meta.dirname, '../..');
const committed = (name: string) => readFileSync(path.join(root, 'schema/client', `${name}.graphql`), 'utf8');
const schemas = printClientSchemas(readFileSync(path.join(root, 'schema/supergraph.graphql'), 'utf8'));
const run = promisify(execFile);
const work = mkdtempSync(path.join(tmpdir(), 'ali-relay-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Runs Relay's compiler over the test's operation against one printed schema; its exit code and output. */
async function relayCompile(schemaFile: string): Promise<{ code: number; output: string; artifacts: string }> {
  const dir = mkdtempSync(path.join(work, 'p-'));
  const artifacts = path.join(dir, '__generated__');
  mkdirSync(path.join(dir, 'src'));
  mkdirSync(artifacts);
  const operation = readFileSync(new URL('./relay/NodeRefetch.graphql', import.meta.url), 'utf8');
  writeFileSync(path.join(dir, 'src', 'NodeRefetch.ts'), `graphql\`\n${operation}\`;\n`);
  const config = {
    src: './src',
    schema: schemaFile,
    language: 'typescript',
    artifactDirectory: './__generated__',
    // The gateway's Node interface names its id field nodeId (docs/frontend.md says why).
    schemaConfig: { nodeInterfaceIdField: 'nodeId', nodeInterfaceIdVariableName: 'id' },
  };
  writeFileSync(path.join(dir, 'relay.config.json'), JSON.stringify(config));
  try {
    const { stdout, stderr } = await run(process.execPath, [path.join(root, 'node_modules/relay-compiler/cli.js')], { cwd: dir, timeout: 60_000 });
    return { code: 0, output: `${stdout}${stderr}`, artifacts };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, output: `${e.stdout ?? ''}${e.stderr ?? ''}`, artifacts };
  }
}

describe('client schemas', () => {
  it('are committed as npm run schema:client prints them', () => {
    const files = readdirSync(path.join(root, 'schema/client')).filter((f) => f.endsWith('.graphql')).sort();
    expect(files).toEqual([...schemas.keys()].map((n) => `${n}.graphql`).sort());
    for (const [name, text] of schemas) expect(committed(name), `schema/client/${name}.graphql is stale: run npm run schema:client`).toBe(text);
  });

  it('show no federation internals, and the Node interface with node(id:) and nodes(ids:)', () => {
    const api = buildSchema(schemas.get('api')!);
    expect(schemas.get('api')).not.toMatch(/join__|link__|_Any|_entities|_service|@key|federation/);
    expect(api.getQueryType()!.getFields()['node']!.args.map((a) => `${a.name}: ${String(a.type)}`)).toEqual(['id: ID!']);
    expect(String(api.getQueryType()!.getFields()['nodes']!.type)).toBe('[Node]!');
    expect(api.getPossibleTypes(api.getType('Node') as never).map((t) => t.name)).toContain('Municipality');
  });

  it('differ per view: front ends read everything and write nothing; a partner sees its subgraphs only', () => {
    const frontend = buildSchema(schemas.get('frontend')!);
    expect(frontend.getMutationType()).toBeUndefined();
    expect(frontend.getType('Alliance')).toBeDefined();
    const reuse = buildSchema(schemas.get('partner-reuse')!);
    expect(reuse.getType('Alliance')).toBeUndefined();
    expect(Object.keys((reuse.getType('Municipality') as never as { getFields(): object }).getFields()).sort()).toEqual(['adoptions', 'istatCode', 'nodeId']);
  });

  it("passes Relay's compiler with a node(id:) query and a @refetchable fragment", async () => {
    const { code, output, artifacts } = await relayCompile(path.join(root, 'schema/client/frontend.graphql'));
    expect(output).not.toMatch(/error/i);
    expect(code).toBe(0);
    const refetch = readFileSync(path.join(artifacts, 'NodeRefetchAllianceRefetchQuery.graphql.ts'), 'utf8');
    expect(refetch).toContain('"node"');
    expect(refetch).toContain('"nodeId"');
  }, 90_000);

  it("fails Relay's compiler against a view without those types (the check can fail)", async () => {
    const { code, output } = await relayCompile(path.join(root, 'schema/client/partner-reuse.graphql'));
    expect(code).not.toBe(0);
    expect(output).toMatch(/Alliance/);
  }, 90_000);
});
