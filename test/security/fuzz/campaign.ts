/**
 * One fuzz campaign: which gateway, caller and transport each case uses, drawn with its operation
 * from the run's seed and the case's index alone (so one case is rerun without the others); the
 * subgraph requests of each case, counted where they arrive (the subgraphs' own HTTP servers) by
 * the request id the gateway passes on; and /health timed all along.
 */
import type http from 'node:http';
import type { GraphQLSchema } from 'graphql';
import type { Role } from '../../../lib/access.ts';
import type { CostOptions } from '../../../gateway/cost/index.ts';
import type { ExecutionLimits, OperationLimits } from '../../../gateway/operationLimits.ts';
import { Rng, type IdPools } from '../../integration/differential/corpus.ts';
import { send, TRANSPORTS, type GraphQLParams, type Transport } from '../../helpers/transports.ts';
import { refusalReason, violations, type Expectation, type Observation } from './invariants.ts';
import { drawOperation, type DrawnOperation } from './operations.ts';

/** A gateway under attack, with the limits it was started with. */
export interface Target {
  readonly name: string;
  readonly url: string;
  readonly limits: Readonly<Record<Role, OperationLimits>>;
  readonly ceilings: Readonly<Record<Role, ExecutionLimits>>;
}

export interface FuzzCaller {
  readonly name: string;
  readonly role: Expectation['role'];
  /** Credentials (HTTP headers; the `connection_init` payload over WebSocket). */
  readonly headers: Record<string, string>;
  /** The API schema as this caller sees it (its introspection), drawn from half the time. */
  readonly view: GraphQLSchema;
  /** A partner's contract (invariants.ts contractOf). */
  readonly contract?: ReadonlySet<string>;
}

/** What every case of a campaign shares. */
export interface World {
  readonly seed: number;
  readonly targets: readonly Target[];
  readonly callers: readonly FuzzCaller[];
  /** The whole API schema, mutations included. */
  readonly schema: GraphQLSchema;
  readonly cost: CostOptions;
  readonly pools: IdPools;
}

export interface FuzzCase {
  readonly index: number;
  readonly target: Target;
  readonly caller: FuzzCaller;
  readonly transport: Transport;
  readonly drawn: DrawnOperation;
}

/** A PRNG for case `index` of the run `seed`: independent of every other case. */
function caseRng(seed: number, index: number): Rng {
  return new Rng((Math.imul(seed, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0);
}

/** Case `index` of the campaign: always the same for the same seed. */
export function caseAt(world: World, index: number): FuzzCase {
  const rng = caseRng(world.seed, index);
  const target = rng.pick(world.targets);
  const caller = rng.pick(world.callers);
  const transport = rng.pick(TRANSPORTS);
  const drawn = drawOperation(rng.chance(0.5) ? caller.view : world.schema, rng, world.pools, transport.endsWith('GET'));
  return { index, target, caller, transport, drawn };
}

/** Counts, by request id, the requests (and WebSocket upgrades) that reach the subgraphs. */
export class SubgraphWatch {
  private readonly counts = new Map<string, number>();
  private readonly detach: (() => void)[] = [];

  constructor(servers: Iterable<http.Server>) {
    const seen = (req: http.IncomingMessage) => {
      const id = req.headers['x-request-id'];
      if (typeof id === 'string' && id.startsWith('fuzz-')) this.counts.set(id, (this.counts.get(id) ?? 0) + 1);
    };
    for (const server of servers) {
      server.on('request', seen);
      server.on('upgrade', seen);
      this.detach.push(() => {
        server.off('request', seen);
        server.off('upgrade', seen);
      });
    }
  }

  count(requestId: string): number {
    return this.counts.get(requestId) ?? 0;
  }

  close(): void {
    for (const d of this.detach) d();
  }
}

/** How long to wait for a subscription's first event: it comes only when something is written, and nothing is. */
const SUBSCRIPTION_WAIT_MS = 400;

export interface CaseResult {
  readonly expectation: Expectation;
  readonly observation: Observation;
  readonly violations: string[];
}

/** Sends `params` as case `c` would, with request id `requestId`, and judges the answer. */
export async function runCase(world: World, c: FuzzCase, params: GraphQLParams, requestId: string, watch: SubgraphWatch): Promise<CaseResult> {
  const { target, caller } = c;
  const role = caller.role;
  const subscription = c.drawn.kind === 'subscription';
  const mustRefuse = refusalReason(world.schema, params, { limits: target.limits[role], ...(caller.contract ? { contract: caller.contract } : {}) }, world.cost);
  const expectation: Expectation = { role, limits: target.limits[role], ceilings: target.ceilings[role], subscription, ...(caller.contract ? { contract: caller.contract } : {}), ...(mustRefuse ? { mustRefuse } : {}) };
  const started = performance.now();
  // A bound on the wait, so that a gateway that never answers fails the case instead of hanging the run.
  const timeoutMs = subscription ? SUBSCRIPTION_WAIT_MS : target.ceilings[role].deadlineMs + 30_000;
  let answer;
  try {
    answer = await send(target.url, c.transport, params, { headers: caller.headers, requestId, timeoutMs });
  } catch (err) {
    answer = { status: 0, bytes: 0, errors: [{ message: `request failed: ${String(err)}` }] };
  }
  const observation: Observation = { requestBytes: Buffer.byteLength(JSON.stringify(params)), answer, ms: performance.now() - started, subgraphRequests: watch.count(requestId) };
  return { expectation, observation, violations: violations(expectation, observation) };
}

/** Times GET /health on every target, one after another, until stopped; also samples the process's resident memory. */
export function probeHealth(urls: readonly string[], intervalMs = 50): { stop(): Promise<{ timings: number[]; failures: string[]; peakRssBytes: number }> } {
  const timings: number[] = [];
  const failures: string[] = [];
  let peakRssBytes = process.memoryUsage.rss();
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      for (const url of urls) {
        const started = performance.now();
        try {
          const res = await fetch(`${url}health`, { signal: AbortSignal.timeout(30_000) });
          await res.arrayBuffer();
          if (res.status !== 200) failures.push(`${url}health answered ${res.status}`);
        } catch (err) {
          failures.push(`${url}health: ${String(err)}`);
        }
        timings.push(performance.now() - started);
      }
      peakRssBytes = Math.max(peakRssBytes, process.memoryUsage.rss());
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return { timings, failures, peakRssBytes };
    },
  };
}

export const percentile = (xs: readonly number[], p: number) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)]! : 0);
