/**
 * The governance subgraph through the gateway: the published institutions and committees (fact governance-committees),
 * the SAMPLE seats, meetings and RUPAR facilitators (fact rupar-facilitators), the fields it contributes to the
 * alliances subgraph's Alliance and Municipality, pagination, errors and batching.
 */
import { readFileSync } from 'node:fs';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { PROVINCES, piedmontMunicipalities } from '../../lib/domain/registry.ts';
import { governance } from '../../subgraphs/governance/server.ts';
import { startStack, type Stack } from '../helpers/stack.ts';

const op = (name: string) => readFileSync(new URL(`./operations/governance/${name}.graphql`, import.meta.url), 'utf8');

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
}, 180_000);
afterAll(async () => {
  await stack?.stop();
});

const codes = (res: { body: { errors?: { extensions?: { code?: string } }[] } }) => (res.body.errors ?? []).map((e) => e.extensions?.code);

/** Commands one operation sends to the governance database, by command and collection. */
async function governanceCommands(query: string, variables?: Record<string, unknown>): Promise<string[]> {
  stack.resetCounters();
  const res = await stack.query(query, variables);
  expect(res.body.errors).toBeUndefined();
  return stack.commands.filter((c) => c.subgraph === 'governance').map((c) => `${c.commandName} ${c.collection ?? ''}`).sort();
}

describe('institutions (published)', () => {
  it('lists the seven institutions the source names, with their exact names', async () => {
    const res = await stack.query(op('institutions'));
    expect(res.body.errors).toBeUndefined();
    const list = res.body.data.institutions as Record<string, unknown>[];
    expect(list.map((i) => [i.id, i.italianName, i.acronym, i.kind])).toEqual([
      ['regione-piemonte', 'Regione Piemonte', null, 'REGION'],
      ['mit', "Ministero per l'Innovazione e le Tecnologie", 'MIT', 'MINISTRY'],
      ['mef', "Ministero dell'Economia e delle Finanze", 'MEF', 'MINISTRY'],
      ['mise', 'Ministero per lo Sviluppo Economico', 'MiSE', 'MINISTRY'],
      ['cnipa', "Centro Nazionale per l'Informatica nella Pubblica Amministrazione", 'CNIPA', 'NATIONAL_AGENCY'],
      ['cipe', 'Comitato Interministeriale per la Programmazione Economica', 'CIPE', 'INTERMINISTERIAL_COMMITTEE'],
      ['citta-di-torino', 'Città di Torino', null, 'MUNICIPALITY'],
    ]);
    expect(new Set(list.map((i) => i.provenance))).toEqual(new Set(['PUBLISHED']));
    const role = (id: string) => list.find((i) => i.id === id)!.role as string;
    // Facts first-supplementary-act and fourth-supplementary-act: the signatories and dates of the
    // 1st and 4th Supplementary Acts.
    expect(role('mit')).toContain('1st Supplementary Act');
    expect(role('mit')).toContain('2005-06-27');
    expect(role('mef')).toContain('2005-06-27');
    expect(role('mise')).toContain('4th Supplementary Act');
    expect(role('mise')).toContain('2009-12-22');
    expect(role('cnipa')).toContain('2009-12-22');
    expect(role('cipe')).toContain('19/2004');
    expect(role('cipe')).toContain('€3,890,700.00');
    expect(role('citta-di-torino')).toContain('ATOC Comune Facile');
  });

  it('finds one institution by id', async () => {
    const res = await stack.query(op('institution'), { id: 'cnipa' });
    expect(res.body).toEqual({ data: { institution: { id: 'cnipa', name: expect.any(String), acronym: 'CNIPA', kind: 'NATIONAL_AGENCY' } } });
  });

  it('fails with NOT_FOUND for an unknown id and BAD_USER_INPUT for a malformed one', async () => {
    const unknown = await stack.query(op('institution'), { id: 'agid' });
    expect(unknown.body.data).toEqual({ institution: null });
    expect(codes(unknown)).toEqual(['NOT_FOUND']);
    const malformed = await stack.query(op('institution'), { id: 'CNIPA!' });
    expect(codes(malformed)).toEqual(['BAD_USER_INPUT']);
  });
});

describe('committees (governance-committees)', () => {
  it('has the two published committees with their mandates, and SAMPLE seats completed by alliances', async () => {
    const res = await stack.query(op('committees'));
    expect(res.body.errors).toBeUndefined();
    const [steering, guidance] = res.body.data.committees;
    expect(steering).toMatchObject({
      id: 'steering-committee',
      kind: 'STEERING',
      name: 'Steering Committee',
      italianName: 'Comitato di Pilotaggio',
      provenance: 'PUBLISHED',
    });
    expect(steering.mandate).toMatch(/representatives of the small Comuni/);
    expect(steering.mandate).toMatch(/needs of the Entities/);
    expect(guidance).toMatchObject({
      id: 'regional-guidance-committee',
      kind: 'REGIONAL_GUIDANCE',
      name: 'Regional Guidance Committee',
      italianName: 'Comitato Guida Regionale',
      provenance: 'PUBLISHED',
    });
    expect(guidance.mandate).toMatch(/consistent with regional planning/);

    // Steering Committee: for each ALI, its first small member Comune in ISTAT order.
    const registry = piedmontMunicipalities();
    const expected = PROVINCES.map((p) => {
      const m = registry.find((c) => c.small && c.allianceId === p.allianceId)!;
      return { istatCode: m.istatCode, name: m.name, province: p.name, allianceId: p.allianceId };
    });
    expect(steering.members).toHaveLength(8);
    steering.members.forEach((seat: any, i: number) => {
      const e = expected[i]!;
      expect(seat).toMatchObject({
        id: `steering-committee:${e.istatCode}`,
        role: `Representative of the small Comuni of ALI ${e.province}`,
        provenance: 'SAMPLE',
        committee: { id: 'steering-committee' },
      });
      expect(seat.member).toEqual({
        __typename: 'Municipality',
        istatCode: e.istatCode,
        name: e.name,
        isSmall: true,
        province: { name: e.province },
        membership: { alliance: { id: e.allianceId } },
        committeeSeats: [{ id: `steering-committee:${e.istatCode}`, committee: { kind: 'STEERING' } }],
      });
    });
    expect(guidance.members).toEqual([
      {
        id: 'regional-guidance-committee:regione-piemonte',
        role: 'Chair (sample)',
        provenance: 'SAMPLE',
        committee: { id: 'regional-guidance-committee' },
        member: { __typename: 'Institution', id: 'regione-piemonte', name: 'Piedmont Region', kind: 'REGION' },
      },
    ]);
  });

  it('fails with NOT_FOUND for an unknown committee and BAD_USER_INPUT for a malformed id', async () => {
    const ok = await stack.query(op('committee'), { id: 'regional-guidance-committee' });
    expect(ok.body.data.committee.kind).toBe('REGIONAL_GUIDANCE');
    const unknown = await stack.query(op('committee'), { id: 'executive-committee' });
    expect(unknown.body.data).toEqual({ committee: null });
    expect(codes(unknown)).toEqual(['NOT_FOUND']);
    expect(codes(await stack.query(op('committee'), { id: '' }))).toEqual(['BAD_USER_INPUT']);
  });

  it('gives a Comune its seats, and none to a Comune without one', async () => {
    const seat = await stack.query(op('municipalitySeats'), { istatCode: '001001' });
    expect(seat.body.errors).toBeUndefined();
    expect(seat.body.data.municipality.committeeSeats).toEqual([
      {
        id: 'steering-committee:001001',
        role: 'Representative of the small Comuni of ALI Torino',
        provenance: 'SAMPLE',
        committee: { id: 'steering-committee', name: 'Steering Committee' },
      },
    ]);
    const none = await stack.query(op('municipalitySeats'), { istatCode: '001272' });
    expect(none.body.data.municipality).toMatchObject({ name: 'Torino', committeeSeats: [] });
  });
});

describe('meetings (SAMPLE)', () => {
  it('pages through a committee’s meetings newest first', async () => {
    const first = await stack.query(op('committeeMeetings'), { id: 'steering-committee', first: 2 });
    expect(first.body.errors).toBeUndefined();
    const page1 = first.body.data.committee.meetings;
    expect(page1.totalCount).toBe(3);
    expect(page1.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
    expect(page1.edges.map((e: any) => e.node.date)).toEqual(['2010-01-27', '2009-02-18']);
    for (const { node } of page1.edges) {
      expect(node.title).toMatch(/^Sample meeting: /);
      expect(node.provenance).toBe('SAMPLE');
      expect(node.committee).toEqual({ id: 'steering-committee' });
      expect(node.decisions.length).toBeGreaterThan(0);
      node.decisions.forEach((d: any, i: number) => {
        expect(d.number).toBe(i + 1);
        expect(d.summary).toMatch(/^Sample decision: /);
      });
    }
    expect(page1.pageInfo.endCursor).toBe(page1.edges[1].cursor);

    const next = await stack.query(op('committeeMeetings'), { id: 'steering-committee', first: 2, after: page1.pageInfo.endCursor });
    const page2 = next.body.data.committee.meetings;
    expect(page2.edges.map((e: any) => e.node.date)).toEqual(['2008-03-12']);
    expect(page2.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true });
  });

  it('rejects malformed cursors and out-of-range page sizes', async () => {
    const vars = { id: 'steering-committee' };
    expect(codes(await stack.query(op('committeeMeetings'), { ...vars, after: 'not a cursor' }))).toEqual(['INVALID_CURSOR']);
    // A cursor of another connection (facilitators by name) is not a meetings cursor.
    const fac = await stack.query(op('facilitators'), { first: 1 });
    const foreign = fac.body.data.facilitators.pageInfo.endCursor;
    expect(codes(await stack.query(op('committeeMeetings'), { ...vars, after: foreign }))).toEqual(['INVALID_CURSOR']);
    expect(codes(await stack.query(op('committeeMeetings'), { ...vars, first: 0 }))).toEqual(['PAGE_SIZE_OUT_OF_RANGE']);
    // 501 meetings of up to 50 decisions each are over the anonymous cost limit: an analyst's reaches the subgraph.
    const analyst = { 'x-api-key': await stack.createKey({ name: 'analyst-meetings', role: 'analyst' }) };
    expect(codes(await stack.query(op('committeeMeetings'), { ...vars, first: 501 }, analyst))).toEqual(['PAGE_SIZE_OUT_OF_RANGE']);
  });

  it('loads the meetings of every committee in one find and counts them in one aggregation', async () => {
    const cmds = await governanceCommands(op('allCommitteeMeetings'), { first: 5 });
    expect(cmds).toEqual(['aggregate meetings', 'find committees', 'find meetings']);
    const res = await stack.query(op('allCommitteeMeetings'), { first: 5 });
    expect(res.body.data.committees.map((c: any) => [c.id, c.meetings.totalCount, c.meetings.nodes.map((n: any) => n.date)])).toEqual([
      ['steering-committee', 3, ['2010-01-27', '2009-02-18', '2008-03-12']],
      ['regional-guidance-committee', 2, ['2010-02-10', '2008-04-09']],
    ]);
  });
});

describe('RUPAR facilitators (rupar-facilitators, SAMPLE)', () => {
  const ALL_NAMES = ['AL', 'AT', 'BI', 'BI-VC', 'CN', 'NO', 'TO', 'VB', 'VC'].map((a) => `RUPAR facilitator ${a} (sample)`);

  it('pages through every facilitator by name, alliances completed by the alliances subgraph', async () => {
    const names: string[] = [];
    let after: string | null = null;
    const pages: any[] = [];
    do {
      const res: { body: { data?: any; errors?: unknown[] } } = await stack.query(op('facilitators'), { first: 4, after });
      expect(res.body.errors).toBeUndefined();
      const page: any = res.body.data.facilitators;
      pages.push(page);
      names.push(...page.nodes.map((n: any) => n.name));
      after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
    } while (after);
    expect(names).toEqual(ALL_NAMES);
    expect(pages.map((p) => p.nodes.length)).toEqual([4, 4, 1]);
    expect(pages.map((p) => p.pageInfo.hasNextPage)).toEqual([true, true, false]);
    expect(pages.map((p) => p.pageInfo.hasPreviousPage)).toEqual([false, true, true]);
    expect(pages[0].totalCount).toBe(9);
    const all = pages.flatMap((p) => p.nodes);
    expect(new Set(all.map((n: any) => n.provenance))).toEqual(new Set(['SAMPLE']));
    expect(all.find((n: any) => n.id === 'facilitator-bi-vc').alliances).toEqual([
      { id: 'ali-bi', name: 'ALI Biella', province: { abbreviation: 'BI' } },
      { id: 'ali-vc', name: 'ALI Vercelli', province: { abbreviation: 'VC' } },
    ]);
    expect(all.find((n: any) => n.id === 'facilitator-to').alliances).toEqual([
      { id: 'ali-to', name: 'ALI Torino', province: { abbreviation: 'TO' } },
    ]);
  });

  it('filters by ALI and rejects an id that is not one of the eight', async () => {
    const bi = await stack.query(op('facilitators'), { allianceId: 'ali-vc' });
    expect(bi.body.data.facilitators.nodes.map((n: any) => n.id)).toEqual(['facilitator-bi-vc', 'facilitator-vc']);
    expect(bi.body.data.facilitators.totalCount).toBe(2);
    expect(codes(await stack.query(op('facilitators'), { allianceId: 'ali-xx' }))).toEqual(['BAD_USER_INPUT']);
  });

  it('rejects malformed cursors and out-of-range page sizes', async () => {
    expect(codes(await stack.query(op('facilitators'), { after: 'WyJ4Il0' }))).toEqual(['INVALID_CURSOR']);
    expect(codes(await stack.query(op('facilitators'), { after: '%%%' }))).toEqual(['INVALID_CURSOR']);
    expect(codes(await stack.query(op('facilitators'), { first: 0 }))).toEqual(['PAGE_SIZE_OUT_OF_RANGE']);
    expect(codes(await stack.query(op('facilitators'), { first: 501 }))).toEqual(['PAGE_SIZE_OUT_OF_RANGE']);
  });

  it('adds the facilitators to every Alliance, one facilitator serving two', async () => {
    const res = await stack.query(op('allianceFacilitators'));
    expect(res.body.errors).toBeUndefined();
    const byAlliance = Object.fromEntries(res.body.data.alliances.map((a: any) => [a.id, a.facilitators.map((f: any) => f.id)]));
    expect(byAlliance).toEqual({
      'ali-to': ['facilitator-to'],
      'ali-vc': ['facilitator-bi-vc', 'facilitator-vc'],
      'ali-no': ['facilitator-no'],
      'ali-cn': ['facilitator-cn'],
      'ali-at': ['facilitator-at'],
      'ali-al': ['facilitator-al'],
      'ali-bi': ['facilitator-bi', 'facilitator-bi-vc'],
      'ali-vb': ['facilitator-vb'],
    });
    const calls = stack.subgraphCalls;
    expect(calls.some((c) => c.subgraph === 'governance' && c.query.includes('_entities'))).toBe(true);
  });
});

describe('batching', () => {
  it('resolves the facilitators of all eight ALI with one find', async () => {
    stack.resetCounters();
    const res = await stack.query(op('allianceFacilitators'));
    expect(res.body.errors).toBeUndefined();
    const gov = stack.commands.filter((c) => c.subgraph === 'governance');
    expect(gov).toEqual([{ subgraph: 'governance', commandName: 'find', collection: 'facilitators' }]);
    // One _entities request for all eight alliances.
    expect(stack.subgraphCalls.filter((c) => c.subgraph === 'governance')).toHaveLength(1);
  });

  it('costs the same commands for a page of 1 and of 9 facilitators with their alliances', async () => {
    const one = await governanceCommands(op('facilitators'), { first: 1 });
    const nine = await governanceCommands(op('facilitators'), { first: 9 });
    expect(nine).toEqual(one);
    expect(nine).toEqual(['aggregate facilitators', 'find facilitators']);
    // The alliances of all nine go to the alliances subgraph in one request, one find.
    const alliances = stack.commands.filter((c) => c.subgraph === 'alliances' && (c.commandName === 'find' || c.commandName === 'aggregate'));
    expect(alliances.length).toBeLessThanOrEqual(2);
  });

  it('resolves every seat, Comune and institution of both committees in a bounded number of finds', async () => {
    const cmds = await governanceCommands(op('committees'));
    // One request (committeeSeats resolves here, next to the seat): one find per collection per
    // depth: committees, their seats, the seats' committees and institutions, the Comuni's seats,
    // and those seats' committees.
    expect(cmds).toEqual([
      'find committeeMembers',
      'find committeeMembers',
      'find committees',
      'find committees',
      'find committees',
      'find institutions',
    ]);
    expect(stack.subgraphCalls.filter((c) => c.subgraph === 'governance')).toHaveLength(1);
    const alliancesFinds = stack.commands.filter((c) => c.subgraph === 'alliances');
    expect(alliancesFinds.every((c) => c.commandName === 'find')).toBe(true);
    expect(alliancesFinds.length).toBeLessThanOrEqual(3);
  });
});

describe('seed', () => {
  it('is idempotent: a second run inserts nothing', async () => {
    const counts = await governance.seed(stack.dbs.governance);
    expect(counts.map((c) => [c.collection, c.inserted, c.existing])).toEqual([
      ['institutions', 0, 7],
      ['committees', 0, 2],
      ['committeeMembers', 0, 9],
      ['meetings', 0, 5],
      ['facilitators', 0, 9],
    ]);
  });
});
