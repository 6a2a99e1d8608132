import { describe, expect, it } from 'vitest';
import { memberCounts, piedmontMunicipalities, PROVINCES } from '../../lib/domain/registry.ts';
import { ALI_PROJECTS_COFINANCING, ALI_PROJECTS_TOTAL, aliProjects, reuseProjects } from '../../subgraphs/funding/data/seed.ts';
import { totalsOf } from '../../subgraphs/funding/data/queries.ts';

describe('derived membership', () => {
  it('reproduces member-comuni and small-member-comuni exactly over the ISTAT registry, in every province', () => {
    const all = piedmontMunicipalities();
    expect(all).toHaveLength(1181);
    const members = all.filter((m) => m.allianceId);
    expect(members).toHaveLength(1072);
    expect(members.filter((m) => m.small)).toHaveLength(1004);
    // a member belongs to the ALI of its own province
    const allianceOf = new Map(PROVINCES.map((p) => [p.code, p.allianceId]));
    expect(members.every((m) => m.allianceId === allianceOf.get(m.provinceCode))).toBe(true);
    expect([...memberCounts().values()].every((n) => n > 0)).toBe(true);
  });
});

describe('estimated split of the ALI projects (ali-projects-funded)', () => {
  it('sums exactly to the published totals in whole cents', () => {
    const parts = aliProjects();
    expect(parts).toHaveLength(8);
    expect(parts.reduce((a, p) => a + p.totalValue, 0n)).toBe(ALI_PROJECTS_TOTAL);
    expect(parts.reduce((a, p) => a + p.cofinancing, 0n)).toBe(ALI_PROJECTS_COFINANCING);
    expect(parts.every((p) => p.provenance === 'ESTIMATED' && p.cofinancing <= p.totalValue)).toBe(true);
  });
});

describe('totals and their provenance', () => {
  it('is DERIVED for a complete split, ESTIMATED for part of one, SAMPLE with sample data', () => {
    const ali = aliProjects();
    const reuse = reuseProjects();
    const all = totalsOf([...ali, ...reuse]);
    expect(all).toEqual({ projectCount: 10, totalValue: 835055000n, cofinancing: 501917700n, provenance: 'DERIVED' });
    expect(totalsOf(reuse).provenance).toBe('DERIVED');
    expect(totalsOf([ali[0]!, ...reuse]).provenance).toBe('ESTIMATED');
    expect(totalsOf([{ ...reuse[0]!, provenance: 'SAMPLE' }]).provenance).toBe('SAMPLE');
    expect(totalsOf([])).toEqual({ projectCount: 0, totalValue: 0n, cofinancing: 0n, provenance: 'DERIVED' });
  });
});
