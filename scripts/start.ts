/**
 * npm start: the whole system on one machine — the database (MONGODB_URI, or an embedded FerretDB
 * keeping its files in DATA_DIR), the four subgraphs on their ports (each over its own database,
 * seeded when empty) and the gateway. Ctrl-C stops everything.
 */
import { randomBytes } from 'node:crypto';
import { loadConfig, gatewayDbName, subgraphDbName, subgraphPort, subgraphUrlOverride, SUBGRAPH_NAMES } from '../lib/config.ts';
import { clearRuntime, writeRuntime } from '../lib/runtime.ts';
import { startDbServer } from '../lib/dbServer.ts';
import { createLogger } from '../lib/log.ts';
import { startTracing } from '../lib/tracing.ts';
import { connect, detectCapabilities } from '../lib/mongo.ts';
import { startSubgraph, subgraphOptionsFromConfig, type RunningSubgraph } from '../lib/subgraph.ts';
import { createEventBus } from '../lib/events.ts';
import { gatewayOptionsFromConfig, startGateway, type RunningGateway } from '../gateway/runtime.ts';
import { subgraphModules } from '../subgraphs/index.ts';

const cfg = loadConfig();
const log = createLogger('start', cfg.LOG_LEVEL);
const production = cfg.NODE_ENV === 'production';
// Subgraphs accept only requests the gateway signed: one process, so a random secret will do.
const gatewaySecret = cfg.GATEWAY_SIGNING_SECRET ?? randomBytes(32).toString('base64url');
const tracing = await startTracing({ serviceName: 'ali-graph', otlpEndpoint: cfg.OTEL_EXPORTER_OTLP_ENDPOINT });

const server = await startDbServer({
  uri: cfg.MONGODB_URI,
  dataDir: cfg.DATA_DIR,
  ferretdbBin: cfg.FERRETDB_BIN,
  log: (line) => log.info(line),
});
const client = await connect(server.uri);
const subgraphs: RunningSubgraph[] = [];
// Subscription events of the four subgraphs (topics are per subgraph); through Redis with REDIS_URL.
const events = createEventBus({ redisUrl: cfg.REDIS_URL, log });
let gateway: RunningGateway | undefined;

async function stop(code: number): Promise<never> {
  log.info('stopping');
  await gateway?.stop(cfg.SHUTDOWN_GRACE_MS).catch(() => {});
  for (const s of subgraphs) await s.stop().catch(() => {});
  await events.close().catch(() => {});
  await client.close().catch(() => {});
  await clearRuntime(cfg.DATA_DIR).catch(() => {});
  await server.stop().catch(() => {});
  await tracing.stop().catch(() => {});
  process.exit(code);
}
// Ctrl-C reaches every process of the terminal's group (npm, tsx, node) at once, so a second
// signal arrives while stopping: keep handling it (once() would let it kill us mid-cleanup).
let stopping: Promise<never> | undefined;
process.on('SIGINT', () => void (stopping ??= stop(0)));
process.on('SIGTERM', () => void (stopping ??= stop(0)));

try {
  const caps = await detectCapabilities(client.db(subgraphDbName(cfg, 'alliances')));
  log.info({ capabilities: caps }, `database server: ${caps.server} ${caps.version}`);
  for (const name of SUBGRAPH_NAMES) {
    subgraphs.push(
      await startSubgraph(subgraphModules[name], {
        db: client.db(subgraphDbName(cfg, name)),
        gatewaySecret,
        ...subgraphOptionsFromConfig(cfg),
        production,
        port: subgraphPort(cfg, name),
        host: cfg.HOST,
        seedIfEmpty: cfg.SEED_ON_START,
        events,
        changeStreams: cfg.CHANGE_STREAMS,
        log: (line) => log.info(line),
      }),
    );
  }
  gateway = await startGateway({
    ...gatewayOptionsFromConfig(cfg),
    gatewaySecret,
    accessDb: client.db(gatewayDbName(cfg)),
    supergraph: { path: cfg.SUPERGRAPH_PATH, watch: cfg.SUPERGRAPH_WATCH },
    urlOverrides: Object.fromEntries(subgraphs.map((s) => [s.name, subgraphUrlOverride(cfg, s.name) ?? `${s.url}graphql`])),
    logger: createLogger('gateway', cfg.LOG_LEVEL),
    port: cfg.GATEWAY_PORT,
    host: cfg.HOST,
  });
  // `npm run keys` finds the running database here.
  await writeRuntime(cfg.DATA_DIR, { mongoUri: server.uri, pid: process.pid });
  const lines = [
    `gateway     ${gateway.url}graphql  (health: ${gateway.url}health, metrics: ${gateway.metricsUrl})`,
    ...subgraphs.map((s) => `${s.name.padEnd(11)} ${s.url}graphql`),
    `database    ${server.description}`,
  ];
  console.log(`\nALI Graph is up (Ctrl-C stops it):\n  ${lines.join('\n  ')}\n`);
} catch (err) {
  log.error({ err }, 'start-up failed');
  await stop(1);
}
