/**
 * The Grafana dashboard (deploy/grafana) and the alerting rules (deploy/prometheus) query only
 * series the gateway really exports. Every PromQL expression in them is reduced to its series
 * selectors; a running gateway is driven through the states the panels show (successes, a
 * subgraph failing, its circuit opening), its /metrics is scraped, and each selector must find
 * its metric, its labels and, for `=` matchers, the very label value. A renamed metric or label
 * in gateway/metrics.ts therefore breaks this test, not an operator's dashboard.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../lib/dbServer.ts';
import { startStack, type Stack } from '../helpers/stack.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const DASHBOARD = path.join(ROOT, 'deploy', 'grafana', 'ali-graph.json');
const RULES = path.join(ROOT, 'deploy', 'prometheus', 'ali-graph.rules.yaml');

interface Selector {
  readonly metric: string;
  readonly matchers: readonly { label: string; op: string; value: string }[];
}

/** Labels Prometheus attaches to every series at scrape time; no exporter has them. */
const TARGET_LABELS = new Set(['job', 'instance']);
const PROMQL_WORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'inf', 'nan']);

/**
 * The series selectors of a PromQL expression (Grafana's `label_values(metric, label)` too):
 * string literals, durations and grouping clauses are set aside, then every identifier that is
 * not a function call or a keyword is a metric name, with the `{…}` matchers that follow it.
 */
function selectors(expr: string): Selector[] {
  const strings: string[] = [];
  let text = expr.replace(/"((?:[^"\\]|\\.)*)"/g, (_m, s: string) => `"${strings.push(s) - 1}"`);
  text = text.replace(/\[[^\]]*\]/g, '');
  text = text.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const labelValues = /label_values\(\s*([A-Za-z_:][A-Za-z0-9_:]*)/.exec(text);
  if (labelValues) return [{ metric: labelValues[1]!, matchers: [] }];
  const out: Selector[] = [];
  for (const m of text.matchAll(/([A-Za-z_:][A-Za-z0-9_:]*)\s*(\{[^}]*\})?/g)) {
    const [, name, braces] = m as unknown as [string, string, string | undefined];
    const after = text.slice(m.index + m[0].length);
    if (PROMQL_WORDS.has(name.toLowerCase()) || (!braces && after.startsWith('('))) continue;
    const matchers = [...(braces ?? '').matchAll(/([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"(\d+)"/g)].map((x) => ({
      label: x[1]!,
      op: x[2]!,
      value: strings[Number(x[3])]!,
    }));
    out.push({ metric: name, matchers });
  }
  return out;
}

/** Every PromQL expression of the dashboard: its panels' targets (rows included) and its variables. */
function dashboardExprs(): string[] {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
    panels: { targets?: { expr?: string }[]; panels?: unknown[] }[];
    templating: { list: { type: string; query?: string | { query: string } }[] };
  };
  const exprs: string[] = [];
  const walk = (panels: typeof dashboard.panels) => {
    for (const p of panels) {
      for (const t of p.targets ?? []) if (t.expr) exprs.push(t.expr);
      walk((p.panels ?? []) as typeof dashboard.panels);
    }
  };
  walk(dashboard.panels);
  for (const v of dashboard.templating.list) if (v.type === 'query' && v.query) exprs.push(typeof v.query === 'string' ? v.query : v.query.query);
  return exprs;
}

function ruleExprs(): string[] {
  const rules = parse(readFileSync(RULES, 'utf8')) as { groups: { rules: { expr: string }[] }[] };
  return rules.groups.flatMap((g) => g.rules.map((r) => r.expr));
}

/** Samples of a Prometheus text exposition: name → label sets. */
function samples(exposition: string): Map<string, Record<string, string>[]> {
  const out = new Map<string, Record<string, string>[]>();
  for (const line of exposition.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})?\s/.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1]!, x[2]!]));
    out.set(m[1]!, [...(out.get(m[1]!) ?? []), labels]);
  }
  return out;
}

describe('selectors() (so that the check below is real)', () => {
  it('finds metrics and matchers, and skips functions, keywords, grouping labels and variables', () => {
    expect(selectors('sum by (outcome) (rate(ali_gateway_requests_total{outcome=~"error|partial", job=~"$job"}[$__rate_interval]))')).toEqual([
      { metric: 'ali_gateway_requests_total', matchers: [{ label: 'outcome', op: '=~', value: 'error|partial' }, { label: 'job', op: '=~', value: '$job' }] },
    ]);
    expect(selectors('max by (subgraph) (a_state) == 2 and on (x) b_total > 0.5').map((s) => s.metric)).toEqual(['a_state', 'b_total']);
    expect(selectors('histogram_quantile(0.95, sum by (le) (rate(x_bucket{le="1"}[5m])))')).toEqual([{ metric: 'x_bucket', matchers: [{ label: 'le', op: '=', value: '1' }] }]);
    expect(selectors('label_values(ali_gateway_requests_total, job)')).toEqual([{ metric: 'ali_gateway_requests_total', matchers: [] }]);
    expect(selectors('count(x == 2) or vector(0)').map((s) => s.metric)).toEqual(['x']);
  });
});

describe('the dashboard and the alerting rules against the running gateway', () => {
  let stack: Stack;
  let exposition: string;
  beforeAll(async () => {
    stack = await startStack();
    // reuse points at a port nothing listens on, and one failure opens its circuit: the
    // breaker, fetch-error and partial-outcome series all come into being.
    // With its caches on: the second Summary is a response-cache hit.
    const gw = await stack.startGateway({
      cache: 'memory',
      urlOverrides: { ...stack.subgraphUrls, reuse: `http://127.0.0.1:${await freePort()}/graphql` },
      circuit: { failureThreshold: 1, resetMs: 60_000 },
    });
    const post = (query: string) =>
      fetch(`${gw.url}graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) }).then((r) => r.json());
    expect(await post('query Summary { networkSummary { memberCount } }')).toEqual({ data: { networkSummary: { memberCount: 1072 } } });
    await post('query Summary { networkSummary { memberCount } }');
    const failed = (await post('query Solutions { reuseSolutions { id } }')) as { errors?: unknown[] };
    expect(failed.errors?.length).toBeGreaterThan(0);
    await post('query Solutions { reuseSolutions { id } }');
    await post('{ nope }');
    exposition = await (await fetch(`${gw.url}metrics`)).text();
  }, 240_000);
  afterAll(async () => {
    await stack?.stop();
  });

  /** [file, a short form of the expression for the test's name, the expression]. */
  const cases = [
    ...dashboardExprs().map((e) => ['dashboard', e] as const),
    ...ruleExprs().map((e) => ['rules', e] as const),
  ].map(([file, e]) => [file, e.replace(/\s+/g, ' ').trim().slice(0, 90), e] as const);

  it('has expressions to check in both files', () => {
    expect(cases.filter(([f]) => f === 'dashboard').length).toBeGreaterThan(15);
    expect(cases.filter(([f]) => f === 'rules').length).toBe(4);
  });

  it.each(cases)('%s: every series of %s exists in /metrics', (_file, _short, expr) => {
    const found = samples(exposition);
    const sels = selectors(expr);
    expect(sels.length, expr).toBeGreaterThan(0);
    for (const { metric, matchers } of sels) {
      const series = found.get(metric);
      expect(series, `${metric} is not exported`).toBeDefined();
      for (const { label, op, value } of matchers) {
        if (TARGET_LABELS.has(label)) continue;
        expect(series!.some((s) => label in s), `${metric} has no label ${label}`).toBe(true);
        if (op === '=') expect(series!.some((s) => s[label] === value), `${metric}{${label}="${value}"} is not exported`).toBe(true);
      }
    }
  });
});
