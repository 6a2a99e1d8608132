/**
 * The reuse data layer (subgraphs/reuse/data/) on a fresh, seeded database, without a server:
 * the catalogue and adoption pages as seeded, adoptions of many Comuni and pages of many
 * solutions in one find each, and registerAdoption/changeAdoptionStatus with their audit records.
 */
import { describe, expect, it } from 'vitest';
import { piedmontMunicipalities } from '../../../lib/domain/registry.ts';
import { AUDIT, writer } from '../../../lib/writes.ts';
import { EVENT_LOG, positionKey } from '../../../lib/events/log.ts';
import { reuse } from '../../../subgraphs/reuse/server.ts';
import { ADOPTIONS, type AdoptionDoc } from '../../../subgraphs/reuse/data/collections.ts';
import { adoptionStats } from '../../../subgraphs/reuse/data/analytics.ts';
import { createData } from '../../../subgraphs/reuse/data/context.ts';
import { createLoaders } from '../../../subgraphs/reuse/data/loaders.ts';
import { changeAdoptionStatus, registerAdoption } from '../../../subgraphs/reuse/data/mutations.ts';
import { findAdoptions, listSolutions } from '../../../subgraphs/reuse/data/queries.ts';
import { adoptionDocs, SOLUTIONS } from '../../../subgraphs/reuse/data/seed.ts';
import { attempt, commandSummary, EDITOR, TEST_LIMITS, useSeededDb } from '../../helpers/db.ts';

const adoptions = adoptionDocs();
const byComune = (a: AdoptionDoc, b: AdoptionDoc) => (a.istatCode === b.istatCode ? (a._id < b._id ? -1 : 1) : a.istatCode < b.istatCode ? -1 : 1);
const ids = (docs: readonly { _id: string }[]) => docs.map((d) => d._id);

const t = useSeededDb(reuse);

describe('queries', () => {
  it('lists the published catalogue by id', async () => {
    expect(await listSolutions(t.db, ['name'])).toEqual([...SOLUTIONS].sort((a, b) => (a._id < b._id ? -1 : 1)).map((s) => ({ _id: s._id, name: s.name })));
    expect(commandSummary(t.commands)).toEqual({ 'reuse.find:reuse_solutions': 1 });
  });

  it('pages the adoptions of one solution in one province by Comune', async () => {
    const filter = { solutionId: 'sigma-ter-piemonte', provinceCode: '004' };
    const expected = adoptions.filter((a) => a.solutionId === filter.solutionId && a.provinceCode === '004').sort(byComune);
    const first = await findAdoptions(t.db, TEST_LIMITS, { first: 5, filter }, ['status']);
    const next = await findAdoptions(t.db, TEST_LIMITS, { first: 5, after: first.pageInfo.endCursor, filter }, ['status']);
    expect(ids([...first.nodes, ...next.nodes])).toEqual(ids(expected.slice(0, 10)));
    expect(first.nodes[0]).toEqual({ _id: expected[0]!._id, istatCode: expected[0]!.istatCode, status: expected[0]!.status });
    expect(await first.totalCount()).toBe(expected.length);
    expect(commandSummary(t.commands)).toEqual({ 'reuse.find:adoptions': 2, 'reuse.aggregate:adoptions': 1 });
  });

  it('refuses a solution outside the catalogue before reading', async () => {
    await expect(attempt(() => findAdoptions(t.db, TEST_LIMITS, { filter: { solutionId: 'open-data' } }, []))).rejects.toMatchObject({
      extensions: { code: 'BAD_USER_INPUT', argument: 'filter.solutionId' },
    });
    expect(t.commands).toEqual([]);
  });

  it('counts adoptions by solution in one aggregation', async () => {
    const rows = await adoptionStats(t.db, ['SOLUTION']);
    expect(rows.map((r) => [r.solution?._id, r.count])).toEqual(
      [...SOLUTIONS].map((s) => s._id).sort().map((s) => [s, adoptions.filter((a) => a.solutionId === s).length]),
    );
    expect(commandSummary(t.commands)).toEqual({ 'reuse.aggregate:adoptions': 1 });
  });
});

describe('loaders', () => {
  it('loads the adoptions of many Comuni in one find, [] for a Comune with none', async () => {
    const loaders = createLoaders(t.db, TEST_LIMITS);
    const adopters = [...new Set(adoptions.map((a) => a.istatCode))].slice(0, 4);
    const none = piedmontMunicipalities().find((m) => !adoptions.some((a) => a.istatCode === m.istatCode))!.istatCode;
    const lists = await Promise.all([...adopters, none].map((id) => loaders.adoptionsByMunicipality.load({ id, fields: ['status'] })));
    expect(lists.map(ids)).toEqual([...adopters, none].map((c) => ids(adoptions.filter((a) => a.istatCode === c).sort(byComune))));
    expect(commandSummary(t.commands)).toEqual({ 'reuse.find:adoptions': 1 });
  });

  it('reads the adoption pages of every solution in one find, and their counts in one aggregation', async () => {
    const loaders = createLoaders(t.db, TEST_LIMITS);
    const solutions = SOLUTIONS.map((s) => s._id);
    const args = { first: 3, filter: { status: 'ACTIVE' as const } };
    const pages = await Promise.all(solutions.map((parentId) => loaders.adoptionPages.load({ parentId, args, fields: [] })));
    const active = (s: string) => adoptions.filter((a) => a.solutionId === s && a.status === 'ACTIVE').sort(byComune);
    expect(pages.map((p) => ids(p.nodes))).toEqual(solutions.map((s) => ids(active(s).slice(0, 3))));
    expect(await Promise.all(pages.map((p) => p.totalCount()))).toEqual(solutions.map((s) => active(s).length));
    expect(commandSummary(t.commands)).toEqual({ 'reuse.find:adoptions': 1, 'reuse.aggregate:adoptions': 1 });
  });
});

describe('registerAdoption and changeAdoptionStatus', () => {
  const comune = piedmontMunicipalities().find((m) => !adoptions.some((a) => a.istatCode === m.istatCode && a.solutionId === 'atoc-comune-facile'))!;
  const id = `atoc-comune-facile:${comune.istatCode}`;
  const w = (operation: string) => writer(t.scope(), 'reuse', operation);

  it('registers a PLANNED adoption at version 1, in the Comune\'s province', async () => {
    const change = await registerAdoption(w('registerAdoption'), { solutionId: 'atoc-comune-facile', municipalityIstatCode: comune.istatCode, provenance: 'SAMPLE' });
    expect(change).toEqual({
      before: null,
      after: { _id: id, solutionId: 'atoc-comune-facile', istatCode: comune.istatCode, provinceCode: comune.provinceCode, status: 'PLANNED', startedOn: null, provenance: 'SAMPLE', version: 1 },
      event: { position: 1, record: expect.objectContaining({ _id: `${ADOPTIONS}/${id}@1`, before: null, after: change.after }) },
    });
    expect(commandSummary(t.commands)).toEqual({
      'reuse.find:adoptions': 1,
      'reuse.insert:audit': 1,
      'reuse.insert:events': 1,
      'reuse.insert:adoptions': 1,
      'reuse.update:events': 1,
    });
    // The change's event: its entry in the log, applied, pointing at the audit record.
    expect(await t.db.collection(EVENT_LOG).findOne({ _id: positionKey(1) } as never)).toMatchObject({ state: 'applied', audit: `${ADOPTIONS}/${id}@1`, collection: ADOPTIONS, documentId: id, version: 1 });
  });

  it('refuses a start date while PLANNED and a solution outside the catalogue without a command', async () => {
    const input = { solutionId: 'atoc-comune-facile', municipalityIstatCode: comune.istatCode, provenance: 'SAMPLE' as const };
    await expect(attempt(() => registerAdoption(w('registerAdoption'), { ...input, startedOn: '2012-01-01' }))).rejects.toMatchObject({
      extensions: { code: 'BAD_USER_INPUT', argument: 'input.startedOn' },
    });
    await expect(attempt(() => registerAdoption(w('registerAdoption'), { ...input, solutionId: 'open-data' }))).rejects.toMatchObject({
      extensions: { code: 'BAD_USER_INPUT', argument: 'input.solutionId' },
    });
    expect(t.commands).toEqual([]);
  });

  it('starts the adoption, then refuses a return to PLANNED and a stale version', async () => {
    const change = await changeAdoptionStatus(w('changeAdoptionStatus'), { id, status: 'ACTIVE', startedOn: '2012-03-01', expectedVersion: 1 });
    expect(change.after).toMatchObject({ status: 'ACTIVE', startedOn: '2012-03-01', version: 2 });
    await expect(changeAdoptionStatus(w('changeAdoptionStatus'), { id, status: 'PLANNED', expectedVersion: 2 })).rejects.toMatchObject({
      extensions: { code: 'BAD_USER_INPUT', argument: 'status' },
    });
    await expect(changeAdoptionStatus(w('changeAdoptionStatus'), { id, status: 'DISCONTINUED', expectedVersion: 1 })).rejects.toMatchObject({
      extensions: { code: 'VERSION_CONFLICT', currentVersion: 2 },
    });
    expect(await t.db.collection(AUDIT).countDocuments({ collection: ADOPTIONS, documentId: id })).toBe(2);
  });

  it('is bound by createData to the request\'s caller and request id', async () => {
    const change = await createData(t.scope(EDITOR, 'request-10')).changeAdoptionStatus({ id, status: 'DISCONTINUED', expectedVersion: 2 });
    expect(change.after).toMatchObject({ status: 'DISCONTINUED', startedOn: '2012-03-01', version: 3 });
    expect(await t.db.collection(AUDIT).findOne({ _id: `${ADOPTIONS}/${id}@3` } as never)).toMatchObject({
      actor: EDITOR.sub,
      requestId: 'request-10',
      operation: 'changeAdoptionStatus',
    });
  });
});
