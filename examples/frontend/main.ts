/**
 * The example front end, run against a gateway: npm run example:frontend -- [--url URL] [--key KEY] [--trusted] [--alliance ID]
 *
 * Prints the three pages (alliances overview; one ALI's members, walked to the end; a Comune).
 * With --trusted it sends each operation by its registered id only: register the manifest first
 * (`npm run documents -- register --app example-frontend --manifest examples/frontend/src/gql/persisted-documents.json`)
 * and pass a key bound to it (`npm run keys -- create --name example --role frontend --documents example-frontend`).
 */
import { parseArgs } from 'node:util';
import { createClient } from './src/client.ts';
import { allianceMembers, alliancesOverview, comunePage } from './src/pages.ts';

const { values } = parseArgs({
  options: { url: { type: 'string', default: 'http://localhost:4000/graphql' }, key: { type: 'string' }, trusted: { type: 'boolean', default: false }, alliance: { type: 'string', default: 'ali-to' } },
});
const client = createClient({ uri: values.url, key: values.key, trusted: values.trusted });

const overview = await alliancesOverview(client);
console.log(`Alliances overview: ${overview.networkSummary.allianceCount} ALI, ${overview.networkSummary.memberCount} member Comuni`);
for (const a of overview.alliances) {
  const t = a.fundingTotals;
  console.log(`  ${a.name.padEnd(28)} ${String(a.memberCount).padStart(4)} members  €${t.totalValue} (${t.cofinancingPercent}% co-financed, ${t.provenance})`);
}
const members = await allianceMembers(client, values.alliance);
console.log(`${members.name}: ${members.members.length} of ${members.memberCount} members in ${members.requests} request(s)`);
const first = members.members[0]?.node;
if (first) {
  const { page, refetchedName } = await comunePage(client, first.id);
  console.log(`Comune ${page.name} (${page.province.abbreviation}): ${page.population} inhabitants, ${page.membership?.alliance.name ?? 'no ALI'}, ${page.adoptions.length} adoption(s); refetched by node id: ${refetchedName}`);
}
