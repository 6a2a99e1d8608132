/**
 * The four in-memory subgraphs of the gateway-bound workload (accounts, products, inventory,
 * reviews: the shape public federation benchmarks use, with `@requires` and `@provides`), served
 * by a bare node:http handler over graphql-js so that they cost as little as possible and the
 * gateway, not the subgraphs, is the bottleneck.
 *
 * Each subgraph memoises the serialised answer to each distinct request body (the data never
 * changes, so the answer is the one execution would give): a gateway's repeated fetches cost the
 * subgraph one lookup. The memo is on the subgraph side only; every gateway still sends every
 * fetch, and the number of fetches is counted here.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { composeServices } from '@apollo/composition';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { execute, parse, validate, type DocumentNode, type GraphQLSchema } from 'graphql';
import { productByUpc, products, reviewById, reviewsByAuthor, reviewsByProduct, search, userById, users, type Review, type SearchHit } from './data.ts';

export const BENCH_SUBGRAPH_NAMES = ['accounts', 'products', 'inventory', 'reviews'] as const;
export type BenchSubgraphName = (typeof BENCH_SUBGRAPH_NAMES)[number];

type Resolvers = Record<string, Record<string, (...args: any[]) => unknown>>;

const resolvers: Record<BenchSubgraphName, Resolvers> = {
  accounts: {
    Query: {
      users: () => users,
      user: (_: unknown, { id }: { id: string }) => userById.get(id) ?? null,
    },
    User: {
      __resolveReference: ({ id }: { id: string }) => userById.get(id) ?? null,
    },
  },
  products: {
    Query: {
      topProducts: (_: unknown, { first }: { first: number }) => products.slice(0, Math.max(0, first)),
    },
    Product: {
      __resolveReference: ({ upc }: { upc: string }) => productByUpc.get(upc) ?? null,
    },
  },
  inventory: {
    Product: {
      __resolveReference: (ref: { upc: string; price?: number; weight?: number }) => {
        const product = productByUpc.get(ref.upc);
        return product ? { ...ref, inStock: product.inStock } : null;
      },
      // Free shipping above 100.00; otherwise 1 cent per 2 grams.
      shippingEstimate: (p: { price: number; weight: number }) => (p.price > 10_000 ? 0 : Math.round(p.weight / 2)),
    },
  },
  reviews: {
    Query: {
      search: (_: unknown, { term, first }: { term: string; first: number }) => search(term, first),
    },
    SearchResult: {
      __resolveType: (hit: SearchHit) => hit.kind,
    },
    Review: {
      __resolveReference: ({ id }: { id: string }) => reviewById.get(id) ?? null,
      author: (r: Review) => ({ id: r.authorId, username: userById.get(r.authorId)!.username }),
      product: (r: Review) => ({ upc: r.upc }),
    },
    User: {
      __resolveReference: ({ id }: { id: string }) => (userById.has(id) ? { id } : null),
      reviews: ({ id }: { id: string }) => reviewsByAuthor.get(id) ?? [],
    },
    Product: {
      __resolveReference: ({ upc }: { upc: string }) => (productByUpc.has(upc) ? { upc } : null),
      reviews: ({ upc }: { upc: string }) => reviewsByProduct.get(upc) ?? [],
    },
  },
};

export function benchSubgraphSdl(name: BenchSubgraphName): string {
  return readFileSync(new URL(`${name}.graphql`, import.meta.url), 'utf8');
}

/** The supergraph of the four in-memory subgraphs at these URLs. */
export function composeBenchSupergraph(urls: Readonly<Record<BenchSubgraphName, string>>): string {
  const result = composeServices(
    BENCH_SUBGRAPH_NAMES.map((name) => ({ name, url: urls[name], typeDefs: parse(benchSubgraphSdl(name)) })),
  );
  if (result.errors) throw new Error(`bench subgraphs do not compose:\n${result.errors.map((e) => e.message).join('\n')}`);
  return result.supergraphSdl;
}

export interface FetchCounter {
  /** Every request a subgraph answered. */
  requests: number;
  /** Those that were `_entities` fetches (the rest are root fetches). */
  entityRequests: number;
  /** Answers served from the memo. */
  memoHits: number;
  /** Requests being answered now (never reset). */
  inFlight: number;
}

export interface RunningBenchSubgraphs {
  readonly urls: Readonly<Record<BenchSubgraphName, string>>;
  readonly counters: Readonly<Record<BenchSubgraphName, FetchCounter>>;
  stop(): Promise<void>;
}

const MEMO_LIMIT = 10_000;

function serve(name: BenchSubgraphName, schema: GraphQLSchema, counter: FetchCounter): http.Server {
  const documents = new Map<string, DocumentNode>();
  const memo = new Map<string, Buffer>();

  async function answer(body: string): Promise<Buffer> {
    const cached = memo.get(body);
    if (cached) {
      counter.memoHits++;
      return cached;
    }
    const request = JSON.parse(body) as { query?: string; variables?: Record<string, unknown>; operationName?: string };
    let document = documents.get(request.query ?? '');
    let result: unknown;
    if (!document) {
      const parsed = parse(request.query ?? '');
      const errors = validate(schema, parsed);
      if (errors.length > 0) result = { errors: errors.map((e) => e.toJSON()) };
      else documents.set(request.query ?? '', (document = parsed));
    }
    if (document) {
      const executed = await execute({
        schema,
        document,
        variableValues: request.variables ?? null,
        operationName: request.operationName ?? null,
        contextValue: {},
      });
      result = { ...executed, ...(executed.errors ? { errors: executed.errors.map((e) => e.toJSON()) } : {}) };
    }
    const out = Buffer.from(JSON.stringify(result));
    if (memo.size < MEMO_LIMIT) memo.set(body, out);
    return out;
  }

  return http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      counter.requests++;
      counter.inFlight++;
      if (body.includes('"representations"')) counter.entityRequests++;
      answer(body)
        .then(
          (out) => {
            res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': out.length });
            res.end(out);
          },
          (err: unknown) => {
            const out = JSON.stringify({ errors: [{ message: `${name}: ${(err as Error).message}` }] });
            res.writeHead(400, { 'content-type': 'application/json; charset=utf-8' });
            res.end(out);
          },
        )
        .finally(() => counter.inFlight--);
    });
  });
}

/** Starts the four subgraphs on free ports of 127.0.0.1. */
export async function startBenchSubgraphs(): Promise<RunningBenchSubgraphs> {
  const servers: http.Server[] = [];
  const urls = {} as Record<BenchSubgraphName, string>;
  const counters = {} as Record<BenchSubgraphName, FetchCounter>;
  for (const name of BENCH_SUBGRAPH_NAMES) {
    const schema = buildSubgraphSchema([{ typeDefs: parse(benchSubgraphSdl(name)), resolvers: resolvers[name] as never }]);
    const counter: FetchCounter = { requests: 0, entityRequests: 0, memoHits: 0, inFlight: 0 };
    const server = serve(name, schema, counter);
    server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
    urls[name] = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
    counters[name] = counter;
  }
  return {
    urls,
    counters,
    stop: async () => {
      for (const s of servers) {
        s.closeAllConnections();
        await new Promise<void>((resolve) => s.close(() => resolve()));
      }
    },
  };
}
