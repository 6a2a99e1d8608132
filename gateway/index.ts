/**
 * The gateway as a service: `npm run gateway -- [--supergraph FILE] [--port N]` (also the
 * `ali-gateway` bin). Serves any Federation 2 supergraph; subgraph URLs come from its
 * join__graph definitions unless overridden by SUBGRAPH_<NAME>_URL. Configuration: lib/config.ts.
 */
import { parseArgs } from 'node:util';
import v8 from 'node:v8';
import { ConfigError, gatewayDbName, loadConfig, subgraphUrlOverride } from '../lib/config.ts';
import { connect } from '../lib/mongo.ts';
import { createLogger } from '../lib/log.ts';
import { startTracing } from '../lib/tracing.ts';
import { inspectSupergraph } from './supergraph.ts';
import { gatewayOptionsFromConfig, startGateway } from './runtime.ts';
import { readFileSync } from 'node:fs';

const { values } = parseArgs({ options: { supergraph: { type: 'string' }, port: { type: 'string' } } });
const cfg = loadConfig({
  ...process.env,
  ...(values.supergraph ? { SUPERGRAPH_PATH: values.supergraph } : {}),
  ...(values.port ? { GATEWAY_PORT: values.port } : {}),
});
const log = createLogger('gateway', cfg.LOG_LEVEL);
// V8 reads this flag at each full collection, so setting it now holds for the process's life.
if (cfg.GATEWAY_HEAP_GROWTH_PERCENT > 0) v8.setFlagsFromString(`--heap-growing-percent=${cfg.GATEWAY_HEAP_GROWTH_PERCENT}`);
const tracing = await startTracing({ serviceName: 'ali-gateway', otlpEndpoint: cfg.OTEL_EXPORTER_OTLP_ENDPOINT });
let subgraphs: string[];
try {
  subgraphs = inspectSupergraph(readFileSync(cfg.SUPERGRAPH_PATH, 'utf8')).map((s) => s.name);
} catch (err) {
  log.fatal({ path: cfg.SUPERGRAPH_PATH, reason: (err as Error).message }, 'cannot serve this supergraph');
  process.exit(1);
}
// API keys and trusted documents live in the gateway's own database; without one, anonymous access only.
const client = cfg.MONGODB_URI ? await connect(cfg.MONGODB_URI) : undefined;
if (!client) log.warn('MONGODB_URI unset: no key store, every caller is anonymous');
if (!cfg.GATEWAY_SIGNING_SECRET) log.warn('GATEWAY_SIGNING_SECRET unset: subgraph requests are not signed (subgraphs of this project refuse them)');
const running = await startGateway({
  ...(client ? { accessDb: client.db(gatewayDbName(cfg)) } : {}),
  supergraph: { path: cfg.SUPERGRAPH_PATH, watch: cfg.SUPERGRAPH_WATCH },
  urlOverrides: Object.fromEntries(subgraphs.map((n) => [n, subgraphUrlOverride(cfg, n)])),
  ...gatewayOptionsFromConfig(cfg),
  logger: log,
  port: cfg.GATEWAY_PORT,
  host: cfg.HOST,
}).catch((err: unknown) => {
  // A configuration the gateway refuses (ANONYMOUS_SCOPE unset in production): say why, exit 1.
  if (!(err instanceof ConfigError)) throw err;
  log.fatal(err.message);
  process.exit(1);
});
log.info({ url: `${running.url}graphql`, metrics: running.metricsUrl, subgraphs, heapGrowthPercent: cfg.GATEWAY_HEAP_GROWTH_PERCENT || 'V8 default' }, 'gateway ready');
const stop = async (signal: string) => {
  log.info({ signal, graceMs: cfg.SHUTDOWN_GRACE_MS, listenMs: cfg.SHUTDOWN_LISTEN_MS }, 'shutting down');
  await running.stop(cfg.SHUTDOWN_GRACE_MS, cfg.SHUTDOWN_LISTEN_MS);
  await client?.close();
  await tracing.stop();
  process.exit(0);
};
// A second signal while stopping (Ctrl-C reaches npm, tsx and node at once) must not cut the drain short.
let stopping: Promise<void> | undefined;
process.on('SIGTERM', () => void (stopping ??= stop('SIGTERM')));
process.on('SIGINT', () => void (stopping ??= stop('SIGINT')));
