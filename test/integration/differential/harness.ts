/**
 * The differential harness: runs small in-memory subgraphs, starts our gateway and the stock
 * `@apollo/gateway` executor side by side over the same subgraphs, sends each operation to both over
 * HTTP and reduces both answers to what must be identical.
 *
 * What is compared (and why the rest is not):
 * - the HTTP status, exactly;
 * - `data`, deeply, with object keys sorted (the brief asks for key order to be normalised: both
 *   executors re-order fields to the query's order today, but that is a serialisation matter);
 * - `errors`, each reduced to `message`, `path` and `extensions.code`, sorted by path then message.
 *   Sorted, because two fetches of one plan level run in parallel and their errors are appended in
 *   completion order, which is not deterministic. Other error extensions are dropped: `stacktrace`
 *   and `exception` (process-local frames, differ by construction), `serviceName` (a reporting hint
 *   both executors add to subgraph errors but no client contract) and `response` (the failed
 *   subgraph's raw HTTP answer, internal detail our gateway masks in production);
 * - top-level `extensions` are not compared: stock puts the errors of its own result shaping
 *   ("Cannot return null for non-nullable field …") in `extensions.valueCompletion` rather than in
 *   `errors`; it is kept in the normalised answer (and checked in the stock-wrong cases, where it
 *   shows what stock hid) but `comparable()` drops it, so an executor that reports such an error
 *   properly in `errors` differs in `errors`, where it has to be documented as a stock-wrong case.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { isDeepStrictEqual } from 'node:util';
import { composeServices } from '@apollo/composition';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import { parse } from 'graphql';
import { startGateway, type GatewayOptions, type RunningGateway } from '../../../gateway/runtime.ts';

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

export interface DiffOperation {
  /** Unique within its case; becomes the test name. */
  readonly name: string;
  readonly query: string;
  readonly variables?: Record<string, unknown>;
  readonly operationName?: string;
  /** Send to ours, then to stock, never at once (the operation changes state the next one reads). */
  readonly sequential?: boolean;
}

export interface NormalisedError {
  readonly message: string;
  readonly path?: readonly (string | number)[];
  readonly code?: unknown;
}

/** An answer reduced to what both gateways must agree on (see the module comment). */
export interface Normalised {
  readonly status: number;
  readonly data?: unknown;
  readonly errors?: readonly NormalisedError[];
  readonly valueCompletion?: readonly NormalisedError[];
}

/** An expected error: `message` may be a pattern; a missing `code` accepts any code. */
export type ExpectedError = Omit<NormalisedError, 'message'> & { readonly message: string | RegExp };

/**
 * An expected answer, normalised. Errors are listed in normalised order (by path, then message);
 * a missing `valueCompletion` accepts anything there.
 */
export interface Expected {
  readonly status: number;
  readonly data?: unknown;
  readonly errors?: readonly ExpectedError[];
  readonly valueCompletion?: readonly ExpectedError[];
}

/**
 * An operation on which stock is known to be wrong. Ours must give the stock answer or the right
 * one, nothing else (the gate's rule: ours may differ from stock only by being right); the test also checks that
 * stock still gives `stock`, so the documentation goes stale loudly if Apollo fixes it.
 */
export interface StockWrongCase {
  readonly operation: DiffOperation;
  /** Why the stock answer is wrong, in a sentence or two (part of the test name). */
  readonly why: string;
  /** The stock answer, normalised (messages may be patterns where they hold a port). */
  readonly stock: Expected;
  /** The right answer(s), normalised: ours may give any of them (or exactly `stock`). */
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
  stop(): Promise<void>;
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
  const ours = await startGateway({ supergraph: { sdl: supergraphSdl }, urlOverrides, ...LISTEN, ...options });
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
    stop: async () => {
      await Promise.all([ours.stop(0), stock.stop()]);
    },
  };
}

interface RawError {
  message: string;
  path?: (string | number)[];
  extensions?: Record<string, unknown>;
}

export interface RawAnswer {
  readonly status: number;
  readonly body: { data?: unknown; errors?: RawError[]; extensions?: { valueCompletion?: RawError[]; [key: string]: unknown } };
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

/** Sorts object keys recursively (arrays keep their order). */
export function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

const pathKey = (path: readonly (string | number)[] | undefined) => (path ? JSON.stringify(path) : '');

function normaliseErrors(errors: readonly RawError[]): NormalisedError[] {
  return errors
    .map((e) => ({
      message: e.message,
      ...(e.path ? { path: e.path } : {}),
      ...(e.extensions?.['code'] !== undefined ? { code: e.extensions['code'] } : {}),
    }))
    .sort((a, b) => pathKey(a.path).localeCompare(pathKey(b.path)) || a.message.localeCompare(b.message));
}

export function normalise(answer: RawAnswer): Normalised {
  const { data, errors, extensions } = answer.body;
  return {
    status: answer.status,
    ...('data' in answer.body ? { data: sortKeys(data) } : {}),
    ...(errors ? { errors: normaliseErrors(errors) } : {}),
    ...(extensions?.valueCompletion ? { valueCompletion: normaliseErrors(extensions.valueCompletion) } : {}),
  };
}

/** What the generic comparison looks at: the normalised answer without `valueCompletion`. */
export function comparable(n: Normalised): Omit<Normalised, 'valueCompletion'> {
  const { valueCompletion: _ignored, ...rest } = n;
  return rest;
}

/** Whether a normalised answer is the expected one. */
export function matches(actual: Normalised, expected: Expected): boolean {
  const sameErrors = (a: readonly NormalisedError[] | undefined, e: readonly ExpectedError[] | undefined) =>
    (a?.length ?? 0) === (e?.length ?? 0) &&
    (e ?? []).every((x, i) => {
      const y = a![i]!;
      const message = typeof x.message === 'string' ? x.message === y.message : x.message.test(y.message);
      return message && isDeepStrictEqual(x.path, y.path) && ('code' in x ? isDeepStrictEqual(x.code, y.code) : true);
    });
  return (
    actual.status === expected.status &&
    isDeepStrictEqual(actual.data, expected.data === undefined ? undefined : sortKeys(expected.data)) &&
    sameErrors(actual.errors, expected.errors) &&
    (expected.valueCompletion === undefined || sameErrors(actual.valueCompletion, expected.valueCompletion))
  );
}

/** JSON of expected answers, patterns shown as `/…/`. */
export function showExpected(expected: unknown): string {
  return JSON.stringify(expected, (_k, v: unknown) => (v instanceof RegExp ? String(v) : v));
}

/** Sends one operation to both gateways; returns both normalised answers. */
export async function both(
  gw: { oursUrl: string; stockUrl: string; oursHeaders?: Record<string, string> },
  op: DiffOperation,
): Promise<{ ours: Normalised; stock: Normalised }> {
  const [ours, stock] = op.sequential
    ? [await send(gw.oursUrl, op, gw.oursHeaders), await send(gw.stockUrl, op)]
    : await Promise.all([send(gw.oursUrl, op, gw.oursHeaders), send(gw.stockUrl, op)]);
  return { ours: normalise(ours), stock: normalise(stock) };
}

/** The operation and both answers, for a failure message. */
export function describeMismatch(op: DiffOperation, ours: Normalised, stock: Normalised): string {
  return [
    `operation ${op.name}:`,
    op.query.trim(),
    ...(op.variables ? [`variables: ${JSON.stringify(op.variables)}`] : []),
    `ours:  ${JSON.stringify(ours)}`,
    `stock: ${JSON.stringify(stock)}`,
  ].join('\n');
}

/** Whether an answer has data and no errors (used to check a corpus is not vacuous). */
export function isClean(n: Normalised): boolean {
  return n.status === 200 && n.data !== null && n.data !== undefined && !n.errors && !n.valueCompletion;
}
