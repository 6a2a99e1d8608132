/**
 * Global Object Identification across the federation: every entity has a `nodeId`, and
 * `Query.node(id:)` / `nodes(ids:)` answer it for any entity of any subgraph, through the node
 * subgraph the gateway composes onto the supergraph (gateway/node/) and the owning subgraph's
 * entity resolver, within the caller's contract.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeGlobalId } from '../../gateway/node/index.ts';
import { startStack, type Stack } from '../helpers/stack.ts';

const op = (name: string) => readFileSync(new URL(`./operations/nodes/${name}.graphql`, import.meta.url), 'utf8');
const gid = (typeName: string, value: string) => encodeGlobalId(typeName, { fields: ['k'], bare: true }, { k: value });
const codes = (errors: { path?: unknown; extensions?: { code?: string; argument?: unknown } }[] | undefined) =>
  (errors ?? []).map((e) => ({ path: e.path, code: e.extensions?.code, argument: e.extensions?.argument }));

let stack: Stack;
let ids: Record<string, { nodeId: string; id: string }>;
beforeAll(async () => {
  stack = await startStack();
  const { body } = await stack.query(op('ids'));
  expect(body.errors).toBeUndefined();
  ids = { ...body.data, municipality: body.data.municipalities.nodes[0] };
});
afterAll(async () => {
  await stack?.stop();
});

describe('global object identification', () => {
  it('gives every entity an opaque nodeId that encodes its type and key, beside its own id', () => {
    expect(ids['alliance']!.nodeId).toBe(Buffer.from('Alliance:ali-cn').toString('base64url'));
    expect(ids['municipality']!.nodeId).toBe(gid('Municipality', ids['municipality']!.id));
    expect(ids['province']).toMatchObject({ id: '004', code: '004', nodeId: gid('Province', '004') });
  });

  it('refetches each kind of entity by node(id:), every field through its owning subgraph', async () => {
    for (const [name, entity] of Object.entries(ids).filter(([k]) => k !== 'municipalities')) {
      const { status, body } = await stack.query(op('node'), { id: entity.nodeId });
      expect({ name, status, errors: body.errors }).toEqual({ name, status: 200, errors: undefined });
      expect(body.data.node).toMatchObject({ nodeId: entity.nodeId, id: entity.id });
    }
    const { body } = await stack.query(op('node'), { id: ids['alliance']!.nodeId });
    expect(body.data.node).toEqual({
      __typename: 'Alliance',
      nodeId: ids['alliance']!.nodeId,
      id: 'ali-cn',
      name: 'ALI Cuneo',
      memberCount: 222,
      fundingTotals: { projectCount: 1, provenance: 'ESTIMATED' },
    });
  });

  it('asks the owner once whether the entities exist, then plans the fields as for any entity reference', async () => {
    stack.resetCounters();
    const a = gid('Alliance', 'ali-to');
    const { body } = await stack.query(op('nodes'), { ids: [ids['alliance']!.nodeId, a, ids['municipality']!.nodeId] });
    expect(body.errors).toBeUndefined();
    expect(body.data.nodes.map((n: { name: string }) => n.name)).toEqual(['ALI Cuneo', 'ALI Torino', expect.any(String)]);
    // One existence check to alliances for all three ids, then one _entities fetch for their names.
    expect(stack.subgraphCalls.map((c) => c.subgraph)).toEqual(['alliances', 'alliances']);
    expect(stack.subgraphCalls[0]!.query).toContain('NodeExists');
  });

  it('answers null with NOT_FOUND or BAD_USER_INPUT per id, naming the argument, and keeps the others', async () => {
    const { status, body } = await stack.query(op('nodes'), {
      ids: [gid('Alliance', 'ali-zz'), 'not an id', ids['alliance']!.nodeId, gid('NoSuchType', 'x'), gid('Alliance', '')],
    });
    expect(status).toBe(200);
    expect(body.data.nodes.map((n: unknown) => n && (n as { nodeId: string }).nodeId)).toEqual([null, null, ids['alliance']!.nodeId, null, null]);
    expect(codes(body.errors).sort((x, y) => String(x.path).localeCompare(String(y.path)))).toEqual([
      { path: ['nodes', 0], code: 'NOT_FOUND', argument: 'ids' },
      { path: ['nodes', 1], code: 'BAD_USER_INPUT', argument: 'ids' },
      { path: ['nodes', 3], code: 'NOT_FOUND', argument: 'ids' },
      { path: ['nodes', 4], code: 'BAD_USER_INPUT', argument: 'ids' },
    ]);
    const one = await stack.query(op('node'), { id: gid('Municipality', '999999') });
    expect(one.body.data).toEqual({ node: null });
    expect(codes(one.body.errors)).toEqual([{ path: ['node'], code: 'NOT_FOUND', argument: 'id' }]);
  });

  it('refuses more than 100 ids with BAD_USER_INPUT on ids', async () => {
    const { body } = await stack.query(op('nodes'), { ids: Array.from({ length: 101 }, () => ids['alliance']!.nodeId) });
    expect(codes(body.errors)).toEqual([{ path: ['nodes'], code: 'BAD_USER_INPUT', argument: 'ids' }]);
  });
});

describe('global object identification under contracts', () => {
  let partner: Record<string, string>;
  beforeAll(async () => {
    partner = { 'x-api-key': await stack.createKey({ name: 'nodes-partner', role: 'partner', subgraphs: ['reuse'] }) };
  });

  it('lets a partner refetch the entities of its view, with the fields of its subgraphs', async () => {
    const { body } = await stack.query(op('partnerNode'), { id: ids['municipality']!.nodeId }, partner);
    expect(body.errors).toBeUndefined();
    expect(body.data.node).toMatchObject({ nodeId: ids['municipality']!.nodeId, istatCode: ids['municipality']!.id });
  });

  it('answers an entity outside the view as an id that names nothing, without calling its subgraph', async () => {
    stack.resetCounters();
    const { body } = await stack.query(op('partnerNode'), { id: ids['alliance']!.nodeId }, partner);
    expect(body.data).toEqual({ node: null });
    expect(codes(body.errors)).toEqual([{ path: ['node'], code: 'NOT_FOUND', argument: 'id' }]);
    expect(stack.subgraphCalls).toEqual([]);
  });

  it('refuses a field of another subgraph on a node as on any other path', async () => {
    const { status, body } = await stack.query(op('node'), { id: ids['municipality']!.nodeId }, partner);
    expect(status).toBe(403);
    expect(body.errors?.[0]?.extensions?.code).toBe('SUBGRAPH_NOT_SUBSCRIBED');
  });

  it('shows the partner a Node interface implemented by the types of its view only', async () => {
    const { body } = await stack.query(`{ __type(name: "Node") { possibleTypes { name } } }`, undefined, partner);
    const names = body.data.__type.possibleTypes.map((t: { name: string }) => t.name).sort();
    expect(names).toContain('Municipality');
    expect(names).toContain('Adoption');
    expect(names).not.toContain('Alliance');
    expect(names).not.toContain('FundedProject');
  });
});
