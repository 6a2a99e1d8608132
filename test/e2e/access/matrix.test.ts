/**
 * The access matrix, through the gateway over HTTP: every role × every subgraph × read, write and
 * introspection, asserting exactly what is allowed and what is refused — and that a refused
 * request reaches no subgraph and changes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SUBGRAPH_NAMES, type SubgraphName } from '../../../lib/config.ts';
import type { Role } from '../../../lib/access.ts';
import type { RunningGateway } from '../../../gateway/runtime.ts';
import { GRAPHQL_ACCEPT, startStack, type Stack } from '../../helpers/stack.ts';

/** One read per subgraph, touching only fields that subgraph serves. */
const READS: Record<SubgraphName, { query: string; root: string }> = {
  alliances: { query: '{ provinces { code name } }', root: 'provinces' },
  governance: { query: '{ committees { id name } }', root: 'committees' },
  funding: { query: '{ fundingSources { id name } }', root: 'fundingSources' },
  reuse: { query: '{ reuseSolutions { id name } }', root: 'reuseSolutions' },
};

/**
 * One write per subgraph that fails validation inside the subgraph when it gets there (an unknown
 * reference): an allowed caller sees the subgraph's own NOT_FOUND / BAD_USER_INPUT, proving the
 * request passed the gateway; a refused one sees FORBIDDEN from the gateway and no subgraph call.
 */
const WRITES: Record<SubgraphName, { query: string; root: string }> = {
  alliances: {
    query: 'mutation { changeMembership(istatCode: "999999", allianceId: null, expectedVersion: 0) { municipality { istatCode } } }',
    root: 'changeMembership',
  },
  governance: {
    query: 'mutation { recordMeeting(input: { committeeId: "no-such-committee", date: "2010-01-01", title: "x", provenance: SAMPLE }) { meeting { id } } }',
    root: 'recordMeeting',
  },
  funding: {
    query: 'mutation { amendFundedProject(id: "no-such-project", expectedVersion: 0, changes: { title: "x" }) { project { id } } }',
    root: 'amendFundedProject',
  },
  reuse: {
    query: 'mutation { changeAdoptionStatus(id: "no-such-adoption", status: ACTIVE, expectedVersion: 0) { adoption { id } } }',
    root: 'changeAdoptionStatus',
  },
};

const INTROSPECT = '{ __schema { queryType { fields { name } } mutationType { fields { name } } types { name } } }';

interface Who {
  readonly role: Role;
  readonly label: string;
  readonly headers: Record<string, string>;
  readonly read: readonly SubgraphName[];
  readonly write: readonly SubgraphName[];
  readonly introspection: boolean;
}

let stack: Stack;
let callers: Who[];

beforeAll(async () => {
  stack = await startStack();
  const key = async (name: string, role: Role, subgraphs?: SubgraphName[]) =>
    ({ authorization: `Bearer ${await stack.createKey({ name, role, subgraphs })}` }) as Record<string, string>;
  const all = [...SUBGRAPH_NAMES];
  callers = [
    // The stack's gateway runs with the development defaults: anonymous may read everything and introspect.
    { role: 'anonymous', label: 'anonymous', headers: {}, read: all, write: [], introspection: true },
    { role: 'frontend', label: 'frontend', headers: await key('web', 'frontend'), read: all, write: [], introspection: false },
    { role: 'analyst', label: 'analyst', headers: await key('analyst', 'analyst'), read: all, write: [], introspection: true },
    {
      role: 'partner',
      label: 'partner funding+reuse',
      headers: { 'x-api-key': (await key('agency', 'partner', ['funding', 'reuse'])).authorization!.slice(7) },
      read: ['funding', 'reuse'],
      write: [],
      introspection: true,
    },
    { role: 'editor', label: 'editor reuse', headers: await key('ed-reuse', 'editor', ['reuse']), read: all, write: ['reuse'], introspection: true },
    {
      role: 'editor',
      label: 'editor alliances+governance',
      headers: await key('ed-ag', 'editor', ['alliances', 'governance']),
      read: all,
      write: ['alliances', 'governance'],
      introspection: true,
    },
    { role: 'admin', label: 'admin', headers: await key('root', 'admin'), read: all, write: [], introspection: true },
  ];
});
afterAll(async () => {
  await stack?.stop();
});

async function auditCounts(): Promise<number[]> {
  return Promise.all(SUBGRAPH_NAMES.map((n) => stack.dbs[n].collection('audit').countDocuments()));
}

describe('access matrix: role × subgraph × read / write / introspection', () => {
  it('reads: allowed exactly within the read scope; refusals name the subgraph and reach nothing', async () => {
    const table: string[] = [];
    for (const who of callers) {
      for (const sg of SUBGRAPH_NAMES) {
        stack.resetCounters();
        const r = await stack.query(READS[sg].query, undefined, who.headers);
        const allowed = who.read.includes(sg);
        table.push(`${who.label} read ${sg}: ${r.status} ${r.body.errors?.[0]?.extensions?.code ?? 'ok'}`);
        if (allowed) {
          expect(r.status, `${who.label} reads ${sg}`).toBe(200);
          expect(r.body.errors).toBeUndefined();
          expect((r.body.data as Record<string, unknown[]>)[READS[sg].root]!.length).toBeGreaterThan(0);
          expect(stack.subgraphCalls.map((c) => c.subgraph)).toEqual([sg]);
        } else {
          expect(r.status, `${who.label} reads ${sg}`).toBe(403);
          expect(r.body.data).toBeUndefined();
          expect(r.body.errors?.[0]?.extensions).toMatchObject({ code: 'SUBGRAPH_NOT_SUBSCRIBED', subgraphs: [sg] });
          expect(r.body.errors?.[0]?.message).toContain(sg);
          expect(stack.subgraphCalls).toEqual([]);
        }
      }
    }
    expect(table.length).toBe(callers.length * SUBGRAPH_NAMES.length);
  });

  it('writes: only an editor scoped to the owning subgraph gets through; everyone else is refused before any subgraph', async () => {
    const before = await auditCounts();
    for (const who of callers) {
      for (const sg of SUBGRAPH_NAMES) {
        stack.resetCounters();
        const r = await stack.query(WRITES[sg].query, undefined, who.headers);
        const code = r.body.errors?.[0]?.extensions?.code;
        if (who.write.includes(sg)) {
          // Through the gateway into the owning subgraph, which validates and refuses the unknown reference.
          expect(['NOT_FOUND', 'BAD_USER_INPUT'], `${who.label} writes ${sg}: ${JSON.stringify(r.body)}`).toContain(code);
          expect(stack.subgraphCalls.map((c) => c.subgraph)).toEqual([sg]);
        } else {
          expect(r.status, `${who.label} writes ${sg}`).toBe(403);
          expect(code, `${who.label} writes ${sg}`).toBe('FORBIDDEN');
          expect(r.body.errors?.[0]?.extensions?.subgraphs).toEqual([sg]);
          expect(stack.subgraphCalls).toEqual([]);
        }
      }
    }
    expect(await auditCounts()).toEqual(before);
  });

  it('introspection: filtered to the caller scope, refused for frontend keys', async () => {
    for (const who of callers) {
      stack.resetCounters();
      const r = await stack.query(INTROSPECT, undefined, who.headers);
      expect(stack.subgraphCalls).toEqual([]);
      if (!who.introspection) {
        expect(r.status, who.label).toBe(403);
        expect(r.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
        continue;
      }
      expect(r.status, who.label).toBe(200);
      const schema = r.body.data.__schema as {
        queryType: { fields: { name: string }[] };
        mutationType: { fields: { name: string }[] } | null;
        types: { name: string }[];
      };
      const queryFields = schema.queryType.fields.map((f) => f.name);
      for (const sg of SUBGRAPH_NAMES) {
        expect(queryFields.includes(READS[sg].root), `${who.label} sees Query.${READS[sg].root}`).toBe(who.read.includes(sg));
      }
      const mutationFields = schema.mutationType?.fields.map((f) => f.name) ?? [];
      for (const sg of SUBGRAPH_NAMES) {
        expect(mutationFields.includes(WRITES[sg].root), `${who.label} sees Mutation.${WRITES[sg].root}`).toBe(who.write.includes(sg));
      }
      if (who.write.length === 0) expect(schema.mutationType).toBeNull();
      const types = schema.types.map((t) => t.name);
      // Types only the alliances subgraph serves disappear for a partner without it.
      expect(types.includes('NetworkSummary')).toBe(who.read.includes('alliances'));
    }
  });

  it('a partner may join through entity keys of other subgraphs without reading their fields', async () => {
    const partner = callers.find((c) => c.role === 'partner')!;
    stack.resetCounters();
    const ok = await stack.query('{ reuseSolutions { id adoptions(first: 2) { nodes { status municipality { istatCode } } } } }', undefined, partner.headers);
    expect(ok.status).toBe(200);
    expect(ok.body.errors).toBeUndefined();
    expect(ok.body.data.reuseSolutions.length).toBe(3);

    const refused = await stack.query('{ reuseSolutions { id adoptions(first: 2) { nodes { municipality { istatCode name } } } } }', undefined, partner.headers);
    expect(refused.status).toBe(403);
    expect(refused.body.errors?.[0]?.extensions).toMatchObject({ code: 'SUBGRAPH_NOT_SUBSCRIBED', subgraphs: ['alliances'], fields: ['Municipality.name'] });
    expect(refused.body.errors?.[0]?.message).toMatch(/Municipality\.name is served by alliances, which this key is not subscribed to \(subscribed: funding, reuse\)/);
  });

  it('bad credentials get 401 with WWW-Authenticate and reach no subgraph', async () => {
    const attempts: Record<string, string>[] = [
      { authorization: 'Bearer ali_' + 'x'.repeat(43) },
      { 'x-api-key': 'not-a-key' },
      { authorization: 'Basic dXNlcjpwYXNz' },
      { authorization: `Bearer ${callers[2]!.headers.authorization!.slice(7)}`, 'x-api-key': 'ali_other' },
    ];
    for (const headers of attempts) {
      stack.resetCounters();
      const res = await fetch(`${stack.gatewayUrl}graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: GRAPHQL_ACCEPT, ...headers },
        body: JSON.stringify({ query: READS.alliances.query }),
      });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(((await res.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('UNAUTHENTICATED');
      expect(stack.subgraphCalls).toEqual([]);
    }
  });
});

describe('production-like gateway: anonymous scope and introspection', () => {
  let gw: RunningGateway;
  beforeAll(async () => {
    gw = await stack.startGateway({ production: true, anonymousScope: ['alliances'], introspection: false });
  });
  const post = async (query: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${gw.url}graphql`, { method: 'POST', headers: { 'content-type': 'application/json', accept: GRAPHQL_ACCEPT, ...headers }, body: JSON.stringify({ query }) });
    return { status: res.status, body: (await res.json()) as { data?: any; errors?: { message: string; extensions: Record<string, unknown> }[] } };
  };

  it('anonymous callers read only the public scope and cannot introspect; an analyst key can', async () => {
    expect((await post(READS.alliances.query)).status).toBe(200);
    const refused = await post(READS.funding.query);
    expect(refused.status).toBe(403);
    expect(refused.body.errors?.[0]?.extensions.code).toBe('SUBGRAPH_NOT_SUBSCRIBED');
    expect(refused.body.errors?.[0]?.message).toMatch(/anonymous callers may not read/);
    const intro = await post(INTROSPECT);
    expect(intro.status).toBe(403);
    expect(intro.body.errors?.[0]?.extensions.code).toBe('FORBIDDEN');
    const analyst = callers.find((c) => c.role === 'analyst')!;
    const full = await post(INTROSPECT, analyst.headers);
    expect(full.status).toBe(200);
    expect(full.body.data.__schema.queryType.fields.length).toBeGreaterThan(20);
  });

  it('introspection mixed with data: the data as usual, the introspection from the caller view', async () => {
    const partner = callers.find((c) => c.role === 'partner')!;
    const mixed = '{ summary: __type(name: "NetworkSummary") { name } solution: __type(name: "ReuseSolution") { name } reuseSolutions { id } }';
    const r = await post(mixed, partner.headers);
    expect(r.status).toBe(200);
    expect(r.body.errors).toBeUndefined();
    // NetworkSummary is alliances' alone: not in this partner's view.
    expect(r.body.data).toEqual({ summary: null, solution: { name: 'ReuseSolution' }, reuseSolutions: expect.any(Array) });
    expect(r.body.data.reuseSolutions).toHaveLength(3);
    const analyst = callers.find((c) => c.role === 'analyst')!;
    const full = await post(mixed, analyst.headers);
    expect(full.body.data.summary).toEqual({ name: 'NetworkSummary' });
    // Inside a fragment a scoped caller's introspection could not be replaced: refused.
    const hidden = await post('{ ...F reuseSolutions { id } } fragment F on Query { __type(name: "NetworkSummary") { name } }', partner.headers);
    expect(hidden.status).toBe(400);
    expect(hidden.body.errors?.[0]?.message).toMatch(/directly on the operation/);
  });
});

describe('subgraphs accept only the gateway', () => {
  it('a direct call without the signed header, or with a forged one, gets 401', async () => {
    for (const sg of SUBGRAPH_NAMES) {
      const none = await stack.subgraphQuery(sg, READS[sg].query, undefined, null);
      expect(none.status).toBe(401);
      expect(none.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      const forged = await fetch(stack.subgraphUrls[sg], {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-ali-gateway-token': 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl' },
        body: JSON.stringify({ query: READS[sg].query }),
      });
      expect(forged.status).toBe(401);
      // Liveness stays open (orchestrators probe it), and says nothing about the data.
      const health = await fetch(new URL('health', stack.subgraphUrls[sg]));
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: 'ok', subgraph: sg });
      // …and a correctly signed one for that subgraph is accepted.
      const signed = await stack.subgraphQuery(sg, READS[sg].query);
      expect(signed.status).toBe(200);
      expect(signed.body.errors).toBeUndefined();
    }
  });

  it('a token signed for one subgraph is refused by another', async () => {
    const { signGatewayToken } = await import('../../../lib/access.ts');
    const token = await signGatewayToken(stack.gatewaySecret, { sub: 'x', role: 'admin', read: '*', write: [] }, 'reuse');
    const res = await fetch(stack.subgraphUrls.funding, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-ali-gateway-token': token },
      body: JSON.stringify({ query: READS.funding.query }),
    });
    expect(res.status).toBe(401);
  });
});

describe('writes through the gateway', () => {
  it("an editor's mutation is audited with the key's name and the request id; a stale version is refused", async () => {
    const editor = callers.find((c) => c.label === 'editor reuse')!;
    // A Comune of Alessandria (006) without an ATOC adoption.
    const taken = new Set(
      (await stack.dbs.reuse.collection('adoptions').find({ solutionId: 'atoc-comune-facile' }).toArray()).map((d) => d['istatCode'] as string),
    );
    const { piedmontMunicipalities } = await import('../../../lib/domain/registry.ts');
    const istatCode = piedmontMunicipalities().find((m) => m.istatCode.startsWith('006') && !taken.has(m.istatCode))!.istatCode;
    const register = `mutation($input: RegisterAdoptionInput!) { registerAdoption(input: $input) { adoption { id version status municipality { name } } } }`;
    const input = { solutionId: 'atoc-comune-facile', municipalityIstatCode: istatCode, status: 'PLANNED', provenance: 'SAMPLE' };
    const r = await stack.query(register, { input }, { ...editor.headers, 'x-request-id': 'req-matrix-write-1' });
    expect(r.body.errors).toBeUndefined();
    const adoption = r.body.data.registerAdoption.adoption;
    expect(adoption).toMatchObject({ id: `atoc-comune-facile:${istatCode}`, version: 1, status: 'PLANNED', municipality: { name: expect.any(String) } });

    const audit = await stack.dbs.reuse.collection('audit').find({ documentId: adoption.id }).toArray();
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actor: 'ed-reuse', role: 'editor', requestId: 'req-matrix-write-1', operation: 'registerAdoption', before: null });

    const change = `mutation($id: ID!, $v: Int!) { changeAdoptionStatus(id: $id, status: IN_PROGRESS, expectedVersion: $v, startedOn: "2024-03-01") { adoption { version status } } }`;
    const [a, b] = await Promise.all([stack.query(change, { id: adoption.id, v: 1 }, editor.headers), stack.query(change, { id: adoption.id, v: 1 }, editor.headers)]);
    const outcomes = [a, b].map((x) => x.body.errors?.[0]?.extensions?.code ?? 'ok').sort();
    expect(outcomes).toEqual(['VERSION_CONFLICT', 'ok']);
    const conflict = [a, b].find((x) => x.body.errors)!;
    expect(conflict.body.errors![0]!.extensions).toMatchObject({ currentVersion: 2 });
    expect(await stack.dbs.reuse.collection('audit').countDocuments({ documentId: adoption.id })).toBe(2);
  });
});

describe('operation resolution', () => {
  it('an unknown or missing operation name is the client’s mistake: 400 OPERATION_RESOLUTION_FAILURE, no subgraph called', async () => {
    stack.resetCounters();
    const res = await fetch(`${stack.gatewayUrl}graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: GRAPHQL_ACCEPT },
      body: JSON.stringify({ query: 'query A { provinces { code } }', operationName: 'B' }),
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { errors: { message: string; extensions: { code: string } }[] };
    expect(body.errors[0]).toMatchObject({ message: 'Unknown operation named "B".', extensions: { code: 'OPERATION_RESOLUTION_FAILURE' } });
    const two = await stack.query('query A { provinces { code } } query C { committees { id } }');
    expect(two.status).toBe(400);
    expect(two.body.errors?.[0]?.extensions?.code).toBe('OPERATION_RESOLUTION_FAILURE');
    expect(stack.subgraphCalls).toEqual([]);
  });
});
