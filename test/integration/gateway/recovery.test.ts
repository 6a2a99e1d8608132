/**
 * The production gateway (gateway/runtime.ts, its default lean executor, our transport and circuit
 * breaker) under load while a subgraph dies and comes back: every answer is HTTP 200, errors appear
 * only where the dead subgraph is needed, and answers are complete again within the bound
 * docs/operations.md states: CIRCUIT_RESET_MS after the subgraph is back, plus one second for the
 * probe and the answer to travel on a loaded machine.
 */
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { Execution } from '../../../gateway/executor/index.ts';
import { startGateway, type RunningGateway } from '../../../gateway/runtime.ts';
import { MUNICIPALITIES, SECRET, startBothSubgraphs } from './fixtures/subgraphs.ts';

/** The circuit's reset time in this test (CIRCUIT_RESET_MS), and the recovery bound above it. */
const RESET_MS = 1_000;
const RECOVERY_MARGIN_MS = 1_000;

interface Answer {
  readonly status: number;
  readonly ms: number;
  readonly text: string;
  readonly body: { data?: Record<string, any> | null; errors?: { path?: (string | number)[]; extensions?: { code?: string; serviceName?: string } }[] };
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The two subgraphs and the production gateway over them; the circuit changes it logged; what executed each request. */
async function startSystem() {
  const { alliances, funding, supergraphSdl } = await startBothSubgraphs(cleanups);
  const circuit: { subgraph: string; state: string }[] = [];
  const logger = pino({ level: 'warn' }, {
    write: (line: string) => {
      const entry = JSON.parse(line) as { msg: string; subgraph: string; state: string };
      if (entry.msg === 'circuit state changed') circuit.push({ subgraph: entry.subgraph, state: entry.state });
    },
  });
  const executions: Execution[] = [];
  const gateway: RunningGateway = await startGateway({
    supergraph: { sdl: supergraphSdl },
    gatewaySecret: SECRET,
    circuit: { failureThreshold: 5, resetMs: RESET_MS },
    timeoutMs: 2_000,
    logger,
    onExecute: (execution) => void executions.push(execution),
    port: 0,
    host: '127.0.0.1',
  });
  cleanups.push(() => gateway.stop(0));
  const query = async (q: string): Promise<Answer> => {
    const started = performance.now();
    const res = await fetch(`${gateway.url}graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: q }) });
    const text = await res.text();
    return { status: res.status, ms: performance.now() - started, text, body: JSON.parse(text) as Answer['body'] };
  };
  return { alliances, funding, circuit, executions, query };
}

const OPERATIONS = [
  { name: 'alliances only', query: '{ alliances { id name } }', touchesFunding: false },
  { name: 'both', query: '{ municipalities { name alliance { id budget } } }', touchesFunding: true },
  { name: 'funding only', query: '{ fundingSources }', touchesFunding: true },
] as const;

type System = Awaited<ReturnType<typeof startSystem>>;
type Result = { readonly op: (typeof OPERATIONS)[number]; readonly r: Answer; readonly sentAt: number; readonly doneAt: number };

/** `total` requests, 10 at a time, cycling through OPERATIONS; funding killed after the 60th is sent and restarted after the 120th. */
async function loadWithRestart(sys: System, total: number): Promise<{ results: Result[]; restartedAt: number; loadMs: number }> {
  const results: Result[] = [];
  let sent = 0;
  let restartedAt = 0;
  const started = performance.now();
  const worker = async () => {
    while (sent < total) {
      const n = ++sent;
      if (n === 60) await sys.funding.kill();
      if (n === 120) {
        await sys.funding.restart();
        restartedAt = performance.now();
      }
      const op = OPERATIONS[n % OPERATIONS.length]!;
      const sentAt = performance.now();
      results.push({ op, r: await sys.query(op.query), sentAt, doneAt: performance.now() });
    }
  };
  await Promise.all(Array.from({ length: 10 }, worker));
  return { results, restartedAt, loadMs: performance.now() - started };
}

/**
 * When answers needing funding were complete again for good: the first complete answer to a
 * request sent after the restart with no incomplete one sent after it; if the load ended first,
 * the first complete answer to requests sent after it.
 */
async function recoveredAt(sys: System, results: Result[], restartedAt: number, isComplete: (x: Result) => boolean, giveUpAt: number): Promise<number> {
  const after = results.filter((x) => x.op.touchesFunding && x.sentAt >= restartedAt).sort((a, b) => a.sentAt - b.sentAt);
  const lastIncomplete = after.findLastIndex((x) => !isComplete(x));
  const first = after.slice(lastIncomplete + 1).sort((a, b) => a.doneAt - b.doneAt)[0];
  if (first) return first.doneAt;
  while (performance.now() < giveUpAt) {
    const sentAt = performance.now();
    const r = await sys.query(OPERATIONS[1].query);
    if (isComplete({ op: OPERATIONS[1], r, sentAt, doneAt: performance.now() })) return performance.now();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return 0;
}

describe('recovery under load, production gateway', () => {
  // 200 requests, 10 at a time; funding is killed after the 60th is sent and restarted on the same
  // port after the 120th. No gateway restart. Broken once to prove the bound: with the circuit's
  // reset time tripled (gateway/transport/circuitBreaker.ts), recovery took 2.5 s and failed.
  it('keeps answering: 200s only, errors only where funding is needed, complete again within the reset time and a second', async () => {
    const sys = await startSystem();
    const baseline = new Map<string, string>();
    for (const op of OPERATIONS) baseline.set(op.name, (await sys.query(op.query)).text);
    const TOTAL = 200;
    const { results, restartedAt, loadMs } = await loadWithRestart(sys, TOTAL);

    expect(results).toHaveLength(TOTAL);
    expect(results.filter(({ r }) => r.status !== 200)).toEqual([]);
    const complete = ({ op, r }: Result) => r.text === baseline.get(op.name);
    expect(results.filter((x) => !x.op.touchesFunding && !complete(x))).toEqual([]);
    const degraded = results.filter((x) => !complete(x));
    expect(degraded.length).toBeGreaterThan(0);
    const codes = new Map<string, number>();
    for (const { op, r } of degraded) {
      for (const e of r.body.errors ?? []) {
        expect(e.extensions?.serviceName).toBe('funding');
        expect(['SUBGRAPH_UNAVAILABLE', 'SUBGRAPH_CIRCUIT_OPEN', 'NOT_FOUND']).toContain(e.extensions?.code);
        codes.set(e.extensions!.code!, (codes.get(e.extensions!.code!) ?? 0) + 1);
      }
      // Partial data: what alliances resolves is still there.
      if (op.name === 'both') expect(r.body.data!['municipalities'].map((m: { name: string }) => m.name)).toEqual(MUNICIPALITIES.map((m) => m.name));
      else expect(r.body.data).toEqual({ fundingSources: null });
    }

    // Recovery: the first request after the reset time is the probe that closes the circuit.
    const bound = RESET_MS + RECOVERY_MARGIN_MS;
    const recovered = await recoveredAt(sys, results, restartedAt, complete, restartedAt + bound + 5_000);
    const latencies = results.map(({ r }) => r.ms).sort((a, b) => a - b);
    console.info(
      `[recovery] ${TOTAL} requests at concurrency 10 in ${loadMs.toFixed(0)} ms; ` +
        `p50 ${latencies[Math.floor(TOTAL * 0.5)]!.toFixed(1)} ms, p95 ${latencies[Math.floor(TOTAL * 0.95)]!.toFixed(1)} ms, max ${latencies.at(-1)!.toFixed(1)} ms; ` +
        `degraded ${degraded.length} (${[...codes].map(([c, n]) => `${c}×${n}`).join(', ')}); funding requests ${sys.funding.requests.length}; ` +
        `circuit ${sys.circuit.map((c) => c.state).join('→')}; complete again ${(recovered - restartedAt).toFixed(0)} ms after the restart (bound ${bound} ms)`,
    );
    expect(recovered, 'answers complete again after the restart').toBeGreaterThan(0);
    expect(recovered - restartedAt).toBeLessThanOrEqual(bound);
    expect(sys.circuit.filter((c) => c.subgraph === 'alliances')).toEqual([]);
    expect(sys.circuit.filter((c) => c.subgraph === 'funding').at(-1)?.state).toBe('closed');
    // The lean executor ran every plan, failures included.
    expect(sys.executions.filter((e) => e.executor !== 'lean')).toEqual([]);
    expect(sys.executions.length).toBeGreaterThanOrEqual(TOTAL);
  });
});
