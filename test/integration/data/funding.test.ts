/**
 * The funding data layer (subgraphs/funding/data/) on a fresh, seeded database, without a server:
 * lists and project pages as seeded (exact Int64 cents, cursors over amounts), the projects of
 * many parents in one find each, and addFundedProject/amendFundedProject, which keep the
 * published facts and write the audit record.
 */
import { describe, expect, it } from 'vitest';
import { PROVINCES } from '../../../lib/domain/registry.ts';
import { AUDIT, writer } from '../../../lib/writes.ts';
import { funding } from '../../../subgraphs/funding/server.ts';
import { FUNDED_PROJECTS, type FundedProjectDoc } from '../../../subgraphs/funding/data/collections.ts';
import { createData } from '../../../subgraphs/funding/data/context.ts';
import { createLoaders } from '../../../subgraphs/funding/data/loaders.ts';
import { addFundedProject, amendFundedProject } from '../../../subgraphs/funding/data/mutations.ts';
import { findProjects, listAgreements, listCalls, listFundingSources, totalsOf, TOTALS_FIELDS } from '../../../subgraphs/funding/data/queries.ts';
import { agreements, ALI_PROJECTS_COFINANCING, ALI_PROJECTS_TOTAL, aliProjects, calls, fundingSources, reuseProjects } from '../../../subgraphs/funding/data/seed.ts';
import { attempt, commandSummary, EDITOR, TEST_LIMITS, useSeededDb } from '../../helpers/db.ts';

const projects = [...aliProjects(), ...reuseProjects()];
const ids = (docs: readonly { _id: string }[]) => docs.map((d) => d._id);
const sortedIds = (docs: readonly { _id: string }[]) => ids(docs).sort();

const t = useSeededDb(funding);

describe('queries', () => {
  it('lists funding sources and calls by id, and the framework agreement before its acts', async () => {
    expect(ids(await listFundingSources(t.db, []))).toEqual(sortedIds(fundingSources));
    expect(ids(await listCalls(t.db, []))).toEqual(sortedIds(calls));
    const listed = await listAgreements(t.db, ['ordinal']);
    expect(listed[0]).toEqual({ _id: 'apq-egov-piemonte', ordinal: null });
    expect(ids(listed).sort()).toEqual(sortedIds(agreements));
    expect(listed.slice(1).map((a) => a.ordinal)).toEqual(agreements.flatMap((a) => (a.ordinal === null ? [] : [a.ordinal])).sort((a, b) => a - b));
    expect(commandSummary(t.commands)).toEqual({ 'funding.find:funding_sources': 1, 'funding.find:calls': 1, 'funding.find:agreements': 1 });
  });

  it('pages projects by amount with cursors over exact cents', async () => {
    const expected = [...projects].sort((a, b) => (a.totalValue === b.totalValue ? (a._id < b._id ? 1 : -1) : a.totalValue < b.totalValue ? 1 : -1));
    const first = await findProjects(t.db, TEST_LIMITS, { first: 4, orderBy: 'TOTAL_VALUE_DESC' }, ['totalValue']);
    const next = await findProjects(t.db, TEST_LIMITS, { first: 4, after: first.pageInfo.endCursor, orderBy: 'TOTAL_VALUE_DESC' }, ['totalValue']);
    expect([...first.nodes, ...next.nodes]).toEqual(expected.slice(0, 8).map((p) => ({ _id: p._id, totalValue: p.totalValue })));
    expect(typeof first.nodes[0]!.totalValue).toBe('bigint');
    expect(await next.totalCount()).toBe(projects.length);
  });

  it('filters projects by beneficiary, and refuses a malformed id before reading', async () => {
    const page = await findProjects(t.db, TEST_LIMITS, { filter: { reuseSolutionId: 'sigma-ter-piemonte' } }, ['title']);
    expect(ids(page.nodes)).toEqual(['apq-act-4-sigma-ter-piemonte']);
    t.commands.length = 0;
    await expect(attempt(() => findProjects(t.db, TEST_LIMITS, { filter: { allianceId: 'ALI CN' } }, []))).rejects.toMatchObject({
      extensions: { code: 'BAD_USER_INPUT', argument: 'filter.allianceId' },
    });
    expect(t.commands).toEqual([]);
  });
});

describe('loaders', () => {
  it('loads the projects of all eight ALI in one find', async () => {
    const loaders = createLoaders(t.db, TEST_LIMITS);
    const lists = await Promise.all(PROVINCES.map((p) => loaders.projectsByAlliance.load({ id: p.allianceId, fields: ['title'] })));
    expect(lists.map(ids)).toEqual(PROVINCES.map((p) => [`apq-act-4-${p.allianceId}`]));
    expect(commandSummary(t.commands)).toEqual({ 'funding.find:funded_projects': 1 });
  });

  it('totals the published ALI call exactly from its projects (the estimated split cancels out)', async () => {
    const loaders = createLoaders(t.db, TEST_LIMITS);
    const [ali, reuse] = await Promise.all(
      ['cnipa-2007-ali-cofinancing', 'cnipa-2007-reuse'].map((id) => loaders.projectsByCall.load({ id, fields: [...TOTALS_FIELDS] })),
    );
    expect(totalsOf(ali!)).toEqual({ projectCount: 8, totalValue: ALI_PROJECTS_TOTAL, cofinancing: ALI_PROJECTS_COFINANCING, provenance: 'DERIVED' });
    expect(totalsOf(ali!.slice(1)).provenance).toBe('ESTIMATED');
    expect(sortedIds(reuse!)).toEqual(sortedIds(reuseProjects()));
    expect(commandSummary(t.commands)).toEqual({ 'funding.find:funded_projects': 1 });
  });

  it('loads entities of several collections, one find each, and the acts of the framework by ordinal', async () => {
    const loaders = createLoaders(t.db, TEST_LIMITS);
    const [act, call, none, acts] = await Promise.all([
      loaders.agreement.load({ id: 'apq-act-4', fields: ['kind'] }),
      loaders.call.load({ id: 'cnipa-2007-reuse', fields: ['issuedBy'] }),
      loaders.call.load({ id: 'no-such-call', fields: ['issuedBy'] }),
      loaders.actsByFramework.load({ id: 'apq-egov-piemonte', fields: ['ordinal'] }),
    ]);
    expect([act, call, none]).toEqual([{ _id: 'apq-act-4', kind: 'SUPPLEMENTARY_ACT' }, { _id: 'cnipa-2007-reuse', issuedBy: 'cnipa' }, null]);
    expect(ids(acts!)).toEqual(ids(agreements.filter((a) => a.frameworkId === 'apq-egov-piemonte').sort((a, b) => a.ordinal! - b.ordinal!)));
    expect(commandSummary(t.commands)).toEqual({ 'funding.find:agreements': 2, 'funding.find:calls': 1 });
  });
});

describe('addFundedProject and amendFundedProject', () => {
  const input = {
    agreementId: 'apq-act-4',
    callId: 'cnipa-2007-reuse',
    reuseSolutionId: 'atoc-comune-facile',
    title: 'ATOC Comune Facile reuse project',
    totalValue: 10_000_050n,
    cofinancing: 4_000_020n,
    provenance: 'SAMPLE' as const,
  };
  const id = 'apq-act-4-atoc-comune-facile';
  const w = (operation: string) => writer(t.scope(), 'funding', operation);

  it('adds a project at version 1, co-financed by the call\'s issuer, amounts as exact Int64 cents', async () => {
    const change = await addFundedProject(w('addFundedProject'), input);
    expect(change.after).toMatchObject({ _id: id, beneficiaryType: 'ReuseSolution', cofinancedBy: 'cnipa', totalValue: 10_000_050n, version: 1 });
    expect(commandSummary(t.commands)).toEqual({
      'funding.find:agreements': 1,
      'funding.find:calls': 1,
      'funding.find:funded_projects': 1,
      'funding.insert:audit': 1,
      'funding.insert:events': 1,
      'funding.update:events': 1,
      'funding.insert:funded_projects': 1,
    });
    expect(await t.db.collection<FundedProjectDoc>(FUNDED_PROJECTS).findOne({ _id: id })).toMatchObject({ totalValue: 10_000_050n, cofinancing: 4_000_020n });
  });

  it('refuses a project under the call whose projects are published in full, writing nothing', async () => {
    const ali = { ...input, callId: 'cnipa-2007-ali-cofinancing', reuseSolutionId: null, allianceId: 'ali-cn' };
    await expect(addFundedProject(w('addFundedProject'), ali)).rejects.toMatchObject({ extensions: { code: 'CONTRADICTS_PUBLISHED_FACT', argument: 'input.callId' } });
    expect(commandSummary(t.commands)).toEqual({ 'funding.find:agreements': 1, 'funding.find:calls': 1 });
  });

  it('refuses to amend one part of the estimated split, and amends the title of the new project', async () => {
    const part = aliProjects()[0]!._id;
    await expect(amendFundedProject(w('amendFundedProject'), part, 0, { totalValue: 100n })).rejects.toMatchObject({
      extensions: { code: 'CONTRADICTS_PUBLISHED_FACT', argument: 'changes.totalValue' },
    });
    const change = await amendFundedProject(w('amendFundedProject'), id, 1, { title: 'Comune Facile' });
    expect(change.after).toMatchObject({ title: 'Comune Facile', titleKey: 'comune facile', totalValue: 10_000_050n, version: 2 });
    expect(await t.db.collection(AUDIT).countDocuments({ documentId: { $in: [part, id] } })).toBe(2);
  });

  it('is bound by createData to the request\'s caller and request id', async () => {
    const change = await createData(t.scope(EDITOR, 'request-9')).amendFundedProject(id, 2, { provenanceNote: 'Checked' });
    expect(change.after).toMatchObject({ provenanceNote: 'Checked', version: 3 });
    expect(await t.db.collection(AUDIT).findOne({ _id: `${FUNDED_PROJECTS}/${id}@3` } as never)).toMatchObject({
      actor: EDITOR.sub,
      requestId: 'request-9',
      operation: 'amendFundedProject',
    });
  });
});
