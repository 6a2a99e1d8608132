/**
 * The cached gateway (`ours-cache`) on the ALI workload: reads of one operation from many
 * connections, and after every `writeEvery` reads a real mutation through the same gateway (an
 * editor moves one adoption between two started statuses, back and forth), so that invalidation
 * happens during the window. Every answer is checked against the two answers stock
 * @apollo/gateway (uncached) gives for the data before and after a write; a read that began after
 * a write was acknowledged and answers with the data from before it is a stale answer. The hit
 * ratios come from the gateway's own /metrics (`ali_gateway_cache_lookups_total`).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { GatewayProcess } from './gateways.ts';
import { normalForm, percentile } from './load.ts';
import { waitIdle, type MeasureSettings } from './measure.ts';
import { cpuMs } from './proc.ts';
import { sumFetches, type SubgraphHost } from './subgraphHostClient.ts';
import type { CacheRoundSample } from './types.ts';
import { referenceAnswer, type OperationSpec, type PreparedOperation } from './workloads.ts';

const root = path.resolve(import.meta.dirname, '..');
const CHANGE_ADOPTION_STATUS = readFileSync(path.join(root, 'test/e2e/operations/mutations/changeAdoptionStatus.graphql'), 'utf8');
const STARTED = ['ACTIVE', 'IN_PROGRESS', 'DISCONTINUED'];

async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(120_000),
  });
  return { status: res.status, text: await res.text() };
}

/** The writes: one adoption moved between two started statuses through the cached gateway, by an editor. */
export class AdoptionToggle {
  /** 0: the seeded status (what the reference answers show), 1: the other one. */
  state: 0 | 1 = 0;

  private constructor(
    private readonly gatewayUrl: string,
    private readonly editorKey: string,
    readonly adoptionId: string,
    readonly statuses: readonly [string, string],
    private version: number,
  ) {}

  /**
   * An adoption of a Comune that both the dashboard (an ALI's first 20 members) and the
   * municipalities operation (the first 200 Comuni) show, in a started status; read from stock.
   */
  static async find(referenceUrl: string, gatewayUrl: string, editorKey: string): Promise<AdoptionToggle> {
    const { text } = await post(referenceUrl, {
      query: `{ alliances { members(first: 20) { nodes { istatCode } } }
                municipalities(first: 200, orderBy: ISTAT_CODE_ASC) { nodes { istatCode adoptions { id status version } } } }`,
    });
    type Adoption = { id: string; status: string; version: number };
    const { data } = JSON.parse(text) as {
      data: { alliances: { members: { nodes: { istatCode: string }[] } }[]; municipalities: { nodes: { istatCode: string; adoptions: Adoption[] }[] } };
    };
    const onDashboard = new Set(data.alliances.flatMap((a) => a.members.nodes.map((m) => m.istatCode)));
    for (const m of data.municipalities.nodes) {
      if (!onDashboard.has(m.istatCode)) continue;
      const a = m.adoptions.find((x) => STARTED.includes(x.status));
      if (a) return new AdoptionToggle(gatewayUrl, editorKey, a.id, [a.status, a.status === 'ACTIVE' ? 'IN_PROGRESS' : 'ACTIVE'], a.version);
    }
    throw new Error('no started adoption of a Comune shown by both operations: nothing to write');
  }

  describe(): string {
    return `changeAdoptionStatus of adoption ${this.adoptionId} (${this.statuses[0]} ↔ ${this.statuses[1]}), editor key, through the cached gateway`;
  }

  /** One mutation through the gateway; resolves when its answer has arrived (the write is acknowledged). */
  async flip(): Promise<void> {
    const next = this.state === 0 ? 1 : 0;
    const { status, text } = await post(
      this.gatewayUrl,
      { query: CHANGE_ADOPTION_STATUS, variables: { id: this.adoptionId, status: this.statuses[next], expectedVersion: this.version } },
      { 'x-api-key': this.editorKey },
    );
    const body = JSON.parse(text) as { data?: { changeAdoptionStatus?: { adoption: { version: number } } }; errors?: unknown[] };
    const adoption = body.data?.changeAdoptionStatus?.adoption;
    if (status !== 200 || body.errors?.length || !adoption) throw new Error(`the write failed: HTTP ${status} ${text.slice(0, 300)}`);
    this.version = adoption.version;
    this.state = next;
  }
}

/** Stock's uncached answers (normal form) to `spec` before ([0]) and after ([1]) a write; the data left as it was. */
export async function answersAroundWrite(toggle: AdoptionToggle, referenceUrl: string, specs: readonly OperationSpec[]): Promise<Map<string, [string, string]>> {
  const before = new Map<string, string>();
  for (const spec of specs) before.set(spec.name, await reference(referenceUrl, spec));
  await toggle.flip();
  try {
    const out = new Map<string, [string, string]>();
    for (const spec of specs) out.set(spec.name, [before.get(spec.name)!, await reference(referenceUrl, spec)]);
    return out;
  } finally {
    await toggle.flip();
  }
}

async function reference(url: string, spec: OperationSpec): Promise<string> {
  const ref = await referenceAnswer(url, spec);
  if (!ref.ok) throw new Error(`no reference answer for ${spec.name}: ${ref.reason}`);
  return ref.expected;
}

/** Cache lookups by `layer/result`, read from the gateway's /metrics. */
async function lookups(graphqlUrl: string): Promise<Map<string, number>> {
  const res = await fetch(graphqlUrl.replace(/\/graphql$/, '/metrics'), { signal: AbortSignal.timeout(10_000) });
  if (res.status !== 200) throw new Error(`GET /metrics: HTTP ${res.status}`);
  const out = new Map<string, number>();
  for (const line of (await res.text()).split('\n')) {
    const m = /^ali_gateway_cache_lookups_total\{(.*)\} (\S+)$/.exec(line);
    if (!m) continue;
    const layer = /layer="([^"]*)"/.exec(m[1]!)?.[1];
    const result = /result="([^"]*)"/.exec(m[1]!)?.[1];
    out.set(`${layer}/${result}`, (out.get(`${layer}/${result}`) ?? 0) + Number(m[2]));
  }
  if (out.size === 0) throw new Error('GET /metrics: no ali_gateway_cache_lookups_total series (is the cache on?)');
  return out;
}

interface Read {
  start: number;
  end: number;
  /** 0 or 1: the data before or after a write; -1 neither; -2 an error. */
  state: number;
}
interface Write {
  sentAt: number;
  ackAt: number;
  state: number;
}

/**
 * Stale answers: a read must show the state of the last write acknowledged before it began,
 * unless a later write was already sent before it ended (then either state is right).
 */
function countStale(reads: readonly Read[], writes: readonly Write[]): { stale: number; judged: number } {
  let stale = 0;
  let judged = 0;
  for (const r of reads) {
    if (r.state < 0) continue;
    let k = -1;
    while (k + 1 < writes.length && writes[k + 1]!.ackAt < r.start) k++;
    const next = writes[k + 1];
    if (next && next.sentAt < r.end) continue;
    // Only the reads begun after a write was acknowledged can be stale.
    if (k < 0) continue;
    judged++;
    if (r.state !== writes[k]!.state) stale++;
  }
  return { stale, judged };
}

interface WindowResult {
  reads: Read[];
  writes: Write[];
  elapsedMs: number;
  firstProblem: string | null;
}

/** `amount` reads over `connections` connections, a write after every `writeEvery` reads (one at a time). */
async function readAndWrite(url: string, body: string, expected: readonly [string, string], connections: number, amount: number, writeEvery: number, toggle: AdoptionToggle, atLastRead?: () => void): Promise<WindowResult> {
  const reads: Read[] = [];
  const writes: Write[] = [];
  const verdicts = new Map<string, number>();
  let firstProblem: string | null = null;
  let issued = 0;
  // Reads completed since the last write was acknowledged: the next write waits for writeEvery of
  // them, so that writes never run back to back and reads between two writes are always judged.
  let sinceWrite = 0;
  let writer: Promise<void> | undefined;
  const judge = (status: number, text: string): number => {
    const known = status === 200 ? verdicts.get(text) : undefined;
    if (known !== undefined) return known;
    let verdict = -2;
    try {
      const parsed = JSON.parse(text) as Parameters<typeof normalForm>[1];
      if (status === 200 && !parsed.errors?.length) verdict = expected.indexOf(normalForm(status, parsed));
    } catch {
      // not JSON: an error
    }
    if (verdict < 0) firstProblem ??= `HTTP ${status}, ${verdict === -1 ? 'an answer neither before nor after the write' : 'an error'}: ${text.slice(0, 200)}`;
    else if (verdicts.size < 16) verdicts.set(text, verdict);
    return verdict;
  };
  const write = async () => {
    const sentAt = performance.now();
    try {
      await toggle.flip();
      writes.push({ sentAt, ackAt: performance.now(), state: toggle.state });
    } catch (err) {
      firstProblem ??= (err as Error).message;
    } finally {
      sinceWrite = 0;
      writer = undefined;
    }
  };
  const started = performance.now();
  const worker = async () => {
    while (issued < amount) {
      issued++;
      const start = performance.now();
      let state = -2;
      try {
        const res = await post(url, body);
        state = judge(res.status, res.text);
      } catch (err) {
        firstProblem ??= (err as Error).message;
      }
      reads.push({ start, end: performance.now(), state });
      if (reads.length === amount) atLastRead?.();
      if (++sinceWrite >= writeEvery && !writer && issued < amount) writer = write();
    }
  };
  await Promise.all(Array.from({ length: connections }, worker));
  const elapsedMs = performance.now() - started;
  await writer;
  return { reads, writes, elapsedMs, firstProblem };
}

/**
 * One window of the cached gateway on `op` (after a warm-up in round 1): the reads, the writes,
 * the gateway's CPU time and cache lookups over exactly these requests. The data is put back as
 * seeded afterwards (an even number of writes), for the other gateways' expected answers.
 */
export async function measureCached(
  settings: MeasureSettings & { readonly writeEvery: number },
  gateway: GatewayProcess,
  host: SubgraphHost,
  op: PreparedOperation,
  expected: readonly [string, string],
  toggle: AdoptionToggle,
  roundNo: number,
  rateHint: number | undefined,
): Promise<CacheRoundSample> {
  const { connections, writeEvery } = settings;
  let rate = rateHint;
  let warmStale = { stale: 0, judged: 0 };
  if (roundNo === 1) {
    const warm = await readAndWrite(gateway.url, op.body, expected, settings.warmupConnections, Math.max(2 * writeEvery + 1, 50), writeEvery, toggle);
    if (toggle.state !== 0) await toggle.flip();
    if (warm.firstProblem) throw new Error(`warm-up: ${warm.firstProblem}`);
    warmStale = countStale(warm.reads, warm.writes);
    rate ??= warm.reads.length / (warm.elapsedMs / 1000);
  }
  if (toggle.state !== 0) await toggle.flip();
  await waitIdle(gateway.pid, host);
  // Room for at least two writes in every window (each waits for writeEvery reads after the previous one).
  const amount = Math.max(connections, 3 * writeEvery, Math.round((rate ?? 0) * settings.durationSec));
  await host.reset();
  const lookupsBefore = await lookups(gateway.url);
  const cpuBefore = cpuMs(gateway.pid);
  const dbPid = host.ready.databasePid;
  const databaseCpuBefore = dbPid === null ? NaN : cpuMs(dbPid);
  let cpuAtLastRead = NaN;
  const w = await readAndWrite(gateway.url, op.body, expected, connections, amount, writeEvery, toggle, () => (cpuAtLastRead = cpuMs(gateway.pid)));
  await waitIdle(gateway.pid, host);
  const cpu = cpuMs(gateway.pid) - cpuBefore;
  const databaseCpu = dbPid === null ? null : cpuMs(dbPid) - databaseCpuBefore;
  const counters = await host.counters();
  const after = await lookups(gateway.url);
  const delta = (key: string) => (after.get(key) ?? 0) - (lookupsBefore.get(key) ?? 0);
  const ratio = (layer: string) => delta(`${layer}/hit`) / Math.max(1, delta(`${layer}/hit`) + delta(`${layer}/miss`) + delta(`${layer}/stale`));
  if (toggle.state !== 0) await toggle.flip();
  const stale = countStale(w.reads, w.writes);
  const latencies = Float64Array.from(w.reads.map((r) => r.end - r.start)).sort();
  const commands = counters.commands;
  const n = Math.max(1, w.reads.length);
  return {
    round: roundNo,
    rps: w.reads.length / (w.elapsedMs / 1000),
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    cpuMsPerRequest: cpu / n,
    gatewayCpuShare: (cpuAtLastRead - cpuBefore) / w.elapsedMs,
    reads: w.reads.length,
    writes: w.writes.length,
    elapsedMs: Math.round(w.elapsedMs),
    responseHitRatio: ratio('response'),
    fetchHitRatio: ratio('fetch'),
    staleRejections: delta('response/stale') + delta('fetch/stale'),
    staleAnswers: warmStale.stale + stale.stale,
    staleChecked: warmStale.judged + stale.judged,
    wrongAnswers: w.reads.filter((r) => r.state === -1).length,
    errors: w.reads.filter((r) => r.state === -2).length,
    subgraphFetchesPerOperation: sumFetches(counters) / n,
    mongoCommandsPerOperation: commands ? Object.values(commands).reduce((x, y) => x + y, 0) / n : null,
    databaseCpuMsPerRequest: databaseCpu === null ? null : databaseCpu / n,
    failure: w.firstProblem,
  };
}

export function formatCacheSample(rounds: number, op: string, s: CacheRoundSample): string {
  return (
    `  round ${s.round}/${rounds} ${'ours-cache'.padEnd(14)} ${op.padEnd(16)} ${s.rps.toFixed(1).padStart(7)} req/s  p50 ${s.p50Ms.toFixed(1)} ms  p99 ${s.p99Ms.toFixed(1)} ms  ` +
    `CPU ${s.cpuMsPerRequest.toFixed(2)} ms/req  ${s.reads} reads, ${s.writes} writes  response hits ${(100 * s.responseHitRatio).toFixed(1)}%  ` +
    `fetch hits ${(100 * s.fetchHitRatio).toFixed(1)}%  stale answers ${s.staleAnswers} of ${s.staleChecked} reads begun after a write  ` +
    (s.failure ? `FAILED: ${s.failure}` : s.staleAnswers || s.wrongAnswers || s.errors ? 'FAILED' : 'correct')
  );
}
