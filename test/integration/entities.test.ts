/**
 * Federation's `_entities`, as the gateway sends it, on each subgraph's real schema run
 * in-process over its seeded database: the representations resolve through `ctx.data` in key
 * order (null for an unknown key), and each loader batch of a whole fetch is one MongoDB command.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memberCounts, PROVINCES } from '../../lib/domain/registry.ts';
import { formatCents } from '../../lib/money.ts';
import type { SubgraphModule } from '../../lib/subgraph.ts';
import { subgraphModules } from '../../subgraphs/index.ts';
import { committeeMemberDocs, facilitatorDocs } from '../../subgraphs/governance/data/seed.ts';
import { aliProjects } from '../../subgraphs/funding/data/seed.ts';
import { adoptionDocs } from '../../subgraphs/reuse/data/seed.ts';
import { commandSummary, useSeededDb, type SubgraphDb } from '../helpers/db.ts';
import { localSubgraph, type LocalSubgraph } from '../helpers/localSubgraph.ts';

/** A fresh seeded database of `mod` and its schema in-process, for the tests of one describe block. */
function useSubgraph(mod: SubgraphModule<unknown>): { readonly db: SubgraphDb; execute: LocalSubgraph['execute'] } {
  const db = useSeededDb(mod);
  let subgraph: LocalSubgraph | undefined;
  beforeAll(() => {
    subgraph = localSubgraph(mod, db);
  });
  afterAll(() => subgraph?.close());
  return { db, execute: (...args) => subgraph!.execute(...args) };
}

const entities = (fragment: string) => `query ($representations: [_Any!]!) { _entities(representations: $representations) { ${fragment} } }`;

describe('alliances', () => {
  const t = useSubgraph(subgraphModules.alliances);

  it('resolves Alliance representations with one find and member counts with one aggregation', async () => {
    const representations = ['ali-cn', 'ali-xx', 'ali-to'].map((id) => ({ __typename: 'Alliance', id }));
    const result = await t.execute(entities('... on Alliance { id name memberCount }'), { representations });
    expect(result.errors).toBeUndefined();
    expect(result.data?._entities).toEqual([
      { id: 'ali-cn', name: 'ALI Cuneo', memberCount: memberCounts().get('ali-cn') },
      null,
      { id: 'ali-to', name: 'ALI Torino', memberCount: memberCounts().get('ali-to') },
    ]);
    expect(commandSummary(t.db.commands)).toEqual({ 'alliances.find:alliances': 1, 'alliances.aggregate:municipalities': 1 });
  });
});

describe('governance', () => {
  const t = useSubgraph(subgraphModules.governance);

  it('adds facilitators to every ALI and seats to Comuni, one find per field', async () => {
    const alliances = PROVINCES.map((p) => ({ __typename: 'Alliance', id: p.allianceId }));
    const seats = committeeMemberDocs().filter((s) => s.memberType === 'Municipality');
    const comuni = seats.map((s) => ({ __typename: 'Municipality', istatCode: s.memberId }));
    const result = await t.execute(entities('... on Alliance { facilitators { id } } ... on Municipality { committeeSeats { id } }'), {
      representations: [...alliances, ...comuni],
    });
    expect(result.errors).toBeUndefined();
    expect(result.data?._entities).toEqual([
      ...PROVINCES.map((p) => ({
        facilitators: facilitatorDocs()
          .filter((f) => f.allianceIds.includes(p.allianceId))
          .sort((a, b) => (a.name < b.name ? -1 : 1))
          .map((f) => ({ id: f._id })),
      })),
      ...seats.map((s) => ({ committeeSeats: [{ id: s._id }] })),
    ]);
    expect(commandSummary(t.db.commands)).toEqual({ 'governance.find:facilitators': 1, 'governance.find:committeeMembers': 1 });
  });
});

describe('funding', () => {
  const t = useSubgraph(subgraphModules.funding);

  it('adds the funded projects of every ALI with one find, amounts exact', async () => {
    const representations = PROVINCES.map((p) => ({ __typename: 'Alliance', id: p.allianceId }));
    const result = await t.execute(entities('... on Alliance { fundedProjects { id totalValue } }'), { representations });
    expect(result.errors).toBeUndefined();
    const byAlliance = new Map(aliProjects().map((p) => [p.allianceId, { id: p._id, totalValue: formatCents(p.totalValue) }]));
    expect(result.data?._entities).toEqual(PROVINCES.map((p) => ({ fundedProjects: [byAlliance.get(p.allianceId)] })));
    expect(commandSummary(t.db.commands)).toEqual({ 'funding.find:funded_projects': 1 });
  });
});

describe('reuse', () => {
  const t = useSubgraph(subgraphModules.reuse);

  it('adds the adoptions of many Comuni with one find', async () => {
    const adoptions = adoptionDocs();
    const comuni = [...new Set(adoptions.map((a) => a.istatCode))].slice(0, 5);
    const representations = comuni.map((istatCode) => ({ __typename: 'Municipality', istatCode }));
    const result = await t.execute(entities('... on Municipality { adoptions { id status } }'), { representations });
    expect(result.errors).toBeUndefined();
    expect(result.data?._entities).toEqual(
      comuni.map((c) => ({
        adoptions: adoptions
          .filter((a) => a.istatCode === c)
          .sort((a, b) => (a._id < b._id ? -1 : 1))
          .map((a) => ({ id: a._id, status: a.status })),
      })),
    );
    expect(commandSummary(t.db.commands)).toEqual({ 'reuse.find:adoptions': 1 });
  });
});
