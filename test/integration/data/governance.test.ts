/**
 * The governance data layer (subgraphs/governance/data/) on a fresh, seeded database, without a
 * server: institutions, committees and facilitators as seeded, seats, facilitators and meeting
 * pages of many parents in one find each, and recordMeeting/amendMeeting with their audit records.
 */
import { describe, expect, it } from 'vitest';
import { AUDIT, writer } from '../../../lib/writes.ts';
import { governance } from '../../../subgraphs/governance/server.ts';
import { MEETINGS, type FacilitatorDoc } from '../../../subgraphs/governance/data/collections.ts';
import { createData } from '../../../subgraphs/governance/data/context.ts';
import { createLoaders } from '../../../subgraphs/governance/data/loaders.ts';
import { amendMeeting, recordMeeting } from '../../../subgraphs/governance/data/mutations.ts';
import { findFacilitators, listCommittees, listInstitutions } from '../../../subgraphs/governance/data/queries.ts';
import {
  committeeMemberDocs,
  facilitatorDocs,
  GUIDANCE_COMMITTEE_ID,
  institutionDocs,
  meetingDocs,
  STEERING_COMMITTEE_ID,
} from '../../../subgraphs/governance/data/seed.ts';
import { attempt, commandSummary, EDITOR, TEST_LIMITS, useSeededDb } from '../../helpers/db.ts';

const byName = (a: FacilitatorDoc, b: FacilitatorDoc) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a._id < b._id ? -1 : 1);

const t = useSeededDb(governance);

describe('queries', () => {
  it('lists institutions in the order the source names them, and the Steering Committee first', async () => {
    expect(await listInstitutions(t.db, ['acronym'])).toEqual(institutionDocs().map((i) => ({ _id: i._id, acronym: i.acronym })));
    expect((await listCommittees(t.db, [])).map((c) => c._id)).toEqual([STEERING_COMMITTEE_ID, GUIDANCE_COMMITTEE_ID]);
    expect(commandSummary(t.commands)).toEqual({ 'governance.find:institutions': 1, 'governance.find:committees': 1 });
  });

  it('pages the facilitators of one ALI by name, one serving two ALI included', async () => {
    const page = await findFacilitators(t.db, TEST_LIMITS, { allianceId: 'ali-bi', first: 10 }, ['name']);
    const expected = facilitatorDocs().filter((f) => f.allianceIds.includes('ali-bi')).sort(byName);
    expect(page.nodes.map((f) => f._id)).toEqual(expected.map((f) => f._id));
    expect(page.nodes.map((f) => f._id)).toContain('facilitator-bi-vc');
    expect(await page.totalCount()).toBe(expected.length);
  });

  it('refuses an ALI id that names no ALI before reading anything', async () => {
    await expect(attempt(() => findFacilitators(t.db, TEST_LIMITS, { allianceId: 'ali-xx' }, []))).rejects.toMatchObject({
      extensions: { code: 'BAD_USER_INPUT' },
    });
    expect(t.commands).toEqual([]);
  });
});

describe('loaders', () => {
  it('loads the seats of both committees in one find', async () => {
    const loaders = createLoaders(t.db, TEST_LIMITS);
    const [steering, guidance] = await Promise.all(
      [STEERING_COMMITTEE_ID, GUIDANCE_COMMITTEE_ID].map((id) => loaders.membersByCommittee.load({ id, fields: null })),
    );
    const seats = committeeMemberDocs();
    expect(steering!.map((s) => s._id)).toEqual(seats.filter((s) => s.committeeId === STEERING_COMMITTEE_ID).map((s) => s._id).sort());
    expect(guidance).toEqual(seats.filter((s) => s.committeeId === GUIDANCE_COMMITTEE_ID));
    expect(commandSummary(t.commands)).toEqual({ 'governance.find:committeeMembers': 1 });
  });

  it('finds the seats of many Comuni in one find, none for an institution id', async () => {
    const loaders = createLoaders(t.db, TEST_LIMITS);
    const comuni = committeeMemberDocs().filter((s) => s.memberType === 'Municipality').slice(0, 3).map((s) => s.memberId);
    const seats = await Promise.all([...comuni, 'regione-piemonte'].map((id) => loaders.seatsByMunicipality.load({ id, fields: null })));
    expect(seats.map((s) => s.map((x) => x.committeeId))).toEqual([[STEERING_COMMITTEE_ID], [STEERING_COMMITTEE_ID], [STEERING_COMMITTEE_ID], []]);
    expect(commandSummary(t.commands)).toEqual({ 'governance.find:committeeMembers': 1 });
  });

  it('finds the facilitators of many ALI in one find on the multikey field, by name', async () => {
    const loaders = createLoaders(t.db, TEST_LIMITS);
    const ids = ['ali-bi', 'ali-vc', 'ali-to'];
    const lists = await Promise.all(ids.map((id) => loaders.facilitatorsByAlliance.load({ id, fields: ['name'] })));
    const expected = ids.map((id) => facilitatorDocs().filter((f) => f.allianceIds.includes(id)).sort(byName).map((f) => f._id));
    expect(lists.map((l) => l.map((f) => f._id))).toEqual(expected);
    expect(commandSummary(t.commands)).toEqual({ 'governance.find:facilitators': 1 });
  });

  it('reads the meeting pages of both committees in one find, newest first', async () => {
    const loaders = createLoaders(t.db, TEST_LIMITS);
    const ids = [STEERING_COMMITTEE_ID, GUIDANCE_COMMITTEE_ID];
    const pages = await Promise.all(ids.map((parentId) => loaders.meetingPages.load({ parentId, args: { first: 2 }, fields: ['date'] })));
    for (const [i, id] of ids.entries()) {
      const dates = meetingDocs().filter((m) => m.committeeId === id).map((m) => m.date).sort().reverse();
      expect(pages[i]!.nodes.map((m) => m.date)).toEqual(dates.slice(0, 2));
    }
    expect(commandSummary(t.commands)).toEqual({ 'governance.find:meetings': 1 });
  });
});

describe('recordMeeting and amendMeeting', () => {
  const input = { committeeId: STEERING_COMMITTEE_ID, date: '2011-05-04', title: ' Help desks, a year on ', decisions: [{ summary: 'Keep them open' }], provenance: 'SAMPLE' as const };
  const w = (operation: string) => writer(t.scope(), 'governance', operation);

  it('refuses a committee that does not exist after one find, writing nothing', async () => {
    await expect(recordMeeting(w('recordMeeting'), { ...input, committeeId: 'board' })).rejects.toMatchObject({
      extensions: { code: 'BAD_USER_INPUT', argument: 'input.committeeId' },
    });
    expect(commandSummary(t.commands)).toEqual({ 'governance.find:committees': 1 });
  });

  it('records a meeting at version 1 under "<committee>:<date>", once', async () => {
    const change = await recordMeeting(w('recordMeeting'), input);
    expect(change).toEqual({
      before: null,
      after: { _id: `${STEERING_COMMITTEE_ID}:2011-05-04`, committeeId: STEERING_COMMITTEE_ID, date: '2011-05-04', title: 'Help desks, a year on', decisions: [{ number: 1, summary: 'Keep them open' }], provenance: 'SAMPLE', version: 1 },
      event: { position: expect.any(Number), record: expect.objectContaining({ before: null, after: change.after, operation: 'recordMeeting' }) },
    });
    expect(commandSummary(t.commands)).toEqual({
      'governance.find:committees': 1,
      'governance.find:meetings': 1,
      'governance.insert:audit': 1,
      'governance.insert:events': 1,
      'governance.update:events': 1,
      'governance.insert:meetings': 1,
    });
    await expect(recordMeeting(w('recordMeeting'), input)).rejects.toMatchObject({ extensions: { code: 'ALREADY_EXISTS' } });
  });

  it('amends the title at the expected version; no change named is refused without a command', async () => {
    const id = `${STEERING_COMMITTEE_ID}:2011-05-04`;
    await expect(attempt(() => amendMeeting(w('amendMeeting'), id, 1, {}))).rejects.toMatchObject({ extensions: { code: 'BAD_USER_INPUT', argument: 'changes' } });
    expect(t.commands).toEqual([]);
    const change = await amendMeeting(w('amendMeeting'), id, 1, { title: 'Help desks: first year' });
    expect(change.after).toMatchObject({ title: 'Help desks: first year', decisions: [{ number: 1, summary: 'Keep them open' }], version: 2 });
    expect(await t.db.collection(AUDIT).countDocuments({ collection: MEETINGS, documentId: id })).toBe(2);
  });

  it('is bound by createData to the request\'s caller and request id', async () => {
    const data = createData(t.scope(EDITOR, 'request-8'));
    const change = await data.amendMeeting(`${STEERING_COMMITTEE_ID}:2011-05-04`, 2, { decisions: [] });
    expect(change.after).toMatchObject({ decisions: [], version: 3 });
    expect(await t.db.collection(AUDIT).findOne({ _id: `${MEETINGS}/${change.after._id}@3` } as never)).toMatchObject({
      actor: EDITOR.sub,
      requestId: 'request-8',
      operation: 'amendMeeting',
    });
  });
});
