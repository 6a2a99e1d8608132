/**
 * Exact money and rates. Amounts live in MongoDB as Int64 euro cents and in the program as
 * `bigint` cents; they cross the API as decimal strings ("3890700.00"). No floating point
 * anywhere between the database and the JSON response.
 */
import type { Long } from 'mongodb';
import { mongodb } from './drivers.ts';

export type Cents = bigint;

const DECIMAL_RE = /^(-?)(\d{1,15})(?:\.(\d{1,2}))?$/;

/** "3890700.00" for 389070000n. */
export function formatCents(cents: Cents): string {
  const neg = cents < 0n;
  const abs = neg ? -cents : cents;
  const units = abs / 100n;
  const frac = (abs % 100n).toString().padStart(2, '0');
  return `${neg ? '-' : ''}${units}.${frac}`;
}

/** Parses an exact decimal amount of at most two decimals; throws RangeError otherwise. */
export function parseCents(text: string): Cents {
  const m = DECIMAL_RE.exec(text.trim());
  if (!m) throw new RangeError(`"${text}" is not an exact amount in euro with at most two decimals`);
  const [, sign, units, frac = ''] = m;
  const cents = BigInt(units!) * 100n + BigInt(frac.padEnd(2, '0'));
  return sign === '-' ? -cents : cents;
}

/** Whole euros to cents: for the published figures, which are all whole euros. */
export function euros(amount: number | bigint): Cents {
  if (typeof amount === 'number' && !Number.isSafeInteger(amount)) throw new RangeError(`${amount} is not a whole amount`);
  return BigInt(amount) * 100n;
}

/** Reads an amount stored as Int64 (bigint with `useBigInt64`, Long, or a safe integer). */
export function fromStored(value: unknown): Cents | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  if (typeof value === 'object' && value instanceof mongodb().Long) return (value as Long).toBigInt();
  throw new TypeError(`stored amount ${String(value)} is not an integer number of cents`);
}

/**
 * `numerator / denominator` as a decimal string with `places` decimals, rounded half-up.
 * Exact integer arithmetic: the rate of €1,299,390 over €3,248,935 is "0.399943" at 6 places.
 */
export function ratio(numerator: bigint, denominator: bigint, places: number): string {
  if (denominator === 0n) throw new RangeError('ratio with a zero denominator');
  if (!Number.isInteger(places) || places < 0 || places > 12) throw new RangeError('places must be 0..12');
  const neg = numerator < 0n !== denominator < 0n && numerator !== 0n;
  const n = numerator < 0n ? -numerator : numerator;
  const d = denominator < 0n ? -denominator : denominator;
  const scale = 10n ** BigInt(places);
  const scaled = (n * scale * 2n + d) / (2n * d); // round half up
  const int = (scaled / scale).toString();
  const frac = places === 0 ? '' : `.${(scaled % scale).toString().padStart(places, '0')}`;
  return `${neg ? '-' : ''}${int}${frac}`;
}

/** Percentage of `part` in `whole` with `places` decimals: percent(1299390, 3248935, 3) = "39.994". */
export function percent(part: bigint, whole: bigint, places: number): string {
  return ratio(part * 100n, whole, places);
}

/**
 * Splits `total` into parts proportional to `weights`, in whole units, by the largest-remainder
 * method: the parts always sum exactly to `total`; ties go to the earlier index, so the result
 * is deterministic.
 */
export function allocate(total: bigint, weights: readonly bigint[]): bigint[] {
  if (weights.length === 0) throw new RangeError('allocate needs at least one weight');
  if (weights.some((w) => w < 0n)) throw new RangeError('weights must not be negative');
  const sum = weights.reduce((a, b) => a + b, 0n);
  if (sum === 0n) throw new RangeError('weights must not all be zero');
  const base = weights.map((w) => (total * w) / sum);
  const remainders = weights.map((w, i) => ({ i, r: (total * w) % sum }));
  let left = total - base.reduce((a, b) => a + b, 0n);
  remainders.sort((a, b) => (a.r === b.r ? a.i - b.i : a.r > b.r ? -1 : 1));
  for (const { i } of remainders) {
    if (left <= 0n) break;
    base[i]! += 1n;
    left -= 1n;
  }
  return base;
}
