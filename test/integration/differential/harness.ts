/**
 * The differential harness: runs small in-memory subgraphs, starts our gateway and the stock
 * `@apollo/gateway` executor side by side over the same subgraphs, sends each operation to both over
 * HTTP, and reads which executor answered on ours. compare.ts says what must be identical.
 *
 * The gate knows what it tested: every request to ours carries a request id, and our gateway's
 * `onExecute` record of that id says whether the lean executor ran the plan, stock ran it (and
 * why), or the request was refused before execution. Each operation declares which it expects
 * (`executor`, the lean executor by default), so a lean executor that fails to compile a plan and
 * silently hands it to stock fails the gate instead of turning it into stock against stock.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { composeServices } from '@apollo/composition';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import { parse } from 'graphql';
import type { Execution, FallbackReason } from '../../../gateway/executor/index.ts';
import { startGateway, type GatewayOptions, type RunningGateway } from '../../../gateway/runtime.ts';
import type { Expected, RawAnswer } from './compare.ts';

export type { Expected, ExpectedError, RawAnswer } from './compare.ts';

/** Federation 2 `@link` header every edge-case subgraph starts with. */
export const fed2 = (imports: readonly string[], version = 'v2.7') =>
  `extend schema @link(url: "https://specs.apollo.dev/federation/${version}", import: [${imports.map((i) => `"${i}"`).join(', ')}])\n`;

export interface SubgraphDef {
  readonly name: string;
  readonly typeDefs: string;
  readonly resolvers: GraphQLResolverMap<unknown>;
}

/**
 * A subgraph that answers every request with an HTTP failure rather than GraphQL: `down` is a
 * closed port, `http500` a server answering `500` with a non-JSON body.
 */
export interface FailingSubgraphDef {
  readonly name: string;
  readonly typeDefs: string;
  readonly fails: 'down' | 'http500';
}

/**
 * How ours must execute an operation: with the lean executor (`lean`, the default); not with the
 * gateway's executor at all (`none`: a request refused before execution, or answered by a plugin,
 * as pure introspection is, from the caller's view of the schema); or with stock, for a reason the
 * lean executor leaves to it by design (`detail` matches the reason's message, if it has one). A lean executor
 * error (`compile_error`) is never an expected fallback.
 */
export type ExpectedExecution = 'lean' | 'none' | { readonly stock: Exclude<FallbackReason, 'compile_error'>; readonly detail?: RegExp };

export interface DiffOperation {
  /** Unique within its case; becomes the test name. */
  readonly name: string;
  readonly query: string;
  readonly variables?: Record<string, unknown>;
  readonly operationName?: string;
  /** Send to ours, then to stock, never at once (the operation changes state the next one reads). */
  readonly sequential?: boolean;
  /** How ours must execute it (default `lean`). */
  readonly executor?: ExpectedExecution;
}

/**
 * An operation on which stock is known to be wrong. Ours must give one of the right answers (the
 * gate's rule: ours may differ from stock only by being right); the test also checks that stock
 * still gives `stock`, so the documentation goes stale loudly if Apollo fixes it.
 */
export interface StockWrongCase {
  readonly operation: DiffOperation;
  /** Why the stock answer is wrong, in a sentence or two (part of the test name). */
  readonly why: string;
  /** The stock answer (messages may be patterns where they hold a port). */
  readonly stock: Expected;
  /** The right answer(s): ours must give one of them. */
  readonly right: readonly Expected[];
}

export interface DifferentialCase {
  readonly name: string;
  /** The federation feature(s) the case exercises. */
  readonly about: string;
  readonly subgraphs: readonly (SubgraphDef | FailingSubgraphDef)[];
  readonly operations: readonly DiffOperation[];
  readonly stockWrong?: readonly StockWrongCase[];
  /**
   * Call ours with an API key of this role and subgraph scope rather than anonymously (our gateway
   * lets only editors write; stock has no access control, so it is called as it is).
   */
  readonly caller?: { readonly role: string; readonly subgraphs: readonly string[] };
  /** Options of our gateway for this case (default: its defaults). */
  readonly oursOptions?: Partial<GatewayOptions>;
}

export interface Gateways {
  readonly supergraphSdl: string;
  /** Our gateway (its default executor). */
  readonly ours: RunningGateway;
  /** `/graphql` URLs. */
  readonly oursUrl: string;
  readonly stockUrl: string;
  /** Headers for every request to ours (an API key). */
  readonly oursHeaders?: Record<string, string>;
  /** Ours's record of each request it executed, by request id. */
  readonly executions: ExecutionLog;
  stop(): Promise<void>;
}

/** Our gateway's executions by request id: pass `record` as its `onExecute`. */
export class ExecutionLog {
  private readonly byId = new Map<string, Execution>();
  private sent = 0;
  readonly record = (execution: Execution & { requestId: string }): void => {
    const { requestId, ...rest } = execution;
    this.byId.set(requestId, rest);
  };
  /** A request id not used before. */
  nextId(): string {
    return `differential-${++this.sent}`;
  }
  /** What ran the request (undefined: it never reached execution), forgotten once read. */
  take(requestId: string): Execution | undefined {
    const execution = this.byId.get(requestId);
    this.byId.delete(requestId);
    return execution;
  }
}

/** Whether an execution is the expected one. */
export function executedAsExpected(actual: Execution | undefined, expected: ExpectedExecution = 'lean'): boolean {
  if (expected === 'none') return actual === undefined;
  if (expected === 'lean') return actual?.executor === 'lean';
  return actual?.executor === 'stock' && actual.fallback === expected.stock && (expected.detail?.test(actual.detail ?? '') ?? actual.detail === undefined);
}

const LISTEN = { port: 0, host: '127.0.0.1' } as const;

/** Composes subgraphs into a supergraph; throws with composition's messages. */
export function compose(subgraphs: readonly { name: string; typeDefs: string; url: string }[]): string {
  const result = composeServices(subgraphs.map((s) => ({ name: s.name, url: s.url, typeDefs: parse(s.typeDefs) })));
  if (result.errors) throw new Error(`composition failed:\n${result.errors.map((e) => e.message).join('\n')}`);
  return result.supergraphSdl;
}

/** Starts one failing endpoint; returns its URL and a stop function. */
async function startFailing(fails: FailingSubgraphDef['fails']): Promise<{ url: string; stop: () => Promise<void> }> {
  const server = http.createServer((_req, res) => {
    res.writeHead(500, { 'content-type': 'text/plain' });
    res.end('upstream exploded');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  if (fails === 'down') {
    // Take a port that was free a moment ago and is now closed: connection refused.
    await close();
    return { url: `http://127.0.0.1:${port}/graphql`, stop: async () => {} };
  }
  return { url: `http://127.0.0.1:${port}/graphql`, stop: close };
}

export interface RunningSubgraphs {
  readonly urls: Record<string, string>;
  stop(): Promise<void>;
}

/** Starts every subgraph of a case on port 0 (Apollo Server + buildSubgraphSchema, as ours are). */
export async function startSubgraphs(defs: readonly (SubgraphDef | FailingSubgraphDef)[]): Promise<RunningSubgraphs> {
  const stops: (() => Promise<void>)[] = [];
  const urls: Record<string, string> = {};
  try {
    for (const def of defs) {
      if ('fails' in def) {
        const failing = await startFailing(def.fails);
        urls[def.name] = failing.url;
        stops.push(failing.stop);
        continue;
      }
      const server = new ApolloServer({
        schema: buildSubgraphSchema([{ typeDefs: parse(def.typeDefs), resolvers: def.resolvers }]),
        plugins: [ApolloServerPluginInlineTraceDisabled()],
        includeStacktraceInErrorResponses: false,
      });
      const { url } = await startStandaloneServer(server, { listen: LISTEN });
      urls[def.name] = url;
      stops.push(() => server.stop());
    }
  } catch (err) {
    for (const stop of stops) await stop();
    throw err;
  }
  return { urls, stop: async () => void (await Promise.all(stops.map((s) => s()))) };
}

export interface StockGatewayOptions {
  readonly supergraphSdl: string;
  /** Subgraph name → URL, replacing the supergraph's (as our `urlOverrides`). */
  readonly urlOverrides?: Readonly<Record<string, string>>;
  /** Extra headers for every subgraph request, e.g. the signed gateway header our subgraphs require. */
  readonly subgraphHeaders?: (subgraph: string) => Promise<Record<string, string>> | Record<string, string>;
}

/** The reference: stock Apollo Server + Apollo Gateway, defaults everywhere but the URLs (and headers). */
export async function startStockGateway(opts: StockGatewayOptions): Promise<{ url: string; stop: () => Promise<void> }> {
  process.env.APOLLO_TELEMETRY_DISABLED = 'true';
  const { urlOverrides, subgraphHeaders } = opts;
  const gateway = new ApolloGateway({
    supergraphSdl: opts.supergraphSdl,
    ...(urlOverrides || subgraphHeaders
      ? {
          buildService: ({ name, url }: { name: string; url?: string }) =>
            new (class extends RemoteGraphQLDataSource {
              override async willSendRequest({ request }: Parameters<NonNullable<RemoteGraphQLDataSource['willSendRequest']>>[0]) {
                if (!subgraphHeaders) return;
                for (const [k, v] of Object.entries(await subgraphHeaders(name))) request.http?.headers.set(k, v);
              }
            })({ url: urlOverrides?.[name] ?? url }),
        }
      : {}),
  });
  const server = new ApolloServer({ gateway });
  const { url } = await startStandaloneServer(server, { listen: LISTEN });
  return { url, stop: () => server.stop() };
}

/** Our gateway and stock over one supergraph (our gateway gets the same URLs through `urlOverrides`). */
export async function startGateways(
  supergraphSdl: string,
  urlOverrides: Record<string, string>,
  options: Partial<GatewayOptions> = {},
): Promise<Omit<Gateways, 'oursHeaders'>> {
  const executions = new ExecutionLog();
  const ours = await startGateway({ supergraph: { sdl: supergraphSdl }, urlOverrides, ...LISTEN, ...options, onExecute: executions.record });
  let stock: Awaited<ReturnType<typeof startStockGateway>>;
  try {
    stock = await startStockGateway({ supergraphSdl });
  } catch (err) {
    await ours.stop(0);
    throw err;
  }
  return {
    supergraphSdl,
    ours,
    oursUrl: `${ours.url}graphql`,
    stockUrl: stock.url,
    executions,
    stop: async () => {
      await Promise.all([ours.stop(0), stock.stop()]);
    },
  };
}

export async function send(url: string, op: DiffOperation, headers: Record<string, string> = {}): Promise<RawAnswer> {
  const res = await fetch(url, {
    method: 'POST',
    // As Apollo Client 4 asks: under this media type both gateways answer a refused request with its
    // 4xx status (under legacy application/json ours answers 200, as GraphQL over HTTP asks).
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json;q=0.9', ...headers },
    body: JSON.stringify({ query: op.query, variables: op.variables, operationName: op.operationName }),
  });
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) as RawAnswer['body'] };
  } catch {
    return { status: res.status, body: { errors: [{ message: `not JSON: ${text.slice(0, 200)}` }] } };
  }
}

/** Where to send an operation on both sides, and ours's record of what it executed. */
export interface Sides {
  readonly oursUrl: string;
  readonly stockUrl: string;
  readonly oursHeaders?: Record<string, string>;
  readonly executions: ExecutionLog;
}

/** Both answers to one operation, and what executed it on ours. */
export interface BothAnswers {
  readonly ours: RawAnswer;
  readonly stock: RawAnswer;
  readonly executed: Execution | undefined;
}

/** Sends one operation to both gateways. */
export async function both(gw: Sides, op: DiffOperation): Promise<BothAnswers> {
  const requestId = gw.executions.nextId();
  const oursHeaders = { ...gw.oursHeaders, 'x-request-id': requestId };
  const [ours, stock] = op.sequential
    ? [await send(gw.oursUrl, op, oursHeaders), await send(gw.stockUrl, op)]
    : await Promise.all([send(gw.oursUrl, op, oursHeaders), send(gw.stockUrl, op)]);
  return { ours, stock, executed: gw.executions.take(requestId) };
}

/** The operation, what ran it on ours and both answers, for a failure message. */
export function describeMismatch(op: DiffOperation, answers: BothAnswers): string {
  return [
    `operation ${op.name}:`,
    op.query.trim(),
    ...(op.variables ? [`variables: ${JSON.stringify(op.variables)}`] : []),
    `executed on ours: ${JSON.stringify(answers.executed ?? 'none (not executed)')}; expected ${JSON.stringify(op.executor ?? 'lean', (_k, v: unknown) => (v instanceof RegExp ? String(v) : v))}`,
    `ours:  ${JSON.stringify(answers.ours)}`,
    `stock: ${JSON.stringify(answers.stock)}`,
  ].join('\n');
}
