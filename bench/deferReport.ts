/**
 * The @defer rows of the results (bench/defer.ts): medians over the rounds per workload ×
 * operation × variant, each round's time to first and to last payload as a ratio of the whole
 * answer without @defer on ours and on stock in the same round, and their tables in latest.md.
 */
import type { DeferCell } from './defer.ts';
import { median } from './report.ts';
import type { DeferRun, DeferSample, Results } from './types.ts';

const round = (x: number, digits = 2): number => (Number.isFinite(x) ? Number(x.toFixed(digits)) : 0);

function roundSample(s: DeferSample): DeferSample {
  const out = { ...s } as Record<string, unknown>;
  for (const [k, v] of Object.entries(out)) if (typeof v === 'number' && !Number.isInteger(v)) out[k] = round(v, 3);
  return out as unknown as DeferSample;
}

/** Median over the rounds of `run`'s p50 (`pick`) / `base`'s whole answer p50, paired by round. */
function pairedRatio(run: DeferRun, base: DeferRun | undefined, pick: (s: DeferSample) => number): number | null {
  if (!base || !base.correct || !run.correct) return null;
  const ratios = run.rounds.flatMap((x) => {
    const y = base.rounds.find((z) => z.round === x.round);
    return y && x.requests > 0 && y.requests > 0 ? [pick(x) / y.lastPayloadP50Ms] : [];
  });
  return ratios.length ? round(median(ratios), 2) : null;
}

export function summariseDefer(cells: readonly DeferCell[]): DeferRun[] {
  const runs: DeferRun[] = cells.map((cell) => {
    const s = cell.samples;
    const measured = s.filter((x) => x.requests > 0);
    const errors = s.reduce((n, x) => n + x.errors + x.warmupErrors, 0);
    const failure = s.find((x) => x.failure)?.failure ?? null;
    const wrong = s.reduce((n, x) => n + x.wrongAnswers, 0);
    const m = (pick: (x: DeferSample) => number, digits = 2) => round(median(measured.map(pick)), digits);
    return {
      workload: cell.workload,
      operation: cell.spec.name,
      file: cell.spec.file,
      variables: { ...cell.spec.variables },
      variant: cell.variant,
      gateway: cell.gateway,
      firstPayloadP50Ms: m((x) => x.firstPayloadP50Ms),
      firstPayloadP95Ms: m((x) => x.firstPayloadP95Ms),
      lastPayloadP50Ms: m((x) => x.lastPayloadP50Ms),
      lastPayloadP95Ms: m((x) => x.lastPayloadP95Ms),
      payloadsPerResponse: m((x) => x.payloadsPerResponse, 1),
      firstVsOursWhole: null,
      lastVsOursWhole: null,
      firstVsStockWhole: null,
      lastVsStockWhole: null,
      errors,
      correct: s.length > 0 && measured.length === s.length && errors === 0 && wrong === 0 && failure === null,
      responsesChecked: s.reduce((n, x) => n + x.responsesChecked, 0),
      failure,
      rounds: s.map(roundSample),
    };
  });
  for (const run of runs) {
    const same = (variant: DeferRun['variant']) => runs.find((r) => r.workload === run.workload && r.operation === run.operation && r.variant === variant);
    const ours = same('ours');
    const stock = same('apollo-gateway');
    run.firstVsOursWhole = pairedRatio(run, ours, (x) => x.firstPayloadP50Ms);
    run.lastVsOursWhole = pairedRatio(run, ours, (x) => x.lastPayloadP50Ms);
    run.firstVsStockWhole = pairedRatio(run, stock, (x) => x.firstPayloadP50Ms);
    run.lastVsStockWhole = pairedRatio(run, stock, (x) => x.lastPayloadP50Ms);
  }
  return runs;
}

const fmt = (x: number, digits = 1): string => (Number.isFinite(x) ? x.toFixed(digits) : '–');
const ratio = (x: number | null): string => (x === null ? '–' : `${x.toFixed(2)}×`);
const VARIANT_TEXT: Record<DeferRun['variant'], string> = {
  'ours-defer': 'ours, with @defer (multipart)',
  ours: 'ours, without @defer',
  'apollo-gateway': 'stock, without @defer',
};

/** The @defer section of latest.md: one table per workload × operation. */
export function renderDefer(results: Results): string[] {
  if (results.defer.length === 0) return [];
  const lines: string[] = [];
  lines.push('## @defer: time to first and to last payload');
  lines.push('');
  lines.push(
    'Each operation below defers the fragments that hold its slow fetches. `ours, with @defer` sends it as Apollo Client 4 does ' +
      '(`Accept: multipart/mixed;deferSpec=20220824`) and reads the stream as it arrives (undici `fetch` body reader); the other ' +
      'rows send the same operation with every `@defer` removed, as one JSON answer (its first payload is its last). One request ' +
      'at a time (latency, not throughput), each variant for the window length in every round, after a warm-up in the first. ' +
      'Every answer is checked: the parts merged, or the JSON answer, equal stock\'s answer without @defer, and the deferred ' +
      'answer comes in parts. Times are medians over the rounds of each window\'s p50 (p95); ratios are the median over the rounds ' +
      'of each round\'s ratio to the whole answer without @defer (p50), on ours and on stock.',
  );
  lines.push('');
  const ops = [...new Map(results.defer.map((r) => [`${r.workload}/${r.operation}`, r])).values()];
  for (const op of ops) {
    const runs = results.defer.filter((r) => r.workload === op.workload && r.operation === op.operation);
    const loads = runs.flatMap((r) => r.rounds.map((x) => x.loadAverage1m));
    lines.push(`### ${op.workload} — ${op.operation}`);
    lines.push('');
    lines.push(
      `\`${op.file}\`${Object.keys(op.variables).length ? ` with \`${JSON.stringify(op.variables)}\`` : ''}; ` +
        `load average (1 min) ${fmt(Math.min(...loads), 2)}–${fmt(Math.max(...loads), 2)} during its windows.`,
    );
    lines.push('');
    lines.push('| request | first payload ms | last payload ms | payloads | first vs ours whole | last vs ours whole | first vs stock whole | last vs stock whole | requests | errors | correct |');
    lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
    for (const r of runs) {
      const requests = r.rounds.reduce((n, x) => n + x.requests, 0);
      lines.push(
        `| ${VARIANT_TEXT[r.variant]} | ${fmt(r.firstPayloadP50Ms)} (${fmt(r.firstPayloadP95Ms)}) | ${fmt(r.lastPayloadP50Ms)} (${fmt(r.lastPayloadP95Ms)}) | ` +
          `${fmt(r.payloadsPerResponse)} | ${ratio(r.firstVsOursWhole)} | ${ratio(r.lastVsOursWhole)} | ${ratio(r.firstVsStockWhole)} | ${ratio(r.lastVsStockWhole)} | ` +
          `${requests} | ${r.errors} | ${r.correct ? 'yes' : `**no**${r.failure ? `: ${r.failure.replace(/\|/g, '\\|').replace(/\s+/g, ' ').slice(0, 300)}` : ''}`} |`,
      );
    }
    lines.push('');
  }
  return lines;
}
