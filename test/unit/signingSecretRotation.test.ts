/**
 * Rotating the signing secret without downtime: while GATEWAY_SIGNING_SECRET_PREVIOUS is set, a
 * subgraph accepts tokens signed with either secret, so gateways still signing with the old one
 * and those already on the new one are both served; once it is removed, only the new one is.
 * Every other check (expiry, audience) holds whichever secret signed the token.
 */
import { describe, expect, it, vi } from 'vitest';
import { readGatewayToken, signGatewayToken, type Caller } from '../../lib/access.ts';

const OLD = 'the-secret-being-replaced-0123456789abcdef';
const NEW = 'the-secret-replacing-it-0123456789abcdefgh';
const OTHER = 'a-secret-no-subgraph-knows-0123456789abcd';
const caller: Caller = { sub: 'key-1', role: 'partner', read: ['reuse'], write: [] };

describe('a subgraph during a rotation of the signing secret', () => {
  it('accepts tokens signed with the new secret and with the previous one', async () => {
    for (const secret of [NEW, OLD]) {
      const token = await signGatewayToken(secret, caller, 'reuse');
      expect((await readGatewayToken([NEW, OLD], token, 'reuse')).caller).toEqual(caller);
    }
  });

  it('refuses a token signed with any other secret, and the old secret once the rotation is over', async () => {
    await expect(readGatewayToken([NEW, OLD], await signGatewayToken(OTHER, caller, 'reuse'), 'reuse')).rejects.toMatchObject({ message: 'invalid gateway token' });
    await expect(readGatewayToken(NEW, await signGatewayToken(OLD, caller, 'reuse'), 'reuse')).rejects.toMatchObject({ message: 'invalid gateway token' });
  });

  it('still refuses a token for another subgraph or past its expiry, whichever secret signed it', async () => {
    const forFunding = await signGatewayToken(OLD, caller, 'funding');
    await expect(readGatewayToken([NEW, OLD], forFunding, 'reuse')).rejects.toMatchObject({ message: expect.stringMatching(/^invalid gateway token: .*aud/) });
    vi.useFakeTimers({ now: Date.now() - 120_000, toFake: ['Date'] });
    const expired = await signGatewayToken(OLD, caller, 'reuse', 30);
    vi.useRealTimers();
    await expect(readGatewayToken([NEW, OLD], expired, 'reuse')).rejects.toMatchObject({ message: expect.stringMatching(/^expired gateway token/) });
  });
});
