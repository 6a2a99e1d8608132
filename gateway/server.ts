/**
 * The gateway: Apollo Gateway over the composed supergraph, with subgraph URLs taken from the
 * supergraph's join__graph definitions unless overridden by configuration. Builds, never listens.
 */
import { readFileSync } from 'node:fs';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { startStandaloneServer } from '@apollo/server/standalone';
import { ApolloGateway, RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';

export interface GatewayOptions {
  /** Supergraph SDL (composed by `npm run compose`). */
  readonly supergraphSdl: string;
  /** Subgraph name → URL, replacing the supergraph's URL for that subgraph. */
  readonly urlOverrides?: Readonly<Record<string, string | undefined>>;
  readonly production?: boolean;
  readonly plugins?: ApolloServerPlugin[];
  /** Called for every request the gateway sends to a subgraph (tests and logs). */
  readonly onSubgraphRequest?: (subgraph: string, query: string, variables: Record<string, unknown> | undefined) => void;
}

export function readSupergraph(path: string): string {
  return readFileSync(path, 'utf8');
}

class SubgraphDataSource extends RemoteGraphQLDataSource {
  constructor(
    readonly subgraph: string,
    url: string,
    private readonly observe?: GatewayOptions['onSubgraphRequest'],
  ) {
    super({ url });
  }

  override willSendRequest({ request }: GraphQLDataSourceProcessOptions): void {
    this.observe?.(this.subgraph, request.query ?? '', request.variables as Record<string, unknown> | undefined);
  }
}

export function buildGateway(opts: GatewayOptions): ApolloServer {
  // @apollo/gateway otherwise sends usage metrics to Apollo and, to label them, probes the cloud
  // metadata addresses of AWS, GCP, Azure and Alibaba (169.254.169.254): unwanted on a public
  // administration network, and seen failing here. Opt in with APOLLO_TELEMETRY_DISABLED=false.
  process.env.APOLLO_TELEMETRY_DISABLED ??= 'true';
  const gateway = new ApolloGateway({
    supergraphSdl: opts.supergraphSdl,
    buildService: ({ name, url }) => {
      const target = opts.urlOverrides?.[name] ?? url;
      if (!target) throw new Error(`subgraph ${name} has no URL in the supergraph and no override`);
      return new SubgraphDataSource(name, target, opts.onSubgraphRequest);
    },
  });
  return new ApolloServer({
    gateway,
    includeStacktraceInErrorResponses: !opts.production,
    // Apollo's default landing page loads Sandbox from a CDN, which a closed network cannot reach.
    plugins: [ApolloServerPluginLandingPageDisabled(), ...(opts.plugins ?? [])],
  });
}

export interface RunningGateway {
  readonly url: string;
  stop(): Promise<void>;
}

export async function startGateway(opts: GatewayOptions & { port: number; host: string }): Promise<RunningGateway> {
  const server = buildGateway(opts);
  const { url } = await startStandaloneServer(server, { listen: { port: opts.port, host: opts.host } });
  return { url, stop: () => server.stop() };
}
