/**
 * A partner agency's subscription, runnable as is:
 *
 *   npm run example:subscribe -- --key ali_… [--url ws://localhost:4000/graphql] [--province 004] [--count N]
 *
 * Prints one JSON line per adoption event (registered, or status changed) in the province, with
 * the Comune's ALI resolved from the alliances subgraph and the solution's funded projects from
 * funding, through the gateway. The key needs the reuse subgraph (and alliances and funding for
 * those fields): `npm run keys -- create --name NAME --role partner --subgraphs reuse,alliances,funding`.
 */
import { parseArgs } from 'node:util';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const { values } = parseArgs({
  options: {
    url: { type: 'string', default: 'ws://localhost:4000/graphql' },
    key: { type: 'string' },
    province: { type: 'string' },
    count: { type: 'string' },
  },
});
const limit = values.count ? Number(values.count) : Infinity;

const SUBSCRIPTION = /* GraphQL */ `
  subscription AdoptionsInProvince($province: ID) {
    adoptionChanged(provinceCode: $province) {
      kind
      at
      previousStatus
      adoption {
        id
        status
        solution { name fundedProjects { id } }
        municipality { istatCode name membership { alliance { name } } }
      }
    }
  }
`;

const client = createClient({
  url: values.url!,
  webSocketImpl: WebSocket,
  connectionParams: values.key ? { authorization: `Bearer ${values.key}` } : {},
  retryAttempts: 5,
});

let seen = 0;
const events = client.iterate({ query: SUBSCRIPTION, variables: { province: values.province ?? null } });
process.once('SIGINT', () => void events.return?.());
try {
  for await (const result of events) {
    console.log(JSON.stringify(result));
    if (result.errors || ++seen >= limit) break;
  }
} catch (err) {
  // A refused subscription (e.g. SUBGRAPH_NOT_SUBSCRIBED) or a closed connection (4401: bad key).
  console.error(JSON.stringify(err instanceof Error ? { message: err.message } : err));
  process.exitCode = 1;
} finally {
  await client.dispose();
}
