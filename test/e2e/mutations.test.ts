/**
 * Writes, called on each subgraph directly as the gateway would (signed header for the
 * caller): success (the answer, the stored document, the audit record), validation errors that
 * change nothing, write scope (FORBIDDEN, 401 without a header), and version conflicts between
 * concurrent edits of one record (exactly one wins, one audit record).
 */
import { readFileSync } from 'node:fs';
import type { Db } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Caller } from '../../lib/access.ts';
import type { SubgraphName } from '../../lib/config.ts';
import { piedmontMunicipalities } from '../../lib/domain/registry.ts';
import { AUDIT, type AuditDoc } from '../../lib/writes.ts';
import { startStack, type GraphQLResponseError, type QueryResult, type Stack } from '../helpers/stack.ts';
import { adoptionDocs } from '../../subgraphs/reuse/data/seed.ts';
import { meetingDocs } from '../../subgraphs/governance/data/seed.ts';

const op = (name: string) => readFileSync(new URL(`./operations/mutations/${name}.graphql`, import.meta.url), 'utf8');
const REGISTER_ADOPTION = op('registerAdoption');
const CHANGE_ADOPTION_STATUS = op('changeAdoptionStatus');
const RECORD_MEETING = op('recordMeeting');
const AMEND_MEETING = op('amendMeeting');
const ADD_FUNDED_PROJECT = op('addFundedProject');
const AMEND_FUNDED_PROJECT = op('amendFundedProject');
const CHANGE_MEMBERSHIP = op('changeMembership');

const editor = (subgraph: SubgraphName): Caller => ({ sub: `editor-${subgraph}`, role: 'editor', read: '*', write: [subgraph] });
const ANALYST: Caller = { sub: 'analyst-1', role: 'analyst', read: '*', write: [] };
/** An admin is not an editor: writes need the editor role (lib/access.ts canWrite). */
const ADMIN: Caller = { sub: 'admin-1', role: 'admin', read: '*', write: ['reuse', 'governance', 'funding', 'alliances'] };

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

function errorOf(res: QueryResult<unknown>): GraphQLResponseError {
  expect(res.body.errors, JSON.stringify(res.body)).toHaveLength(1);
  return res.body.errors![0]!;
}

function ok<T>(res: QueryResult<T>): T {
  expect(res.body.errors, JSON.stringify(res.body.errors)).toBeUndefined();
  expect(res.status).toBe(200);
  return res.body.data!;
}

function auditOf(db: Db, documentId: string): Promise<AuditDoc[]> {
  return db.collection<AuditDoc>(AUDIT).find({ documentId }, { sort: { version: 1 } }).toArray();
}

/** Everything a failed write must leave untouched: the collection's documents and the audit trail. */
async function snapshot(db: Db, collection: string): Promise<unknown> {
  const [docs, audit] = await Promise.all([
    db.collection(collection).find({}, { sort: { _id: 1 } }).toArray(),
    db.collection(AUDIT).find({}, { sort: { _id: 1 } }).toArray(),
  ]);
  return { docs, audit };
}

/** Runs each failing call and checks its code (and argument) and that nothing changed. */
async function expectRejected(
  db: Db,
  collection: string,
  cases: readonly { run: () => Promise<QueryResult<unknown>>; code: string; argument?: string; message?: RegExp }[],
): Promise<void> {
  const before = await snapshot(db, collection);
  for (const c of cases) {
    const e = errorOf(await c.run());
    expect(e.extensions?.code, e.message).toBe(c.code);
    // Our checks name the argument in extensions.argument; a malformed Money or Date variable is
    // refused while the variables are coerced, with the path in the message (`at "input.totalValue"`).
    if (c.argument && e.extensions?.argument !== undefined) expect(e.extensions.argument).toBe(c.argument);
    else if (c.argument) expect(e.message).toContain(`at "${c.argument}"`);
    if (c.message) expect(e.message).toMatch(c.message);
  }
  expect(await snapshot(db, collection)).toEqual(before);
}

/** Runs `n` calls at once; returns the successes and the error codes. */
async function race(n: number, run: (i: number) => Promise<QueryResult<unknown>>) {
  const results = await Promise.all(Array.from({ length: n }, (_, i) => run(i)));
  return {
    wins: results.filter((r) => !r.body.errors),
    conflicts: results.filter((r) => r.body.errors?.[0]?.extensions?.code === 'VERSION_CONFLICT'),
    results,
  };
}

const seededAdoptions = new Set(adoptionDocs().map((a) => a._id));
/** A Comune of `province` with no seeded adoption of `solutionId`, the `nth` such. */
function comuneWithout(solutionId: string, province: string, nth = 0): string {
  return piedmontMunicipalities().filter((m) => m.provinceCode === province && !seededAdoptions.has(`${solutionId}:${m.istatCode}`))[nth]!.istatCode;
}

describe('reuse: registerAdoption and changeAdoptionStatus', () => {
  it('registers an adoption at version 1 with its audit record', async () => {
    const istatCode = comuneWithout('atoc-comune-facile', '004');
    const input = { solutionId: 'atoc-comune-facile', municipalityIstatCode: istatCode, status: 'ACTIVE', startedOn: '2011-05-02', provenance: 'PUBLISHED' };
    const data = ok(await stack.subgraphQuery('reuse', REGISTER_ADOPTION, { input }, editor('reuse')));
    const id = `atoc-comune-facile:${istatCode}`;
    expect(data.registerAdoption.adoption).toEqual({
      id,
      status: 'ACTIVE',
      startedOn: '2011-05-02',
      provenance: 'PUBLISHED',
      version: 1,
      solution: { id: 'atoc-comune-facile' },
      municipality: { istatCode },
    });
    const doc = await stack.dbs.reuse.collection('adoptions').findOne({ _id: id } as never);
    expect(doc).toEqual({ _id: id, solutionId: 'atoc-comune-facile', istatCode, provinceCode: '004', status: 'ACTIVE', startedOn: '2011-05-02', provenance: 'PUBLISHED', version: 1 });
    const audit = await auditOf(stack.dbs.reuse, id);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      actor: 'editor-reuse',
      role: 'editor',
      requestId: null,
      subgraph: 'reuse',
      operation: 'registerAdoption',
      collection: 'adoptions',
      documentId: id,
      version: 1,
      before: null,
      after: doc,
    });
    expect(Date.now() - audit[0]!.at.getTime()).toBeLessThan(60_000);
  });

  it('rejects bad input with a coded error naming the argument, and changes nothing', async () => {
    const base = { solutionId: 'sigma-ter-piemonte', municipalityIstatCode: comuneWithout('sigma-ter-piemonte', '001'), provenance: 'SAMPLE' };
    const seeded = adoptionDocs()[0]!;
    const register = (input: Record<string, unknown>) => () => stack.subgraphQuery('reuse', REGISTER_ADOPTION, { input: { ...base, ...input } }, editor('reuse'));
    await expectRejected(stack.dbs.reuse, 'adoptions', [
      { run: register({ solutionId: 'no-such-solution' }), code: 'BAD_USER_INPUT', argument: 'input.solutionId' },
      { run: register({ municipalityIstatCode: '12345' }), code: 'BAD_USER_INPUT', argument: 'input.municipalityIstatCode' },
      // Milan: a real ISTAT code, not a Comune of Piedmont.
      { run: register({ municipalityIstatCode: '015146' }), code: 'BAD_USER_INPUT', argument: 'input.municipalityIstatCode' },
      { run: register({ status: 'PLANNED', startedOn: '2012-01-01' }), code: 'BAD_USER_INPUT', argument: 'input.startedOn' },
      { run: register({ status: 'ACTIVE', startedOn: '1999-12-31' }), code: 'BAD_USER_INPUT', argument: 'input.startedOn' },
      { run: register({ status: 'ACTIVE', startedOn: '2199-01-01' }), code: 'BAD_USER_INPUT', argument: 'input.startedOn' },
      { run: register({ provenance: 'DERIVED' }), code: 'BAD_USER_INPUT', argument: 'input.provenance' },
      {
        run: register({ solutionId: seeded.solutionId, municipalityIstatCode: seeded.istatCode }),
        code: 'ALREADY_EXISTS',
      },
      // Not an editor, an editor of another subgraph, an admin: FORBIDDEN.
      { run: () => stack.subgraphQuery('reuse', REGISTER_ADOPTION, { input: base }, ANALYST), code: 'FORBIDDEN' },
      { run: () => stack.subgraphQuery('reuse', REGISTER_ADOPTION, { input: base }, editor('funding')), code: 'FORBIDDEN' },
      { run: () => stack.subgraphQuery('reuse', REGISTER_ADOPTION, { input: base }, ADMIN), code: 'FORBIDDEN' },
    ]);
  });

  it('answers HTTP 401 to a write without the gateway header, and changes nothing', async () => {
    const input = { solutionId: 'sigma-ter-piemonte', municipalityIstatCode: comuneWithout('sigma-ter-piemonte', '001'), provenance: 'SAMPLE' };
    const before = await snapshot(stack.dbs.reuse, 'adoptions');
    const res = await stack.subgraphQuery('reuse', REGISTER_ADOPTION, { input }, null);
    expect(res.status).toBe(401);
    expect(errorOf(res).extensions?.code).toBe('UNAUTHENTICATED');
    expect(await snapshot(stack.dbs.reuse, 'adoptions')).toEqual(before);
  });

  it('changes the status of a seeded adoption (version 0 → 1), then refuses the stale version', async () => {
    const seeded = adoptionDocs().find((a) => a.status === 'PLANNED')!;
    const change = (status: string, expectedVersion: number, startedOn?: string) =>
      stack.subgraphQuery('reuse', CHANGE_ADOPTION_STATUS, { id: seeded._id, status, expectedVersion, startedOn }, editor('reuse'));
    const data = ok(await change('IN_PROGRESS', 0, '2012-03-01'));
    expect(data.changeAdoptionStatus.adoption).toEqual({ id: seeded._id, status: 'IN_PROGRESS', startedOn: '2012-03-01', provenance: 'SAMPLE', version: 1 });
    const [entry] = await auditOf(stack.dbs.reuse, seeded._id);
    expect(entry).toMatchObject({ operation: 'changeAdoptionStatus', version: 1, before: { ...seeded }, after: { ...seeded, status: 'IN_PROGRESS', startedOn: '2012-03-01', version: 1 } });

    await expectRejected(stack.dbs.reuse, 'adoptions', [
      { run: () => change('ACTIVE', 0), code: 'VERSION_CONFLICT' },
      { run: () => change('PLANNED', 1), code: 'BAD_USER_INPUT', argument: 'status' },
      { run: () => change('IN_PROGRESS', 1), code: 'BAD_USER_INPUT', argument: 'status' },
      { run: () => change('ACTIVE', 1, '2300-01-01'), code: 'BAD_USER_INPUT', argument: 'startedOn' },
      { run: () => change('ACTIVE', -1), code: 'BAD_USER_INPUT', argument: 'expectedVersion' },
      {
        run: () => stack.subgraphQuery('reuse', CHANGE_ADOPTION_STATUS, { id: 'atoc-comune-facile:999999', status: 'ACTIVE', expectedVersion: 0 }, editor('reuse')),
        code: 'NOT_FOUND',
        argument: 'id',
      },
      { run: () => stack.subgraphQuery('reuse', CHANGE_ADOPTION_STATUS, { id: seeded._id, status: 'ACTIVE', expectedVersion: 1 }, editor('governance')), code: 'FORBIDDEN' },
    ]);
    const conflict = errorOf(await change('ACTIVE', 0));
    expect(conflict.extensions).toMatchObject({ code: 'VERSION_CONFLICT', currentVersion: 1, expectedVersion: 0, id: seeded._id });
  });

  it('lets exactly one of several concurrent edits of the same version win', async () => {
    const seeded = adoptionDocs().filter((a) => a.status === 'IN_PROGRESS')[3]!;
    // Every writer of a round asks for a valid change (ACTIVE ↔ DISCONTINUED), each with its own start date.
    const statuses = ['ACTIVE', 'DISCONTINUED'];
    for (let round = 0; round < 3; round++) {
      const { wins, conflicts } = await race(6, (i) =>
        stack.subgraphQuery(
          'reuse',
          CHANGE_ADOPTION_STATUS,
          { id: seeded._id, status: statuses[round % 2], startedOn: `2012-0${round + 1}-0${i + 1}`, expectedVersion: round },
          editor('reuse'),
        ),
      );
      expect(wins).toHaveLength(1);
      expect(conflicts).toHaveLength(5);
      for (const c of conflicts) expect(c.body.errors![0]!.extensions?.currentVersion).toBe(round + 1);
      const winner = (wins[0]!.body.data as { changeAdoptionStatus: { adoption: { startedOn: string; version: number } } }).changeAdoptionStatus.adoption;
      const doc = await stack.dbs.reuse.collection('adoptions').findOne({ _id: seeded._id } as never);
      expect(doc).toMatchObject({ status: statuses[round % 2], startedOn: winner.startedOn, version: round + 1 });
      const audit = await auditOf(stack.dbs.reuse, seeded._id);
      expect(audit.map((a) => a.version)).toEqual(Array.from({ length: round + 1 }, (_, k) => k + 1));
      expect(audit[round]!.after).toEqual(doc);
    }
  });
  // The failure window of lib/writes.ts: a writer died after its audit record (the claim) and
  // before writing the document. The next writer rolls the logged change forward.
  it('rolls forward a change whose writer died between the audit record and the document write', async () => {
    const seeded = adoptionDocs().filter((a) => a.status === 'ACTIVE')[5]!;
    const after = { ...seeded, status: 'DISCONTINUED', version: 1 };
    const orphan = {
      _id: `adoptions/${seeded._id}@1`,
      at: new Date(Date.now() - 60_000),
      actor: 'editor-crashed',
      role: 'editor',
      requestId: null,
      subgraph: 'reuse',
      operation: 'changeAdoptionStatus',
      collection: 'adoptions',
      documentId: seeded._id,
      version: 1,
      before: seeded,
      after,
    };
    await stack.dbs.reuse.collection(AUDIT).insertOne(orphan as never);
    const change = (expectedVersion: number) =>
      stack.subgraphQuery('reuse', CHANGE_ADOPTION_STATUS, { id: seeded._id, status: 'IN_PROGRESS', expectedVersion }, editor('reuse'));
    const conflict = errorOf(await change(0));
    expect(conflict.extensions).toMatchObject({ code: 'VERSION_CONFLICT', currentVersion: 1 });
    expect(await stack.dbs.reuse.collection('adoptions').findOne({ _id: seeded._id } as never)).toEqual(after);
    const data = ok(await change(1));
    expect(data.changeAdoptionStatus.adoption).toMatchObject({ status: 'IN_PROGRESS', version: 2 });
    expect((await auditOf(stack.dbs.reuse, seeded._id)).map((e) => [e.version, e.actor])).toEqual([
      [1, 'editor-crashed'],
      [2, 'editor-reuse'],
    ]);
  });
});

describe('governance: recordMeeting and amendMeeting', () => {
  it('records a meeting with numbered decisions, then amends it', async () => {
    const input = {
      committeeId: 'steering-committee',
      date: '2011-06-15',
      title: '  Review of the help desks  ',
      decisions: [{ summary: 'extend the opening hours' }, { summary: 'report at the next meeting' }],
      provenance: 'SAMPLE',
    };
    const data = ok(await stack.subgraphQuery('governance', RECORD_MEETING, { input }, editor('governance')));
    expect(data.recordMeeting.meeting).toEqual({
      id: 'steering-committee:2011-06-15',
      date: '2011-06-15',
      title: 'Review of the help desks',
      decisions: [
        { number: 1, summary: 'extend the opening hours' },
        { number: 2, summary: 'report at the next meeting' },
      ],
      provenance: 'SAMPLE',
      version: 1,
      committee: { id: 'steering-committee', kind: 'STEERING' },
    });
    const id = 'steering-committee:2011-06-15';
    const doc = await stack.dbs.governance.collection('meetings').findOne({ _id: id } as never);
    expect(doc).toMatchObject({ committeeId: 'steering-committee', date: '2011-06-15', version: 1 });

    const amended = ok(
      await stack.subgraphQuery('governance', AMEND_MEETING, { id, expectedVersion: 1, changes: { decisions: [{ summary: 'extend the opening hours to Saturdays' }] } }, editor('governance')),
    );
    expect(amended.amendMeeting.meeting).toEqual({
      id,
      date: '2011-06-15',
      title: 'Review of the help desks',
      decisions: [{ number: 1, summary: 'extend the opening hours to Saturdays' }],
      version: 2,
    });
    const audit = await auditOf(stack.dbs.governance, id);
    expect(audit.map((a) => [a.operation, a.version, a.actor])).toEqual([
      ['recordMeeting', 1, 'editor-governance'],
      ['amendMeeting', 2, 'editor-governance'],
    ]);
    expect(audit[1]!.before).toEqual(doc);
    expect(audit[1]!.after).toEqual(await stack.dbs.governance.collection('meetings').findOne({ _id: id } as never));
    // The committee's meeting list shows it, newest first among the seeded ones.
    const list = ok(await stack.subgraphQuery('governance', `{ committee(id: "steering-committee") { meetings(first: 10) { nodes { id version } } } }`));
    expect(list.committee.meetings.nodes).toContainEqual({ id, version: 2 });
  });

  it('rejects bad meetings and stale amendments, changing nothing', async () => {
    const base = { committeeId: 'regional-guidance-committee', date: '2012-02-02', title: 'Budget', decisions: [], provenance: 'SAMPLE' };
    const seeded = meetingDocs()[0]!;
    const record = (input: Record<string, unknown>, caller = editor('governance')) => () =>
      stack.subgraphQuery('governance', RECORD_MEETING, { input: { ...base, ...input } }, caller);
    const amend = (expectedVersion: number, changes: Record<string, unknown>, id = seeded._id, caller = editor('governance')) => () =>
      stack.subgraphQuery('governance', AMEND_MEETING, { id, expectedVersion, changes }, caller);
    await expectRejected(stack.dbs.governance, 'meetings', [
      { run: record({ committeeId: 'no-such-committee' }), code: 'BAD_USER_INPUT', argument: 'input.committeeId' },
      { run: record({ committeeId: 'Not A Slug' }), code: 'BAD_USER_INPUT', argument: 'input.committeeId' },
      { run: record({ date: '2002-12-31' }), code: 'BAD_USER_INPUT', argument: 'input.date' },
      { run: record({ date: '2150-06-01' }), code: 'BAD_USER_INPUT', argument: 'input.date' },
      { run: record({ title: '   ' }), code: 'BAD_USER_INPUT', argument: 'input.title' },
      { run: record({ title: 'x'.repeat(201) }), code: 'BAD_USER_INPUT', argument: 'input.title' },
      { run: record({ decisions: [{ summary: 'ok' }, { summary: '' }] }), code: 'BAD_USER_INPUT', argument: 'input.decisions[1].summary' },
      { run: record({ provenance: 'DERIVED' }), code: 'BAD_USER_INPUT', argument: 'input.provenance' },
      { run: record({ committeeId: seeded.committeeId, date: seeded.date }), code: 'ALREADY_EXISTS' },
      { run: record({}, ANALYST), code: 'FORBIDDEN' },
      { run: record({}, editor('reuse')), code: 'FORBIDDEN' },
      { run: amend(0, {}), code: 'BAD_USER_INPUT', argument: 'changes' },
      { run: amend(3, { title: 'New title' }), code: 'VERSION_CONFLICT' },
      { run: amend(0, { title: 'New title' }, 'steering-committee:1990-01-01'), code: 'NOT_FOUND', argument: 'id' },
      { run: amend(0, { title: 'New title' }, seeded._id, editor('funding')), code: 'FORBIDDEN' },
    ]);
  });

  it('creates a meeting once when two editors record it at the same time', async () => {
    const input = { committeeId: 'regional-guidance-committee', date: '2013-09-09', title: 'Plan', decisions: [], provenance: 'SAMPLE' };
    const results = await Promise.all([0, 1].map(() => stack.subgraphQuery('governance', RECORD_MEETING, { input }, editor('governance'))));
    expect(results.map((r) => r.body.errors?.[0]?.extensions?.code ?? 'ok').sort()).toEqual(['ALREADY_EXISTS', 'ok']);
    expect(await auditOf(stack.dbs.governance, 'regional-guidance-committee:2013-09-09')).toHaveLength(1);
  });

  it('lets exactly one of two concurrent amendments win', async () => {
    const seeded = meetingDocs()[1]!;
    const { wins, conflicts } = await race(2, (i) =>
      stack.subgraphQuery('governance', AMEND_MEETING, { id: seeded._id, expectedVersion: 0, changes: { title: `Title ${i}` } }, editor('governance')),
    );
    expect(wins).toHaveLength(1);
    expect(conflicts).toHaveLength(1);
    expect(conflicts[0]!.body.errors![0]!.extensions?.currentVersion).toBe(1);
    const audit = await auditOf(stack.dbs.governance, seeded._id);
    expect(audit).toHaveLength(1);
    expect(audit[0]!.after).toEqual(await stack.dbs.governance.collection('meetings').findOne({ _id: seeded._id } as never));
  });
});

describe('funding: addFundedProject and amendFundedProject', () => {
  const reuseInput = {
    agreementId: 'apq-act-4',
    callId: 'cnipa-2007-reuse',
    reuseSolutionId: 'atoc-comune-facile',
    title: 'ATOC Comune Facile reuse project',
    totalValue: '100000.50',
    cofinancing: '40000.20',
    statedRateLabel: '40%',
    provenance: 'SAMPLE',
    provenanceNote: 'Test project',
  };

  it('adds a project with exact amounts, stored as Int64 cents and audited', async () => {
    const data = ok(await stack.subgraphQuery('funding', ADD_FUNDED_PROJECT, { input: reuseInput }, editor('funding')));
    expect(data.addFundedProject.project).toEqual({
      id: 'apq-act-4-atoc-comune-facile',
      title: 'ATOC Comune Facile reuse project',
      totalValue: '100000.50',
      cofinancing: '40000.20',
      otherFunding: '60000.30',
      cofinancingPercent: '40.000',
      statedRateLabel: '40%',
      provenance: 'SAMPLE',
      provenanceNote: 'Test project',
      version: 1,
      agreement: { id: 'apq-act-4' },
      call: { id: 'cnipa-2007-reuse' },
      cofinancedBy: { id: 'cnipa' },
      beneficiary: { __typename: 'ReuseSolution', id: 'atoc-comune-facile' },
    });
    const doc = await stack.dbs.funding.collection('funded_projects').findOne({ _id: 'apq-act-4-atoc-comune-facile' } as never);
    expect(doc).toMatchObject({ totalValue: 10000050n, cofinancing: 4000020n, allianceId: null, beneficiaryType: 'ReuseSolution', estimateGroup: null, version: 1 });
    const audit = await auditOf(stack.dbs.funding, 'apq-act-4-atoc-comune-facile');
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actor: 'editor-funding', operation: 'addFundedProject', collection: 'funded_projects', before: null, after: doc });
  });

  it('rejects negative, non-exact and inconsistent amounts and unknown references, changing nothing', async () => {
    const add = (input: Record<string, unknown>, caller = editor('funding')) => () =>
      stack.subgraphQuery('funding', ADD_FUNDED_PROJECT, { input: { ...reuseInput, reuseSolutionId: 'sigma-ter-piemonte', agreementId: 'apq-act-4', ...input } }, caller);
    await expectRejected(stack.dbs.funding, 'funded_projects', [
      { run: add({ cofinancing: '-1.00' }), code: 'BAD_USER_INPUT', argument: 'input.cofinancing' },
      { run: add({ totalValue: '0.00' }), code: 'BAD_USER_INPUT', argument: 'input.totalValue' },
      { run: add({ totalValue: '1000.005' }), code: 'BAD_USER_INPUT', argument: 'input.totalValue' },
      { run: add({ totalValue: 1000 }), code: 'BAD_USER_INPUT', argument: 'input.totalValue' },
      { run: add({ cofinancing: '100000.51' }), code: 'BAD_USER_INPUT', argument: 'input.cofinancing' },
      { run: add({ agreementId: 'no-such-act' }), code: 'BAD_USER_INPUT', argument: 'input.agreementId' },
      { run: add({ agreementId: 'apq-egov-piemonte' }), code: 'BAD_USER_INPUT', argument: 'input.agreementId' },
      { run: add({ agreementId: 'apq-act-1' }), code: 'BAD_USER_INPUT', argument: 'input.callId' },
      { run: add({ callId: 'no-such-call' }), code: 'BAD_USER_INPUT', argument: 'input.callId' },
      { run: add({ reuseSolutionId: 'no-such-solution' }), code: 'BAD_USER_INPUT', argument: 'input.reuseSolutionId' },
      { run: add({ allianceId: 'ali-cn' }), code: 'BAD_USER_INPUT', argument: 'input.reuseSolutionId' },
      { run: add({ reuseSolutionId: null, allianceId: 'ali-cn' }), code: 'BAD_USER_INPUT', argument: 'input.reuseSolutionId' },
      { run: add({ reuseSolutionId: null, allianceId: 'ali-xx', callId: 'cnipa-2007-ali-cofinancing' }), code: 'BAD_USER_INPUT', argument: 'input.allianceId' },
      { run: add({ provenance: 'DERIVED' }), code: 'BAD_USER_INPUT', argument: 'input.provenance' },
      // Fact ali-projects-funded: the 8 ALI projects are published in full.
      { run: add({ reuseSolutionId: null, allianceId: 'ali-cn', callId: 'cnipa-2007-ali-cofinancing' }), code: 'CONTRADICTS_PUBLISHED_FACT', argument: 'input.callId' },
      // Fact sigma-ter-project: the act already funds Sigma Ter Piemonte.
      { run: add({}), code: 'ALREADY_EXISTS' },
      { run: add({}, ANALYST), code: 'FORBIDDEN' },
      { run: add({}, editor('alliances')), code: 'FORBIDDEN' },
    ]);
  });

  it('amends the amounts of an entered project; published facts and parts of a published total stay', async () => {
    const id = 'apq-act-4-atoc-comune-facile';
    const amend = (pid: string, expectedVersion: number, changes: Record<string, unknown>, caller = editor('funding')) => () =>
      stack.subgraphQuery('funding', AMEND_FUNDED_PROJECT, { id: pid, expectedVersion, changes }, caller);
    const data = ok(await amend(id, 1, { totalValue: '120000.00', cofinancing: '48000.00' })());
    expect(data.amendFundedProject.project).toMatchObject({ id, totalValue: '120000.00', cofinancing: '48000.00', cofinancingPercent: '40.000', version: 2 });
    const audit = await auditOf(stack.dbs.funding, id);
    expect(audit.map((a) => a.operation)).toEqual(['addFundedProject', 'amendFundedProject']);
    expect(audit[1]).toMatchObject({ before: { totalValue: 10000050n, version: 1 }, after: { totalValue: 12000000n, cofinancing: 4800000n, version: 2 } });

    await expectRejected(stack.dbs.funding, 'funded_projects', [
      { run: amend(id, 2, { cofinancing: '120000.01' }), code: 'BAD_USER_INPUT', argument: 'changes.cofinancing' },
      { run: amend(id, 2, { totalValue: '-5.00' }), code: 'BAD_USER_INPUT', argument: 'changes.totalValue' },
      { run: amend(id, 2, { totalValue: '5.5.5' }), code: 'BAD_USER_INPUT', argument: 'changes.totalValue' },
      { run: amend(id, 2, {}), code: 'BAD_USER_INPUT', argument: 'changes' },
      { run: amend(id, 1, { title: 'Stale' }), code: 'VERSION_CONFLICT' },
      { run: amend('apq-act-4-sigma-ter-piemonte', 0, { totalValue: '1.00' }), code: 'CONTRADICTS_PUBLISHED_FACT', argument: 'changes.totalValue' },
      { run: amend('apq-act-4-sigma-ter-piemonte', 0, { statedRateLabel: '39.994%' }), code: 'CONTRADICTS_PUBLISHED_FACT', argument: 'changes.statedRateLabel' },
      { run: amend('apq-act-4-sigma-ter-piemonte', 0, { provenance: 'SAMPLE' }), code: 'CONTRADICTS_PUBLISHED_FACT', argument: 'changes.provenance' },
      { run: amend('apq-act-4-ali-cn', 0, { cofinancing: '1.00' }), code: 'CONTRADICTS_PUBLISHED_FACT', argument: 'changes.cofinancing' },
      { run: amend('apq-act-4-no-such', 0, { title: 'x' }), code: 'NOT_FOUND', argument: 'id' },
      { run: amend(id, 2, { title: 'x' }, editor('reuse')), code: 'FORBIDDEN' },
    ]);
    // A published project's title is ours, not the source's: it can change.
    const renamed = ok(await amend('apq-act-4-sigma-ter-piemonte', 0, { title: 'SIGMA TER Piemonte reuse project' })());
    expect(renamed.amendFundedProject.project).toMatchObject({ title: 'SIGMA TER Piemonte reuse project', totalValue: '3248935.00', version: 1 });
  });

  it('lets exactly one of two concurrent amendments win', async () => {
    const id = 'apq-act-4-acquisti-on-line-piemonte';
    const { wins, conflicts } = await race(2, (i) =>
      stack.subgraphQuery('funding', AMEND_FUNDED_PROJECT, { id, expectedVersion: 0, changes: { title: `Acquisti ${i}` } }, editor('funding')),
    );
    expect([wins.length, conflicts.length]).toEqual([1, 1]);
    expect(await auditOf(stack.dbs.funding, id)).toHaveLength(1);
  });
});

describe('alliances: changeMembership', () => {
  const summary = `{ networkSummary { memberCount smallMemberCount } }`;
  const member = piedmontMunicipalities().find((m) => m.allianceId === 'ali-at' && m.small)!;
  const nonMember = piedmontMunicipalities().find((m) => m.allianceId === null && m.provinceCode === '006')!;

  it('leaves and rejoins the province ALI, counting in the network totals, each change audited', async () => {
    const change = (variables: Record<string, unknown>) => stack.subgraphQuery('alliances', CHANGE_MEMBERSHIP, variables, editor('alliances'));
    const left = ok(await change({ istatCode: member.istatCode, allianceId: null, expectedVersion: 0 }));
    expect(left.changeMembership).toEqual({ municipality: { istatCode: member.istatCode, version: 1, membership: null }, previousAlliance: { id: 'ali-at' } });
    expect(ok(await stack.subgraphQuery('alliances', summary)).networkSummary).toEqual({ memberCount: 1071, smallMemberCount: 1003 });

    const joined = ok(await change({ istatCode: member.istatCode, allianceId: 'ali-at', expectedVersion: 1, provenance: 'PUBLISHED', note: 'Resolution of the town council' }));
    expect(joined.changeMembership).toEqual({
      municipality: { istatCode: member.istatCode, version: 2, membership: { alliance: { id: 'ali-at' }, provenance: 'PUBLISHED', provenanceNote: 'Resolution of the town council' } },
      previousAlliance: null,
    });
    const doc = await stack.dbs.alliances.collection('municipalities').findOne({ _id: member.istatCode } as never);
    expect(doc).toMatchObject({ allianceId: 'ali-at', membershipProvenance: 'PUBLISHED', version: 2 });
    const audit = await auditOf(stack.dbs.alliances, member.istatCode);
    expect(audit.map((a) => [a.version, (a.before as { allianceId: string | null }).allianceId, (a.after as { allianceId: string | null }).allianceId])).toEqual([
      [1, 'ali-at', null],
      [2, null, 'ali-at'],
    ]);
    expect(audit[1]!.after).toEqual(doc);
    expect(ok(await stack.subgraphQuery('alliances', summary)).networkSummary).toEqual({ memberCount: 1072, smallMemberCount: 1004 });
  });

  it('rejects unknown Comuni, other provinces and missing provenance, changing nothing', async () => {
    const change = (variables: Record<string, unknown>, caller = editor('alliances')) => () =>
      stack.subgraphQuery('alliances', CHANGE_MEMBERSHIP, { expectedVersion: 0, ...variables }, caller);
    await expectRejected(stack.dbs.alliances, 'municipalities', [
      { run: change({ istatCode: '0060', allianceId: 'ali-al', provenance: 'SAMPLE' }), code: 'BAD_USER_INPUT', argument: 'istatCode' },
      { run: change({ istatCode: '006999', allianceId: 'ali-al', provenance: 'SAMPLE' }), code: 'NOT_FOUND', argument: 'istatCode' },
      { run: change({ istatCode: nonMember.istatCode, allianceId: 'ali-zz', provenance: 'SAMPLE' }), code: 'BAD_USER_INPUT', argument: 'allianceId' },
      { run: change({ istatCode: nonMember.istatCode, allianceId: 'ali-to', provenance: 'SAMPLE' }), code: 'BAD_USER_INPUT', argument: 'allianceId' },
      { run: change({ istatCode: nonMember.istatCode, allianceId: 'ali-al' }), code: 'BAD_USER_INPUT', argument: 'provenance' },
      { run: change({ istatCode: nonMember.istatCode, allianceId: 'ali-al', provenance: 'DERIVED' }), code: 'BAD_USER_INPUT', argument: 'provenance' },
      { run: change({ istatCode: nonMember.istatCode, allianceId: null }), code: 'BAD_USER_INPUT', argument: 'allianceId' },
      { run: change({ istatCode: nonMember.istatCode, allianceId: null, note: 'why' }), code: 'BAD_USER_INPUT', argument: 'note' },
      { run: change({ istatCode: nonMember.istatCode, allianceId: 'ali-al', provenance: 'SAMPLE', expectedVersion: 4 }), code: 'VERSION_CONFLICT' },
      { run: change({ istatCode: nonMember.istatCode, allianceId: 'ali-al', provenance: 'SAMPLE' }, ANALYST), code: 'FORBIDDEN' },
      { run: change({ istatCode: nonMember.istatCode, allianceId: 'ali-al', provenance: 'SAMPLE' }, editor('reuse')), code: 'FORBIDDEN' },
    ]);
    const res = await stack.subgraphQuery('alliances', CHANGE_MEMBERSHIP, { istatCode: nonMember.istatCode, allianceId: 'ali-al', expectedVersion: 0, provenance: 'SAMPLE' }, null);
    expect(res.status).toBe(401);
  });

  it('lets exactly one of two concurrent changes win', async () => {
    const { wins, conflicts } = await race(2, (i) =>
      stack.subgraphQuery(
        'alliances',
        CHANGE_MEMBERSHIP,
        { istatCode: nonMember.istatCode, allianceId: 'ali-al', expectedVersion: 0, provenance: i === 0 ? 'PUBLISHED' : 'SAMPLE' },
        editor('alliances'),
      ),
    );
    expect([wins.length, conflicts.length]).toEqual([1, 1]);
    const audit = await auditOf(stack.dbs.alliances, nonMember.istatCode);
    expect(audit).toHaveLength(1);
    expect(audit[0]!.after).toEqual(await stack.dbs.alliances.collection('municipalities').findOne({ _id: nonMember.istatCode } as never));
  });
});
