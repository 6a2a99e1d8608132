/**
 * GET /ready: readiness: every subgraph of the loaded supergraph answers `{ __typename }` within
 * 2 s (signed as the gateway itself when subgraph requests are signed); 503 `degraded` otherwise.
 * Which subgraph is down is said in development only: in production anyone may ask, and the
 * subgraphs' names and state are for the operators (/metrics).
 */
import http from 'node:http';
import https from 'node:https';
import { GATEWAY_TOKEN_HEADER, type Caller } from '../../lib/access.ts';
import type { Signer } from '../access/signer.ts';
import type { SupergraphSourceManager } from '../supergraph.ts';
import type { Handler } from '../http/handler.ts';
import { json } from '../http/responses.ts';
import { instanceUrls } from '../transport/instances.ts';

export interface ReadyDeps {
  readonly supergraph: SupergraphSourceManager;
  /** Subgraph name → URL replacing the supergraph's (GatewayOptions['urlOverrides']). */
  readonly urlOverrides?: Readonly<Record<string, string | undefined>> | undefined;
  readonly sign?: Signer | undefined;
  /** Name each subgraph and its state in the answer (development). */
  readonly detail: boolean;
}

/** The gateway itself, reading only the subgraph it probes (subgraphs enforce the read scope). */
const probeCaller = (subgraph: string): Caller => ({ sub: 'gateway', role: 'anonymous', read: [subgraph], write: [] });

/** How long a subgraph has to answer a probe, whole. */
const PROBE_TIMEOUT_MS = 2000;

/**
 * One POST and its whole answer within `timeoutMs`, over node:http or node:https: a probe every
 * few seconds needs no connection pool, and no fetch (which would load Node's bundled undici).
 */
function post(url: string, headers: Record<string, string>, body: string, timeoutMs: number): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const client = url.startsWith('https:') ? https : http;
    const req = client.request(url, { method: 'POST', headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) }, signal: AbortSignal.timeout(timeoutMs) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

export function readyRoute(deps: ReadyDeps): Handler {
  const subgraphUrls = () => {
    const s = deps.supergraph.state();
    return s.phase === 'loaded' ? s.subgraphs.map((g) => ({ name: g.name, url: deps.urlOverrides?.[g.name] ?? g.url })) : [];
  };
  const probe = async (name: string, url: string): Promise<boolean> => {
    try {
      const headers = { 'content-type': 'application/json', ...(deps.sign ? { [GATEWAY_TOKEN_HEADER]: await deps.sign(probeCaller(name), name) } : {}) };
      const answer = await post(url, headers, '{"query":"{ __typename }"}', PROBE_TIMEOUT_MS);
      const body = JSON.parse(answer.text) as { data?: { __typename?: string } } | null;
      return answer.status === 200 && body?.data?.__typename === 'Query';
    } catch {
      return false;
    }
  };
  return async (_req, res) => {
    const subgraphs = subgraphUrls();
    if (subgraphs.length === 0) return json(res, 503, { status: 'no supergraph loaded' });
    // A subgraph with several instances (a comma-separated list) is up while any of them answers.
    const up = async (name: string, list: string) => (await Promise.all(instanceUrls(list).map((url) => probe(name, url)))).some(Boolean);
    const checks = await Promise.all(subgraphs.map(async ({ name, url }) => ({ name, ok: await up(name, url) })));
    const ok = checks.every((c) => c.ok);
    const status = ok ? 'ready' : 'degraded';
    if (!deps.detail) return json(res, ok ? 200 : 503, { status });
    json(res, ok ? 200 : 503, { status, subgraphs: Object.fromEntries(checks.map((c) => [c.name, c.ok ? 'up' : 'down'])) });
  };
}
