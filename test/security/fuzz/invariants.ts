/**
 * What must hold for every request the fuzzer sends, whatever it is: the oracle of the security
 * fuzzer. Each check is computed from the request and what came back, with the gateway's own code
 * used only where it defines the rule (the operation limits' measures); partner isolation is
 * judged from the subgraphs' own SDL files, not from the gateway's contracts.
 */
import { readFileSync } from 'node:fs';
import {
  Kind,
  parse,
  TypeInfo,
  validate,
  visit,
  visitWithTypeInfo,
  type DocumentNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import type { CostOptions } from '../../../gateway/cost/index.ts';
import { measureOperation, type ExecutionLimits, type LimitName, type OperationLimits } from '../../../gateway/operationLimits.ts';
import type { Answer, GraphQLParams } from '../../helpers/transports.ts';

/** Codes of a request refused before execution: nothing of it may reach a subgraph. */
const REFUSALS = new Set([
  'BAD_REQUEST',
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'OPERATION_RESOLUTION_FAILURE',
  'BAD_USER_INPUT',
  'PAYLOAD_TOO_LARGE',
  'METHOD_NOT_ALLOWED',
  'FORBIDDEN',
  'SUBGRAPH_NOT_SUBSCRIBED',
  'OPERATION_LIMIT_EXCEEDED',
  'UNAUTHENTICATED',
]);

/**
 * What a refusal may weigh beyond the request it refuses. The response-size ceiling is on what
 * execution builds; a refusal carries at most 100 validation errors (graphql-js's maxErrors), each
 * naming parts of the document, so it is bounded by the request, not by the ceiling.
 */
export const REFUSAL_SLACK_BYTES = 100 * 1024;

/** Time a request may take past its deadline: parsing, planning and serialising are outside it, and the machine is shared. */
export const DEADLINE_SLACK_MS = 5_000;

/** The `Type.field` coordinates a partner of `subgraphs` may read: those their SDL files define (not `@external`). */
export function contractOf(subgraphs: readonly string[]): ReadonlySet<string> {
  const allowed = new Set<string>();
  for (const name of subgraphs) {
    const sdl = parse(readFileSync(new URL(`../../../schema/${name}.graphql`, import.meta.url), 'utf8'));
    for (const def of sdl.definitions) {
      if (!('fields' in def) || !def.fields || !('name' in def) || def.kind === Kind.INPUT_OBJECT_TYPE_DEFINITION) continue;
      for (const f of def.fields) if (!f.directives?.some((x) => x.name.value === 'external')) allowed.add(`${def.name.value}.${f.name.value}`);
    }
  }
  // Global Object Identification, served by the gateway itself: readable wherever the type is.
  for (const coordinate of [...allowed]) allowed.add(`${coordinate.slice(0, coordinate.indexOf('.'))}.nodeId`);
  for (const coordinate of ['Query.node', 'Query.nodes', 'Node.nodeId']) allowed.add(coordinate);
  return allowed;
}

/** What the fuzzer knows of a request before sending it. */
export interface Expectation {
  readonly role: 'anonymous' | 'partner' | 'analyst';
  readonly limits: OperationLimits;
  readonly ceilings: ExecutionLimits;
  /** A partner's contract (contractOf); undefined for callers that read every subgraph. */
  readonly contract?: ReadonlySet<string>;
  /** Why the request must be refused before anything reaches a subgraph, if it must. */
  readonly mustRefuse?: string;
  /** A subscription: its first event may never come. */
  readonly subscription: boolean;
}

/** The operation `params` selects, or undefined when there is none to run. */
function chosenOperation(document: DocumentNode, params: GraphQLParams): OperationDefinitionNode | undefined {
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  if (!params.operationName) return operations.length === 1 ? operations[0] : undefined;
  return operations.find((o) => o.name?.value === params.operationName);
}

/** Fields selected outside introspection, as `Type.field` (fragments included, `__typename` left out). */
function selectedFields(schema: GraphQLSchema, document: DocumentNode): Set<string> {
  const out = new Set<string>();
  const typeInfo = new TypeInfo(schema);
  let inIntrospection = 0;
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Field: {
        enter(node) {
          const name = node.name.value;
          if (name === '__schema' || name === '__type') inIntrospection++;
          const parent = typeInfo.getParentType();
          if (!inIntrospection && parent && !name.startsWith('__')) out.add(`${parent.name}.${name}`);
        },
        leave(node) {
          if (node.name.value === '__schema' || node.name.value === '__type') inIntrospection--;
        },
      },
    }),
  );
  return out;
}

/** Why the gateway must refuse `params` from `role` before execution, or undefined when it may run it. */
export function refusalReason(schema: GraphQLSchema, params: GraphQLParams, e: Pick<Expectation, 'limits' | 'contract'>, cost: CostOptions): string | undefined {
  let document: DocumentNode;
  try {
    document = parse(params.query);
  } catch {
    return 'does not parse';
  }
  try {
    if (validate(schema, document).length > 0) return 'invalid';
  } catch {
    // graphql-js 16 throws out of validation for a subscription whose root field has a condition on a variable.
    return 'invalid (validation throws)';
  }
  const operation = chosenOperation(document, params);
  if (!operation) return 'no operation to run';
  if (operation.operation === 'mutation') return 'a mutation by a caller who may not write';
  if (e.contract) {
    const outside = [...selectedFields(schema, document)].filter((f) => !e.contract!.has(f));
    if (outside.length) return `outside the contract: ${outside.slice(0, 3).join(', ')}`;
  }
  const measures = measureOperation(schema, document, params.query, operation.name?.value, params.variables as Record<string, unknown> | undefined, cost);
  for (const [limit, max] of Object.entries(e.limits) as [LimitName, number][]) {
    const actual = measures[limit];
    if (actual === null) return `${limit}: no estimate`;
    if (actual > max) return `${limit} ${actual} > ${max}`;
  }
  return undefined;
}

const codesOf = (answer: Answer) => (answer.errors ?? []).map((e) => e.extensions?.code ?? '(none)');

/**
 * An answer that refuses the whole request: no `data` at all (an execution whose errors reached
 * the root answers `data: null`), no error at a path, and only codes of a refusal before execution
 * (or a 4xx without a body: Node's own 431 for a URL over its header limit).
 */
export function isRefusal(answer: Answer): boolean {
  const codes = codesOf(answer);
  if ('data' in answer || answer.errors?.some((e) => e.path)) return false;
  return codes.length > 0 ? codes.every((c) => REFUSALS.has(c)) : answer.status >= 400 && answer.status < 500;
}

/** Types and fields of an introspection answer a partner's contract does not include. */
function introspectionLeaks(data: unknown, contract: ReadonlySet<string>): string[] {
  const leaks: string[] = [];
  const visible = new Set([...contract].map((c) => c.slice(0, c.indexOf('.'))));
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) return value.forEach(walk);
    if (value === null || typeof value !== 'object') return;
    const t = value as { name?: unknown; kind?: unknown; fields?: unknown };
    if ((t.kind === 'OBJECT' || t.kind === 'INTERFACE') && typeof t.name === 'string' && !t.name.startsWith('__')) {
      if (!visible.has(t.name)) leaks.push(t.name);
      for (const f of Array.isArray(t.fields) ? (t.fields as { name?: string }[]) : []) if (f.name && !contract.has(`${t.name}.${f.name}`)) leaks.push(`${t.name}.${f.name}`);
    }
    Object.values(value).forEach(walk);
  };
  walk(data);
  return leaks;
}

/** What happened to one request. */
export interface Observation {
  /** Bytes of the request's GraphQL parameters (query, variables, operation name). */
  readonly requestBytes: number;
  readonly answer: Answer;
  readonly ms: number;
  /** Requests (HTTP and WebSocket upgrades) that reached a subgraph carrying this request's id. */
  readonly subgraphRequests: number;
}

/** Every invariant `observed` breaks, by name with the detail; empty when all hold. */
export function violations(e: Expectation, { requestBytes, answer, ms, subgraphRequests }: Observation): string[] {
  const out: string[] = [];
  const codes = codesOf(answer);
  const deadline = answer.status === 504 && codes.length > 0 && codes.every((c) => c === 'REQUEST_DEADLINE_EXCEEDED');
  if (answer.status >= 500 && answer.status < 1000 && !deadline) out.push(`5xx: ${answer.status} ${codes.join(',')}`);
  if (answer.closed && answer.closed.code !== 1009) out.push(`connection closed: ${answer.closed.code} ${answer.closed.reason}`);
  if (codes.includes('INTERNAL_SERVER_ERROR')) out.push('internal error');
  if (answer.status === 0) out.push('no answer');
  const refused = isRefusal(answer);
  if (!refused && answer.bytes > e.ceilings.maxResponseBytes) out.push(`response over the ceiling: ${answer.bytes} > ${e.ceilings.maxResponseBytes} bytes`);
  const refusalBound = 2 * requestBytes + REFUSAL_SLACK_BYTES;
  if (refused && answer.bytes > refusalBound) out.push(`refusal larger than the request: ${answer.bytes} > 2 × ${requestBytes} + ${REFUSAL_SLACK_BYTES} bytes`);
  if (ms > e.ceilings.deadlineMs + DEADLINE_SLACK_MS) out.push(`deadline not held: ${Math.round(ms)} ms > ${e.ceilings.deadlineMs} + ${DEADLINE_SLACK_MS} ms`);
  if (answer.timedOut && !e.subscription) out.push('no answer in time');
  if (refused && subgraphRequests > 0) out.push(`refused, yet reached a subgraph ${subgraphRequests} times`);
  if (e.mustRefuse && !refused && !answer.closed && !answer.timedOut) out.push(`must be refused (${e.mustRefuse}), got ${answer.status} ${codes.join(',') || 'data'}`);
  if (e.mustRefuse && subgraphRequests > 0) out.push(`must be refused (${e.mustRefuse}), yet reached a subgraph ${subgraphRequests} times`);
  if (e.contract) {
    const leaks = introspectionLeaks(answer.data, e.contract);
    if (leaks.length) out.push(`outside the partner's contract: ${leaks.slice(0, 5).join(', ')}`);
  }
  return out;
}

/** The invariant's name in a violation (the text before its first colon), to tell whether a smaller case breaks the same one. */
export const invariantOf = (violation: string) => violation.replace(/[:(].*$/s, '').trim();
