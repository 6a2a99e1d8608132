/** How long the gateway keeps a subgraph's answer, from its Cache-Control (Apollo's cache hints). */
import { describe, expect, it } from 'vitest';
import { lifetimeFromHeader } from '../../gateway/cache/hints.ts';

describe('lifetimeFromHeader', () => {
  it('keeps an answer for its max-age', () => {
    expect(lifetimeFromHeader('max-age=300, public')).toBe(300_000);
    expect(lifetimeFromHeader('public, MAX-AGE=60')).toBe(60_000);
  });

  it('keeps nothing without a hint, with max-age 0 or a malformed one', () => {
    for (const header of [null, '', 'public', 'max-age=0, public', 'max-age=-5', 'max-age=1e3', 'max-age=']) expect(lifetimeFromHeader(header), String(header)).toBe(0);
  });

  // One API key stands for many people (a portal, every anonymous visitor): PRIVATE is never kept.
  it('keeps nothing private, no-store or no-cache', () => {
    for (const header of ['max-age=300, private', 'no-store', 'max-age=300, no-cache']) expect(lifetimeFromHeader(header), header).toBe(0);
  });
});
