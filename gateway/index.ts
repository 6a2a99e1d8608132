/** Runs the gateway as its own service over SUPERGRAPH_PATH. */
import { loadConfig, subgraphUrlOverride, SUBGRAPH_NAMES } from '../lib/config.ts';
import { createLogger } from '../lib/log.ts';
import { readSupergraph, startGateway } from './server.ts';

const cfg = loadConfig();
const log = createLogger('gateway', cfg.LOG_LEVEL);
const running = await startGateway({
  supergraphSdl: readSupergraph(cfg.SUPERGRAPH_PATH),
  urlOverrides: Object.fromEntries(SUBGRAPH_NAMES.map((n) => [n, subgraphUrlOverride(cfg, n)])),
  production: cfg.NODE_ENV === 'production',
  port: cfg.GATEWAY_PORT,
  host: cfg.HOST,
});
log.info({ url: running.url }, 'gateway ready');
const stop = async () => {
  await running.stop();
  process.exit(0);
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
