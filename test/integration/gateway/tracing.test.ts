/**
 * OpenTelemetry tracing, for real: an Apollo Gateway over one tiny in-process subgraph, and an
 * OTLP receiver of the test's own on 127.0.0.1 standing in for a collector. Off (no endpoint): no
 * SDK is loaded, nothing is sent, no `traceparent` reaches the subgraph. On: the subgraph request
 * carries a `traceparent`, whether the gateway fetches with its stock fetcher (node:http), with
 * fetch() or with the undici package, and the spans of that trace reach the receiver.
 *
 * This file only: the SDK registers process-wide globals, and vitest runs each file in its own
 * process, so no other test sees them.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { composeServices } from '@apollo/composition';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse } from 'graphql';
import { fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { otlpTracesUrl, startTracing } from '../../../lib/tracing.ts';

const typeDefs = parse(`
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
  type Query { town(code: ID!): Town }
  type Town @key(fields: "code") { code: ID! name: String! }
`);

/** Headers of every request the subgraph received. */
const subgraphHeaders: IncomingHttpHeaders[] = [];
/** Every request the OTLP receiver received. */
const exports: { method: string; path: string; contentType: string; body: Buffer }[] = [];

type FetchPath = 'node:http' | 'fetch' | 'undici';
type Fetcher = RemoteGraphQLDataSource['fetcher'];
let fetchPath: FetchPath = 'node:http';

let subgraph: ApolloServer;
let gatewayServer: ApolloServer;
let gatewayUrl: string;
let receiver: Server;
let receiverUrl: string;

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      exports.push({ method: req.method ?? '', path: req.url ?? '', contentType: req.headers['content-type'] ?? '', body: Buffer.concat(chunks) });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;

  subgraph = new ApolloServer({
    schema: buildSubgraphSchema([{ typeDefs, resolvers: { Query: { town: (_: unknown, { code }: { code: string }) => ({ code, name: 'Torino' }) } } }]),
    plugins: [ApolloServerPluginInlineTraceDisabled()],
  });
  const { url: subgraphUrl } = await startStandaloneServer(subgraph, {
    listen: { port: 0, host: '127.0.0.1' },
    context: async ({ req }) => {
      subgraphHeaders.push(req.headers);
      return {};
    },
  });
  const composed = composeServices([{ name: 'towns', typeDefs, url: subgraphUrl }]);
  if (composed.errors) throw new Error(composed.errors.map((e) => e.message).join('\n'));

  // The stock gateway otherwise probes cloud metadata addresses; only loopback is allowed here.
  process.env.APOLLO_TELEMETRY_DISABLED = 'true';
  const stockFetcher = new RemoteGraphQLDataSource({ url: subgraphUrl }).fetcher;
  const fetchers: Record<FetchPath, Fetcher> = {
    'node:http': stockFetcher,
    fetch: (url, init) => fetch(url, init),
    undici: (url, init) => undiciFetch(url, init),
  };
  const gateway = new ApolloGateway({
    supergraphSdl: composed.supergraphSdl,
    buildService: ({ url }) => new RemoteGraphQLDataSource({ url, fetcher: (u, init) => fetchers[fetchPath](u, init) }),
  });
  gatewayServer = new ApolloServer({ gateway });
  gatewayUrl = (await startStandaloneServer(gatewayServer, { listen: { port: 0, host: '127.0.0.1' } })).url;
});

afterAll(async () => {
  await gatewayServer?.stop();
  await subgraph?.stop();
  await new Promise((resolve) => receiver?.close(resolve));
});

/** Sends one operation through the gateway; returns the headers the subgraph received for it. */
async function queryThroughGateway(): Promise<IncomingHttpHeaders> {
  const seen = subgraphHeaders.length;
  const res = await fetch(gatewayUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: 'query TracedTown { town(code: "001272") { name } }' }),
  });
  expect(await res.json()).toEqual({ data: { town: { name: 'Torino' } } });
  expect(subgraphHeaders).toHaveLength(seen + 1);
  return subgraphHeaders[seen]!;
}

function loadedModules(fragment: string): string[] {
  return Object.keys(createRequire(import.meta.url).cache).filter((path) => path.includes(fragment));
}

const TRACEPARENT = /^00-([0-9a-f]{32})-[0-9a-f]{16}-0[01]$/;

describe('tracing', () => {
  it('builds the traces URL from OTEL_EXPORTER_OTLP_ENDPOINT as the OTLP specification does', () => {
    expect(otlpTracesUrl('http://collector:4318')).toBe('http://collector:4318/v1/traces');
    expect(otlpTracesUrl('http://collector:4318/')).toBe('http://collector:4318/v1/traces');
    expect(otlpTracesUrl('https://otel.example/ingest/')).toBe('https://otel.example/ingest/v1/traces');
  });

  // Must run first: once the SDK has been loaded it stays in the module cache.
  it('without an endpoint loads nothing, sends nothing and adds no traceparent', async () => {
    const tracing = await startTracing({ serviceName: 'ali-gateway-test', otlpEndpoint: undefined });
    const headers = await queryThroughGateway();
    expect(headers.traceparent).toBeUndefined();
    await tracing.stop();
    expect(loadedModules('/@opentelemetry/sdk-node/')).toEqual([]);
    expect(loadedModules('/@opentelemetry/instrumentation-http/')).toEqual([]);
    expect(exports).toEqual([]);
  });

  it('with an endpoint propagates traceparent to the subgraph on every fetch path and exports the spans', async () => {
    const tracing = await startTracing({
      serviceName: 'ali-gateway-test',
      otlpEndpoint: receiverUrl,
      // The receiver lives in this process; tracing its own requests would export forever.
      ignorePaths: ['/v1/traces'],
    });
    const traceIds: string[] = [];
    try {
      for (const path of ['node:http', 'fetch', 'undici'] as const) {
        fetchPath = path;
        const { traceparent } = await queryThroughGateway();
        expect(traceparent, `traceparent via ${path}`).toMatch(TRACEPARENT);
        traceIds.push(TRACEPARENT.exec(String(traceparent))![1]!);
      }
      // A second service in the same process shares the SDK; its stop leaves the first traced.
      const second = await startTracing({ serviceName: 'ali-second-test', otlpEndpoint: receiverUrl });
      await second.stop();
      await second.stop();
      expect((await queryThroughGateway()).traceparent).toMatch(TRACEPARENT);
    } finally {
      fetchPath = 'node:http';
      await tracing.stop(); // flushes the batch of spans
    }
    expect(new Set(traceIds).size).toBe(3);
    // (So the check of the test above would have seen a loaded SDK.)
    expect(loadedModules('/@opentelemetry/sdk-node/')).not.toEqual([]);

    expect(exports.length).toBeGreaterThan(0);
    expect(exports.every((e) => e.method === 'POST' && e.path === '/v1/traces')).toBe(true);
    const sent = Buffer.concat(exports.map((e) => e.body));
    expect(sent.includes('ali-gateway-test')).toBe(true);
    // Apollo Gateway's own spans, created through @opentelemetry/api.
    expect(sent.includes('gateway.request')).toBe(true);
    expect(sent.includes('gateway.fetch')).toBe(true);
    // The trace the subgraph was called in was exported (ids are hex in JSON, raw bytes in protobuf).
    for (const id of traceIds) expect(sent.includes(id) || sent.includes(Buffer.from(id, 'hex'))).toBe(true);
  });

  it('stops tracing: no traceparent and nothing exported afterwards', async () => {
    const exported = exports.length;
    const headers = await queryThroughGateway();
    expect(headers.traceparent).toBeUndefined();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(exports).toHaveLength(exported);
  });
});
