/**
 * Stock @apollo/gateway inside @apollo/server with default settings, as the benchmark's
 * baseline: `node .cache/bench-gateways/bench/gateways/apollo.js --supergraph FILE --port N`, compiled by bench/gateways.ts.
 * Nothing is tuned; the only deviation is APOLLO_TELEMETRY_DISABLED=true (set by bench/run.ts
 * too), without which the gateway sends usage metrics to Apollo and probes the cloud metadata
 * addresses, which this network does not allow.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';

process.env.APOLLO_TELEMETRY_DISABLED ??= 'true';
const { values } = parseArgs({ options: { supergraph: { type: 'string' }, port: { type: 'string' }, host: { type: 'string' } } });
if (!values.supergraph) {
  console.error('usage: apollo.ts --supergraph FILE [--port N] [--host H]');
  process.exit(2);
}
const gateway = new ApolloGateway({ supergraphSdl: readFileSync(values.supergraph, 'utf8') });
const server = new ApolloServer({ gateway });
const { url } = await startStandaloneServer(server, {
  listen: { port: Number(values.port ?? 4000), host: values.host ?? '127.0.0.1' },
});
console.log(`stock @apollo/gateway at ${url}`);
const stop = async () => {
  await server.stop();
  process.exit(0);
};
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
