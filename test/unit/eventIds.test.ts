/**
 * The small pure parts of events and webhooks: event ids (what a client may hand back), the retry
 * schedule (exponential, with jitter between half and all of the doubled delay, capped), and which
 * webhook URLs are accepted.
 */
import { describe, expect, it } from 'vitest';
import { formatEventId, parseEventId, resumeRequestOf } from '../../lib/events.ts';
import { positionKey } from '../../lib/events/log.ts';
import { retryDelay } from '../../gateway/webhooks/schedule.ts';
import { checkUrl } from '../../gateway/webhooks/admin.ts';

describe('event ids', () => {
  it('round-trip, and anything else is no id', () => {
    expect(parseEventId(formatEventId('reuse', 42))).toEqual({ subgraph: 'reuse', position: 42 });
    expect(parseEventId('reuse.0')).toEqual({ subgraph: 'reuse', position: 0 });
    for (const bad of ['reuse', 'reuse.', 'reuse.01', 'reuse.-1', 'Reuse.1', 'reuse.1.2', '.1', 'reuse.99999999999999999', 42, null]) {
      expect(parseEventId(bad), String(bad)).toBeNull();
    }
  });

  it('positions are keys whose string order is their numeric order', () => {
    const positions = [1, 9, 10, 99, 100, 123456789];
    expect(positions.map(positionKey).sort()).toEqual(positions.map(positionKey));
  });

  it('a subscribe payload asks for the protocol with extensions.eventLog', () => {
    expect(resumeRequestOf({ eventLog: { after: 'reuse.3' } })).toEqual({ after: 'reuse.3' });
    expect(resumeRequestOf({ eventLog: {} })).toEqual({ after: null });
    expect(resumeRequestOf({ lastEventId: 'reuse.3' })).toBeUndefined();
    expect(resumeRequestOf(undefined)).toBeUndefined();
  });
});

describe('the webhook retry schedule', () => {
  const schedule = { baseMs: 5_000, maxMs: 3_600_000 };
  it('doubles from the base, between half and all of the delay, up to the cap', () => {
    expect([1, 2, 3, 4].map((n) => retryDelay(n, schedule, () => 1))).toEqual([5_000, 10_000, 20_000, 40_000]);
    expect([1, 2, 3, 4].map((n) => retryDelay(n, schedule, () => 0))).toEqual([2_500, 5_000, 10_000, 20_000]);
    expect(retryDelay(20, schedule, () => 1)).toBe(3_600_000);
    expect(retryDelay(20, schedule, () => 0)).toBe(1_800_000);
  });
});

describe('webhook URLs', () => {
  it('https anywhere; http on loopback only where allowed; no credentials', () => {
    expect(checkUrl('https://partner.example/hooks', false)).toBe('https://partner.example/hooks');
    expect(checkUrl('http://127.0.0.1:8787/', true)).toBe('http://127.0.0.1:8787/');
    expect(checkUrl('http://localhost/x', true)).toBe('http://localhost/x');
    expect(checkUrl('http://[::1]:9/', true)).toBe('http://[::1]:9/');
    for (const [url, allow] of [['http://127.0.0.1/', false], ['http://partner.example/', true], ['http://10.0.0.1/', true], ['ftp://x/', true], ['not a url', true], ['https://u:p@partner.example/', true]] as const) {
      expect(() => checkUrl(url, allow), url).toThrow(expect.objectContaining({ extensions: expect.objectContaining({ code: 'BAD_USER_INPUT', argument: 'url' }) }));
    }
  });
});
