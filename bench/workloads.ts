/**
 * The operations of each workload, and their expected answers: each is sent once to stock
 * @apollo/gateway (the reference implementation) before any measurement; its answer, without
 * errors, in normal form (bench/load.ts `normalForm`, the differential suite's comparison: status,
 * field order, errors and extensions kept) is what every response of every gateway must equal.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Supergraph, operationFromDocument } from '@apollo/federation-internals';
import { QueryPlanner, prettyFormatQueryPlan } from '@apollo/query-planner';
import { parse } from 'graphql';
import { normalForm, sha256 } from './load.ts';
import type { GatewayName, OperationInfo, WorkloadName } from './types.ts';

const root = path.resolve(import.meta.dirname, '..');

export interface OperationSpec {
  readonly name: string;
  /** Path from the project root. */
  readonly file: string;
  readonly variables: Readonly<Record<string, unknown>>;
  /** Used instead when this operation does not answer with data on stock @apollo/gateway. */
  readonly fallback?: OperationSpec;
}

export const WORKLOADS: Readonly<Record<WorkloadName, readonly OperationSpec[]>> = {
  ali: [
    // Every ALI with its first 20 members (160 Comuni), their adoptions, funded projects, facilitators.
    { name: 'dashboard', file: 'test/e2e/operations/batching/dashboard.graphql', variables: { first: 20 } },
    { name: 'municipalities', file: 'bench/operations/ali-municipalities.graphql', variables: { first: 200 } },
    {
      name: 'fundingBreakdown',
      file: 'bench/operations/ali-analytics.graphql',
      variables: {},
      fallback: { name: 'agreementTotals', file: 'bench/operations/ali-analytics-fallback.graphql', variables: {} },
    },
  ],
  'gateway-bound': [
    { name: 'heavyNested', file: 'bench/operations/gateway-bound.graphql', variables: {} },
    // Variables, named and inline fragments, a union of three entities and an @include.
    { name: 'searchUnion', file: 'bench/operations/gateway-bound-search.graphql', variables: { term: 'piece', first: 50, withReviews: true } },
  ],
};

/**
 * The gateways measured on each workload, in the order of a round. `ours-dedupe` (ours with its
 * production default of sharing identical in-flight subgraph requests between clients) only where
 * the gateway is the bottleneck: on the ALI workload the database is, for every gateway alike.
 */
export const WORKLOAD_GATEWAYS: Readonly<Record<WorkloadName, readonly GatewayName[]>> = {
  ali: ['ours', 'apollo-gateway', 'hive-gateway'],
  'gateway-bound': ['ours', 'ours-dedupe', 'apollo-gateway', 'hive-gateway'],
};

/**
 * The operations the cached gateway (`ours-cache`) is measured on, in rows of their own: the ALI
 * dashboard and municipalities, read all the time and written rarely.
 */
export const CACHED_OPERATIONS: Readonly<Partial<Record<WorkloadName, readonly string[]>>> = {
  ali: ['dashboard', 'municipalities'],
};

export interface PreparedOperation {
  readonly spec: OperationSpec;
  /** The JSON request body every gateway receives. */
  readonly body: string;
  /** The expected answer in normal form. */
  readonly expected: string;
  readonly info: OperationInfo;
}

export function requestBody(spec: OperationSpec): string {
  return JSON.stringify({ query: readFileSync(path.join(root, spec.file), 'utf8'), variables: spec.variables });
}

/** Fetch nodes in @apollo/query-planner's plan of the operation over the supergraph. */
export function planFetchCount(supergraphSdl: string, spec: OperationSpec): number {
  const supergraph = Supergraph.build(supergraphSdl);
  const operation = operationFromDocument(supergraph.schema, parse(readFileSync(path.join(root, spec.file), 'utf8')));
  const plan = new QueryPlanner(supergraph).buildQueryPlan(operation);
  return (prettyFormatQueryPlan(plan).match(/\bFetch\(/g) ?? []).length;
}

type Reference = { ok: true; expected: string; bytes: number } | { ok: false; reason: string };

/** The answer of the reference gateway at `url`, refused when it has errors or no data. */
export async function referenceAnswer(url: string, spec: OperationSpec): Promise<Reference> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: requestBody(spec),
      signal: AbortSignal.timeout(60_000),
    });
    const text = await res.text();
    const body = JSON.parse(text) as Parameters<typeof normalForm>[1];
    if (res.status !== 200 || body.errors?.length || body.data === null || body.data === undefined) {
      return { ok: false, reason: `HTTP ${res.status}: ${JSON.stringify(body.errors ?? body).slice(0, 400)}` };
    }
    return { ok: true, expected: normalForm(res.status, body), bytes: Buffer.byteLength(text) };
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
}

/**
 * The workload's operations with their expected answers from the reference gateway; an operation
 * with a `fallback` is replaced by it when it does not answer with data. An operation with no
 * usable reference is returned with `expected: undefined` and the reason.
 */
export async function prepareOperations(
  workload: WorkloadName,
  referenceUrl: string,
  supergraphSdl: string,
): Promise<({ ok: true; op: PreparedOperation } | { ok: false; spec: OperationSpec; reason: string })[]> {
  const out: ({ ok: true; op: PreparedOperation } | { ok: false; spec: OperationSpec; reason: string })[] = [];
  for (const primary of WORKLOADS[workload]) {
    let spec = primary;
    let ref = await referenceAnswer(referenceUrl, spec);
    let note: string | undefined;
    if (!ref.ok && primary.fallback) {
      note = `${primary.name} did not answer with data on stock @apollo/gateway (${ref.reason}); measured ${primary.fallback.name} instead`;
      spec = primary.fallback;
      ref = await referenceAnswer(referenceUrl, spec);
    }
    if (!ref.ok) {
      out.push({ ok: false, spec, reason: `no reference answer from stock @apollo/gateway: ${ref.reason}` });
      continue;
    }
    out.push({
      ok: true,
      op: {
        spec,
        body: requestBody(spec),
        expected: ref.expected,
        info: {
          workload,
          operation: spec.name,
          file: spec.file,
          variables: { ...spec.variables },
          expectedSha256: sha256(ref.expected),
          responseBytes: ref.bytes,
          planFetches: planFetchCount(supergraphSdl, spec),
          ...(note ? { note } : {}),
        },
      },
    });
  }
  return out;
}
