/**
 * The three pages of the example front end, as data: what each page shows, read through Apollo
 * Client and its normalised cache.
 */
import type { ApolloClient } from '@apollo/client';
import { AllianceMembers, AlliancesOverview, ComunePage, RefetchComune } from './operations.ts';
import type { AllianceMembersQuery, AlliancesOverviewQuery, ComunePageQuery } from './gql/graphql.ts';

/** Page 1: the alliances overview. */
export async function alliancesOverview(client: ApolloClient): Promise<AlliancesOverviewQuery> {
  const { data, error } = await client.query({ query: AlliancesOverview });
  if (error || !data) throw error ?? new Error('no data');
  return data;
}

type Members = NonNullable<NonNullable<AllianceMembersQuery['alliance']>['members']>;

/**
 * Page 2: an ALI's members, loaded to the end with `fetchMore` (one request per page of
 * `pageSize`, at most `maxPages`); the members as the cache merged them.
 */
export async function allianceMembers(client: ApolloClient, id: string, pageSize?: number, maxPages = 20): Promise<{ name: string; memberCount: number; members: Members['edges']; requests: number }> {
  const variables = { id, ...(pageSize ? { first: pageSize } : {}) };
  const query = client.watchQuery({ query: AllianceMembers, variables });
  const subscription = query.subscribe(() => {});
  try {
    let { data } = await query.refetch();
    let requests = 1;
    while (data?.alliance?.members?.pageInfo.hasNextPage && requests < maxPages) {
      await query.fetchMore({ variables: { after: data.alliance.members.pageInfo.endCursor } });
      requests++;
      // The pages as the cache merged them (relayStylePagination in ./client.ts).
      data = client.readQuery({ query: AllianceMembers, variables }) ?? undefined;
    }
    const alliance = data?.alliance;
    if (!alliance?.members) throw new Error(`no members for ${id}`);
    return { name: alliance.name, memberCount: alliance.memberCount, members: alliance.members.edges, requests };
  } finally {
    subscription.unsubscribe();
  }
}

/** Page 3: a Comune, then the same Comune refetched by its global id (Relay's node), which updates the one cache record. */
export async function comunePage(client: ApolloClient, istatCode: string): Promise<{ page: NonNullable<ComunePageQuery['municipality']>; refetchedName: string | undefined }> {
  const { data, error } = await client.query({ query: ComunePage, variables: { istatCode } });
  const page = data?.municipality;
  if (error || !page) throw error ?? new Error(`no Comune ${istatCode}`);
  const refetched = await client.query({ query: RefetchComune, variables: { id: page.nodeId }, fetchPolicy: 'network-only' });
  const node = refetched.data?.node;
  return { page, refetchedName: node?.__typename === 'Municipality' ? node.name : undefined };
}
