/**
 * The alliances data layer (subgraphs/alliances/data/) on a fresh, seeded database, without a
 * server: the named queries answer from the seed, each loader batch is one command with results
 * in key order (null for a miss), and changeMembership writes a version and its audit record.
 */
import { describe, expect, it } from 'vitest';
import { PROVINCES, PUBLISHED_MEMBER_COUNT, PUBLISHED_SMALL_MEMBER_COUNT, memberCounts } from '../../../lib/domain/registry.ts';
import { AUDIT, writer, type AuditDoc } from '../../../lib/writes.ts';
import { alliances } from '../../../subgraphs/alliances/server.ts';
import { MUNICIPALITIES, type MunicipalityDoc } from '../../../subgraphs/alliances/data/collections.ts';
import { createData } from '../../../subgraphs/alliances/data/context.ts';
import { createLoaders } from '../../../subgraphs/alliances/data/loaders.ts';
import { changeMembership } from '../../../subgraphs/alliances/data/mutations.ts';
import { countMembers, findMunicipalities, listAlliances, listProvinces, nameKey, networkTotals } from '../../../subgraphs/alliances/data/queries.ts';
import { municipalityDocs } from '../../../subgraphs/alliances/data/seed.ts';
import { attempt, commandSummary, EDITOR, TEST_LIMITS, useSeededDb } from '../../helpers/db.ts';

const seed = municipalityDocs();
const byName = (a: MunicipalityDoc, b: MunicipalityDoc) => (a.nameKey < b.nameKey ? -1 : a.nameKey > b.nameKey ? 1 : a._id < b._id ? -1 : 1);

const t = useSeededDb(alliances);

describe('queries', () => {
  it('lists the eight provinces in ISTAT order, projected to the fields asked for', async () => {
    expect(await listProvinces(t.db, ['name'])).toEqual(PROVINCES.map((p) => ({ _id: p.code, name: p.name })));
    expect(await listAlliances(t.db, [])).toEqual(PROVINCES.map((p) => ({ _id: p.allianceId })));
    expect(commandSummary(t.commands)).toEqual({ 'alliances.find:provinces': 1, 'alliances.find:alliances': 1 });
  });

  it('pages Comuni by filter and ordering: one find per page, the count only when asked', async () => {
    const filter = { provinceCode: '004', small: true };
    const expected = seed
      .filter((m) => m.provinceCode === '004' && m.small)
      .sort((a, b) => b.population - a.population || (a._id < b._id ? 1 : -1))
      .map((m) => m._id);
    const first = await findMunicipalities(t.db, TEST_LIMITS, { first: 5, filter, orderBy: 'POPULATION_DESC' }, ['name']);
    const next = await findMunicipalities(t.db, TEST_LIMITS, { first: 5, after: first.pageInfo.endCursor, filter, orderBy: 'POPULATION_DESC' }, ['name']);
    expect(first.nodes.map((m) => m._id)).toEqual(expected.slice(0, 5));
    expect(next.nodes.map((m) => m._id)).toEqual(expected.slice(5, 10));
    expect([first.pageInfo.hasNextPage, next.pageInfo.hasPreviousPage]).toEqual([true, true]);
    expect(commandSummary(t.commands)).toEqual({ 'alliances.find:municipalities': 2 });
    expect(await first.totalCount()).toBe(expected.length);
    expect(commandSummary(t.commands)).toEqual({ 'alliances.find:municipalities': 2, 'alliances.aggregate:municipalities': 1 });
  });

  it('matches a name prefix without accents or case ("MONDOV" finds Mondovì)', async () => {
    const page = await findMunicipalities(t.db, TEST_LIMITS, { first: 50, filter: { nameStartsWith: 'MONDOV' } }, ['name']);
    const expected = seed.filter((m) => m.nameKey.startsWith(nameKey('MONDOV'))).sort(byName);
    expect(page.nodes.map((m) => m.name)).toEqual(expected.map((m) => m.name));
    expect(page.nodes.map((m) => m.name)).toContain('Mondovì');
  });

  it('counts the network in one aggregation: the published totals', async () => {
    expect(await networkTotals(t.db)).toEqual({
      municipalityCount: seed.length,
      smallMunicipalityCount: seed.filter((m) => m.small).length,
      memberCount: PUBLISHED_MEMBER_COUNT,
      smallMemberCount: PUBLISHED_SMALL_MEMBER_COUNT,
    });
    expect(commandSummary(t.commands)).toEqual({ 'alliances.aggregate:municipalities': 1 });
  });

  it('counts members of many ALI in one aggregation, 0 for an unknown id', async () => {
    const ids = ['ali-cn', 'ali-to', 'ali-none'];
    const counts = await countMembers(t.db, ids);
    expect(counts.map((c) => c.total)).toEqual([memberCounts().get('ali-cn'), memberCounts().get('ali-to'), 0]);
    expect(counts[0]!.small).toBe(seed.filter((m) => m.allianceId === 'ali-cn' && m.small).length);
    expect(commandSummary(t.commands)).toEqual({ 'alliances.aggregate:municipalities': 1 });
  });
});

describe('loaders', () => {
  it('loads entities asked for in one tick with one find: key order, null for a miss, the union of the fields', async () => {
    const loaders = createLoaders(t.db, TEST_LIMITS);
    const [cn, none, cnTasks] = await Promise.all([
      loaders.alliance.load({ id: 'ali-cn', fields: ['name'] }),
      loaders.alliance.load({ id: 'ali-none', fields: ['name'] }),
      loaders.alliance.load({ id: 'ali-cn', fields: ['provinceCode'] }),
    ]);
    expect(cn).toEqual({ _id: 'ali-cn', name: 'ALI Cuneo', provinceCode: '004' });
    expect(cnTasks).toEqual(cn);
    expect(none).toBeNull();
    expect(commandSummary(t.commands)).toEqual({ 'alliances.find:alliances': 1 });
  });

  it('counts the members of all eight ALI in one aggregation', async () => {
    const loaders = createLoaders(t.db, TEST_LIMITS);
    const totals = await Promise.all(PROVINCES.map(async (p) => (await loaders.memberCounts.load(p.allianceId)).total));
    expect(totals).toEqual(PROVINCES.map((p) => memberCounts().get(p.allianceId)));
    expect(totals.reduce((a, b) => a + b)).toBe(PUBLISHED_MEMBER_COUNT);
    expect(commandSummary(t.commands)).toEqual({ 'alliances.aggregate:municipalities': 1 });
  });

  it('reads the member pages of many ALI in one find, and their counts in one aggregation', async () => {
    const loaders = createLoaders(t.db, TEST_LIMITS);
    const args = { first: 3, orderBy: 'NAME_ASC' as const };
    const ids = ['ali-at', 'ali-bi', 'ali-vb'];
    const pages = await Promise.all(ids.map((parentId) => loaders.membersPages.load({ parentId, args, fields: ['name'] })));
    for (const [i, id] of ids.entries()) {
      const members = seed.filter((m) => m.allianceId === id).sort(byName);
      expect(pages[i]!.nodes.map((m) => m._id)).toEqual(members.slice(0, 3).map((m) => m._id));
      expect(pages[i]!.pageInfo.hasNextPage).toBe(true);
    }
    expect(commandSummary(t.commands)).toEqual({ 'alliances.find:municipalities': 1 });
    const counts = await Promise.all(pages.map((p) => p.totalCount()));
    expect(counts).toEqual(ids.map((id) => memberCounts().get(id)));
    expect(commandSummary(t.commands)).toEqual({ 'alliances.find:municipalities': 1, 'alliances.aggregate:municipalities': 1 });
  });

  it('fails only the keys whose arguments are bad', async () => {
    const loaders = createLoaders(t.db, TEST_LIMITS);
    const [bad, good] = await Promise.allSettled([
      loaders.membersPages.load({ parentId: 'ali-at', args: { first: 501 }, fields: [] }),
      loaders.membersPages.load({ parentId: 'ali-bi', args: { first: 1 }, fields: [] }),
    ]);
    expect(bad).toMatchObject({ status: 'rejected', reason: { extensions: { code: 'PAGE_SIZE_OUT_OF_RANGE' } } });
    expect(good).toMatchObject({ status: 'fulfilled', value: { nodes: [expect.objectContaining({ _id: expect.any(String) })] } });
  });
});

describe('changeMembership', () => {
  const comune = seed.find((m) => m.provinceCode === '004' && m.allianceId === null)!;
  const audit = () => t.db.collection<AuditDoc<MunicipalityDoc>>(AUDIT);
  const w = () => writer(t.scope(), 'alliances', 'changeMembership');

  it('joins a Comune to its ALI: version 1, the document and the audit record (find, claim, replace)', async () => {
    const change = await changeMembership(w(), { istatCode: comune._id, allianceId: 'ali-cn', provenance: 'PUBLISHED', expectedVersion: 0 });
    expect(change.before).toMatchObject({ allianceId: null });
    expect(change.after).toMatchObject({ _id: comune._id, allianceId: 'ali-cn', membershipProvenance: 'PUBLISHED', version: 1 });
    expect(commandSummary(t.commands)).toEqual({
      'alliances.find:municipalities': 1,
      'alliances.insert:audit': 1,
      'alliances.insert:events': 1,
      'alliances.update:events': 1,
      'alliances.update:municipalities': 1,
    });
    expect(await t.db.collection<MunicipalityDoc>(MUNICIPALITIES).findOne({ _id: comune._id })).toEqual(change.after);
    expect(await audit().findOne({ _id: `${MUNICIPALITIES}/${comune._id}@1` })).toMatchObject({
      actor: EDITOR.sub,
      operation: 'changeMembership',
      subgraph: 'alliances',
      version: 1,
      before: { allianceId: null },
      after: { allianceId: 'ali-cn' },
    });
  });

  it('refuses a stale version and another province\'s ALI, writing nothing', async () => {
    const stale = changeMembership(w(), { istatCode: comune._id, allianceId: null, expectedVersion: 0 });
    await expect(stale).rejects.toMatchObject({ extensions: { code: 'VERSION_CONFLICT', currentVersion: 1 } });
    const elsewhere = changeMembership(w(), { istatCode: comune._id, allianceId: 'ali-to', provenance: 'PUBLISHED', expectedVersion: 1 });
    await expect(elsewhere).rejects.toMatchObject({ extensions: { code: 'BAD_USER_INPUT', argument: 'allianceId' } });
    expect(t.commands.filter((c) => c.commandName !== 'find')).toEqual([]);
    expect(await audit().countDocuments({ documentId: comune._id })).toBe(1);
  });

  it('is bound by createData to the request\'s caller and request id', async () => {
    const data = createData(t.scope(EDITOR, 'request-7'));
    const change = await data.changeMembership({ istatCode: comune._id, allianceId: null, expectedVersion: 1 });
    expect(change.after).toMatchObject({ allianceId: null, membershipProvenance: null, version: 2 });
    expect(await audit().findOne({ _id: `${MUNICIPALITIES}/${comune._id}@2` })).toMatchObject({ actor: EDITOR.sub, requestId: 'request-7' });
    expect(createData(t.scope()).loaders).not.toBe(data.loaders);
  });
});
