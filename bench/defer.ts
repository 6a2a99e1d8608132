/**
 * The @defer rows: for each workload, one operation whose deferred fragments hold the slow
 * fetches, timed as a page sees it: from sending the request to the first payload (the primary
 * part) and to the last. Three variants in every round, one after another: ours with the
 * operation's `@defer` (multipart, deferSpec=20220824, the stream parsed as it arrives by the
 * defer tests' reader), and the same operation with every `@defer` removed on ours and on stock
 * (one JSON answer: its first payload is its last). Requests go one at a time, so that the times
 * are latencies, not queueing behind other clients. Every answer is checked: the merged parts, or
 * the JSON answer, must be stock's answer to the operation without @defer (bench/load.ts
 * `AnswerChecker`), and ours-defer's must come in at least two parts.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse, print, visit } from 'graphql';
import { mergePayloads, multipartPayloads, type Payload } from '../test/integration/defer/multipart.ts';
import type { GatewayProcess } from './gateways.ts';
import { AnswerChecker, normalForm, percentile } from './load.ts';
import type { MeasureSettings } from './measure.ts';
import type { RunnerContext } from './runner.ts';
import type { DeferSample, DeferVariant, GatewayName, WorkloadName } from './types.ts';

const root = path.resolve(import.meta.dirname, '..');

export interface DeferSpec {
  readonly name: string;
  /** The operation with @defer, from the project root. */
  readonly file: string;
  readonly variables: Readonly<Record<string, unknown>>;
}

const DEFER_OPERATIONS: Readonly<Record<WorkloadName, readonly DeferSpec[]>> = {
  // The same page deferred two ways: everything but each ALI's name and member count (the
  // README's example), or only what the other subgraphs join in.
  ali: [
    { name: 'detailsDeferred', file: 'bench/operations/ali-defer-details.graphql', variables: { first: 20 } },
    { name: 'joinsDeferred', file: 'bench/operations/ali-defer-joins.graphql', variables: { first: 20 } },
  ],
  'gateway-bound': [{ name: 'reviewsDeferred', file: 'bench/operations/gateway-bound-defer.graphql', variables: {} }],
};

/** The variants in the order of a round, with the gateway each one is sent to. */
const DEFER_VARIANTS: readonly { readonly variant: DeferVariant; readonly gateway: GatewayName; readonly deferred: boolean }[] = [
  { variant: 'ours-defer', gateway: 'ours', deferred: true },
  { variant: 'ours', gateway: 'ours', deferred: false },
  { variant: 'apollo-gateway', gateway: 'apollo-gateway', deferred: false },
];

/** What Apollo Client 4's `Defer20220824Handler` sends. */
const MULTIPART = 'multipart/mixed;deferSpec=20220824,application/graphql-response+json,application/json;q=0.9';

/** The query with every `@defer` removed: its fragments' fields in place, as the answer without @defer has them. */
function withoutDefer(query: string): string {
  return print(visit(parse(query), { Directive: (node) => (node.name.value === 'defer' ? null : undefined) }));
}

export interface DeferCell {
  readonly workload: WorkloadName;
  readonly spec: DeferSpec;
  readonly variant: DeferVariant;
  readonly gateway: GatewayName;
  readonly samples: DeferSample[];
}

interface PreparedDefer {
  readonly spec: DeferSpec;
  readonly deferredBody: string;
  readonly plainBody: string;
  /** Stock's answer to the operation without @defer, in normal form. */
  readonly expected: string;
}

/** The operation's two request bodies and stock's answer without @defer (refused when it has errors or no data). */
async function prepareDefer(spec: DeferSpec, stockUrl: string): Promise<PreparedDefer> {
  const query = readFileSync(path.join(root, spec.file), 'utf8');
  const plainBody = JSON.stringify({ query: withoutDefer(query), variables: spec.variables });
  const res = await fetch(stockUrl, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: plainBody, signal: AbortSignal.timeout(60_000) });
  const body = (await res.json()) as Parameters<typeof normalForm>[1];
  if (res.status !== 200 || body.errors?.length || body.data === null || body.data === undefined) {
    throw new Error(`no reference answer from stock @apollo/gateway: HTTP ${res.status}: ${JSON.stringify(body.errors ?? body).slice(0, 400)}`);
  }
  return { spec, deferredBody: JSON.stringify({ query, variables: spec.variables }), plainBody, expected: normalForm(res.status, body) };
}

interface Timing {
  readonly firstMs: number;
  readonly lastMs: number;
  readonly payloads: number;
}

/** Reads a multipart answer part by part as it arrives; the merged parts go to the checker. */
async function readParts(res: Response, started: number, checker: AnswerChecker): Promise<Timing> {
  let firstMs = NaN;
  const payloads: Payload[] = [];
  for await (const payload of multipartPayloads(res)) {
    if (payloads.length === 0) firstMs = performance.now() - started;
    payloads.push(payload);
  }
  const lastMs = performance.now() - started;
  if (payloads.length < 2 || payloads[0]!['hasNext'] !== true || payloads.at(-1)!['hasNext'] !== false) {
    checker.transportErrors(1, `answers not in parts (${payloads.length} payload(s), hasNext ${payloads.map((p) => p['hasNext']).join(', ')})`);
    return { firstMs, lastMs, payloads: payloads.length };
  }
  const { data, errors } = mergePayloads(payloads);
  checker.check(res.status, Buffer.from(JSON.stringify(errors.length ? { data, errors } : { data })));
  return { firstMs, lastMs, payloads: payloads.length };
}

/** One request, timed; its answer checked. */
async function timeOne(url: string, body: string, deferred: boolean, checker: AnswerChecker): Promise<Timing | null> {
  const started = performance.now();
  try {
    const res = await fetch(url, {
      method: 'POST',
      // Uncompressed, as autocannon's requests in the other rows: ours would compress a JSON answer
      // (not a multipart one) and stock none, and the rows compare gateways, not compression.
      headers: { 'content-type': 'application/json', accept: deferred ? MULTIPART : 'application/json', 'accept-encoding': 'identity' },
      body,
      signal: AbortSignal.timeout(60_000),
    });
    if (deferred && res.headers.get('content-type')?.startsWith('multipart/mixed')) return await readParts(res, started, checker);
    const bytes = Buffer.from(await res.arrayBuffer());
    const ms = performance.now() - started;
    if (deferred) {
      checker.transportErrors(1, `a single answer instead of parts: HTTP ${res.status}, ${bytes.toString('utf8').slice(0, 200)}`);
      return null;
    }
    checker.check(res.status, bytes);
    return { firstMs: ms, lastMs: ms, payloads: 1 };
  } catch (err) {
    checker.transportErrors(1, `request failed: ${(err as Error).message}`);
    return null;
  }
}

/** Requests one after another for `seconds` (at least `minRequests`), every answer checked. */
async function window(url: string, body: string, deferred: boolean, checker: AnswerChecker, seconds: number, minRequests: number): Promise<Timing[]> {
  const timings: Timing[] = [];
  const started = performance.now();
  // Bounded: a gateway that stops answering times each request out after 60 s; 10 000 requests at most.
  for (let i = 0; i < 10_000 && (i < minRequests || performance.now() - started < seconds * 1000); i++) {
    const t = await timeOne(url, body, deferred, checker);
    if (t) timings.push(t);
  }
  return timings;
}

function failedDeferSample(roundNo: number, failure: string): DeferSample {
  return {
    round: roundNo,
    requests: 0,
    firstPayloadP50Ms: NaN,
    firstPayloadP95Ms: NaN,
    lastPayloadP50Ms: NaN,
    lastPayloadP95Ms: NaN,
    payloadsPerResponse: NaN,
    loadAverage1m: os.loadavg()[0]!,
    errors: 0,
    warmupErrors: 0,
    responsesChecked: 0,
    wrongAnswers: 0,
    failure,
  };
}

/** One round's window of one variant, after a warm-up when `warmUp`. */
async function measureDefer(settings: MeasureSettings, gateway: GatewayProcess, op: PreparedDefer, deferred: boolean, roundNo: number, warmUp: boolean): Promise<DeferSample> {
  const body = deferred ? op.deferredBody : op.plainBody;
  const warm = new AnswerChecker(op.expected);
  if (warmUp) await window(gateway.url, body, deferred, warm, settings.warmupSec, 3);
  const checker = new AnswerChecker(op.expected);
  const timings = await window(gateway.url, body, deferred, checker, settings.durationSec, 5);
  const sorted = (pick: (t: Timing) => number) => Float64Array.from(timings.map(pick)).sort();
  const first = sorted((t) => t.firstMs);
  const last = sorted((t) => t.lastMs);
  return {
    round: roundNo,
    requests: timings.length,
    firstPayloadP50Ms: percentile(first, 50),
    firstPayloadP95Ms: percentile(first, 95),
    lastPayloadP50Ms: percentile(last, 50),
    lastPayloadP95Ms: percentile(last, 95),
    payloadsPerResponse: timings.reduce((n, t) => n + t.payloads, 0) / Math.max(1, timings.length),
    loadAverage1m: os.loadavg()[0]!,
    errors: checker.errors,
    warmupErrors: warm.errors + warm.wrong,
    responsesChecked: warm.checked + checker.checked,
    wrongAnswers: warm.wrong + checker.wrong,
    failure: warm.firstProblem ? `warm-up: ${warm.firstProblem}` : checker.firstProblem,
  };
}

function formatDeferSample(rounds: number, variant: DeferVariant, op: string, s: DeferSample): string {
  if (s.requests === 0) return `  round ${s.round}/${rounds} ${variant.padEnd(14)} ${op.padEnd(20)} FAILED: ${s.failure}`;
  return (
    `  round ${s.round}/${rounds} ${variant.padEnd(14)} ${op.padEnd(20)} first payload p50 ${s.firstPayloadP50Ms.toFixed(1)} ms, ` +
    `last p50 ${s.lastPayloadP50Ms.toFixed(1)} ms (p95 ${s.lastPayloadP95Ms.toFixed(1)} ms), ${s.payloadsPerResponse.toFixed(1)} payloads, ` +
    `${s.requests} req, load ${s.loadAverage1m.toFixed(2)}  ${s.failure ? `FAILED: ${s.failure}` : 'correct'}`
  );
}

/**
 * The workload's @defer rows, after its other operations: every round goes through the variants
 * in {@link DEFER_VARIANTS}' order; the first round warms each one up.
 */
export async function runDeferRounds(ctx: RunnerContext, workload: WorkloadName, processes: ReadonlyMap<GatewayName, GatewayProcess>): Promise<void> {
  const { rounds } = ctx.settings;
  for (const spec of DEFER_OPERATIONS[workload]) {
    const cells = DEFER_VARIANTS.map(({ variant, gateway }) => ({ workload, spec, variant, gateway, samples: [] as DeferSample[] }));
    ctx.deferCells.push(...cells);
    let op: PreparedDefer;
    try {
      op = await prepareDefer(spec, processes.get('apollo-gateway')!.url);
    } catch (err) {
      ctx.failures.push(`${workload} ${spec.name}: ${(err as Error).message}`);
      for (const cell of cells) cell.samples.push(failedDeferSample(1, (err as Error).message));
      continue;
    }
    ctx.log(`  ${spec.name} (@defer): ${DEFER_VARIANTS.map((v) => v.variant).join(', ')}, one request at a time`);
    for (let r = 1; r <= rounds; r++) {
      for (const [i, { variant, gateway, deferred }] of DEFER_VARIANTS.entries()) {
        const proc = processes.get(gateway);
        let sample: DeferSample;
        if (!proc || proc.exited()) sample = failedDeferSample(r, `${gateway} is not running`);
        else sample = await measureDefer(ctx.settings, proc, op, deferred, r, r === 1).catch((err: Error) => failedDeferSample(r, err.message));
        cells[i]!.samples.push(sample);
        ctx.log(formatDeferSample(rounds, variant, spec.name, sample));
      }
    }
  }
}
