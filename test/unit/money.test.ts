import { describe, expect, it } from 'vitest';
import { allocate, euros, formatCents, parseCents, percent, ratio } from '../../lib/money.ts';

describe('money', () => {
  it('formats and parses exact amounts', () => {
    expect(formatCents(389070000n)).toBe('3890700.00');
    expect(formatCents(5n)).toBe('0.05');
    expect(formatCents(-123n)).toBe('-1.23');
    expect(parseCents('1249769')).toBe(124976900n);
    expect(parseCents('0.5')).toBe(50n);
    expect(parseCents('-10.25')).toBe(-1025n);
    for (const bad of ['1.234', '1e3', '', 'abc', '1,00', '0.1.2', '99999999999999999']) {
      expect(() => parseCents(bad), bad).toThrow(RangeError);
    }
    expect(euros(3_890_700)).toBe(389070000n);
    expect(() => euros(1.5)).toThrow(RangeError);
  });

  it('computes rates from amounts with integer arithmetic, rounding half up', () => {
    // Fact sigma-ter-project: the "40%" label is 39.994% exactly
    expect(percent(129939000n, 324893500n, 3)).toBe('39.994');
    expect(ratio(129939000n, 324893500n, 6)).toBe('0.399943');
    // Fact acquisti-on-line-project
    expect(percent(49990800n, 124976900n, 3)).toBe('40.000');
    expect(ratio(1n, 8n, 2)).toBe('0.13'); // 0.125 → half up
    expect(ratio(1n, 3n, 0)).toBe('0');
    expect(ratio(-1n, 8n, 2)).toBe('-0.13');
    expect(() => ratio(1n, 0n, 2)).toThrow(RangeError);
  });

  it('allocates by largest remainder: parts sum exactly to the total and follow the weights', () => {
    const total = 385184600n;
    const weights = [269n, 70n, 76n, 222n, 112n, 184n, 71n, 68n];
    const parts = allocate(total, weights);
    expect(parts.reduce((a, b) => a + b, 0n)).toBe(total);
    const sumW = weights.reduce((a, b) => a + b, 0n);
    parts.forEach((p, i) => {
      const exact = (total * weights[i]!) / sumW;
      expect(p === exact || p === exact + 1n).toBe(true);
    });
    expect(allocate(total, weights)).toEqual(parts); // deterministic
    expect(allocate(10n, [1n, 1n, 1n])).toEqual([4n, 3n, 3n]); // ties go to the earlier index
    expect(allocate(7n, [0n, 1n])).toEqual([0n, 7n]);
    expect(() => allocate(1n, [])).toThrow(RangeError);
    expect(() => allocate(1n, [0n, 0n])).toThrow(RangeError);
  });
});
