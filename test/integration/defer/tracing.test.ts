/**
 * OpenTelemetry spans of a deferred answer: one `gateway.defer` span per deferred part, with its
 * label and position, enclosing that part's subgraph fetches and its nested parts, marked failed
 * when one of its fetches failed; none when the client takes the answer whole.
 *
 * This file only: the tracer provider is process-wide, and vitest runs each file on its own.
 */
import { readFileSync } from 'node:fs';
import { NodeSDK, tracing } from '@opentelemetry/sdk-node';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startDeferFixture, type DeferFixture } from './fixtures.ts';
import { multipartPayloads, type Payload } from './multipart.ts';

const exporter = new tracing.InMemorySpanExporter();
const sdk = new NodeSDK({ spanProcessors: [new tracing.SimpleSpanProcessor(exporter)], instrumentations: [], metricReaders: [], logRecordProcessors: [] });
const DEFERRED = readFileSync(new URL('./operations/allianceFunding.graphql', import.meta.url), 'utf8');
const LEGACY = 'multipart/mixed;deferSpec=20220824,application/json;q=0.9';

let fx: DeferFixture;

beforeAll(async () => {
  sdk.start();
  fx = await startDeferFixture();
});
afterAll(async () => {
  await fx?.stop();
  await sdk.shutdown();
});
beforeEach(() => exporter.reset());

type Span = tracing.ReadableSpan & { parentSpanContext?: { spanId: string }; parentSpanId?: string };

async function send(accept: string): Promise<Payload[]> {
  const res = await fetch(fx.url, { method: 'POST', headers: { 'content-type': 'application/json', accept }, body: JSON.stringify({ query: DEFERRED }) });
  if (!res.headers.get('content-type')?.startsWith('multipart/mixed')) return [(await res.json()) as Payload];
  const out: Payload[] = [];
  for await (const payload of multipartPayloads(res)) out.push(payload);
  return out;
}

/** The finished spans, once the request's own spans and the deferred parts' have ended. */
async function spans(): Promise<Span[]> {
  for (let waited = 0; waited < 5000 && !exporter.getFinishedSpans().some((s) => s.name === 'gateway.request'); waited += 20) await new Promise((r) => setTimeout(r, 20));
  return exporter.getFinishedSpans() as Span[];
}

const parentOf = (all: readonly Span[], span: Span): Span | undefined => {
  const id = span.parentSpanContext?.spanId ?? span.parentSpanId;
  return all.find((s) => s.spanContext().spanId === id);
};

describe('tracing spans of @defer', () => {
  it('opens one span per deferred part, around its fetches, under the part that encloses it', async () => {
    const payloads = await send(LEGACY);
    expect(payloads.length).toBeGreaterThanOrEqual(3);
    const all = await spans();
    const defers = all.filter((s) => s.name === 'gateway.defer');
    expect(defers.map((s) => s.attributes).sort((a, b) => String(a['graphql.path']).localeCompare(String(b['graphql.path'])))).toEqual([
      { 'graphql.path': 'alliances', 'graphql.label': 'funding' },
      { 'graphql.path': 'alliances/projects/partner' },
    ]);
    const funding = defers.find((s) => s.attributes['graphql.label'] === 'funding')!;
    const nested = defers.find((s) => s !== funding)!;
    // The labelled part runs under the execution of the request; the nested one inside it.
    expect(parentOf(all, funding)?.name).toBe('gateway.execute');
    expect(parentOf(all, nested)).toBe(funding);
    // Each part's subgraph fetches are its children: funding's, then the partners' names
    // (alliances) for the labelled part, the partners' provinces (alliances) for the nested one;
    // the primary part's fetch is the execution's.
    const fetches = all.filter((s) => s.name === 'gateway.fetch');
    expect(fetches.filter((s) => parentOf(all, s) === funding).map((s) => s.attributes['service'])).toEqual(['funding', 'alliances']);
    expect(fetches.filter((s) => parentOf(all, s) === nested).map((s) => s.attributes['service'])).toEqual(['alliances']);
    expect(fetches.filter((s) => parentOf(all, s)?.name === 'gateway.execute').map((s) => s.attributes['service'])).toEqual(['alliances']);
    // `audit` fails for one alliance: its part's span is failed, the nested part's is not.
    expect(funding.status.code).toBe(2);
    expect(nested.status.code).not.toBe(2);
    // A part's span starts before its fetches. (Its end follows their results, not their spans:
    // a fetch's span may close a moment after the part has its answer, so no order is asserted.)
    const ns = (t: [number, number]) => BigInt(t[0]) * 1_000_000_000n + BigInt(t[1]);
    for (const fetch of fetches.filter((s) => parentOf(all, s) === funding)) {
      expect(ns(fetch.startTime) >= ns(funding.startTime)).toBe(true);
    }
  });

  it('opens none when the client takes the answer whole', async () => {
    const [answer] = await send('application/json');
    expect(answer!['data']['alliances']).toHaveLength(3);
    const all = await spans();
    expect(all.some((s) => s.name === 'gateway.fetch')).toBe(true);
    expect(all.filter((s) => s.name === 'gateway.defer')).toEqual([]);
  });
});
