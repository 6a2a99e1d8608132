/**
 * The example front end's operations, typed by GraphQL Code Generator (./gql/, from codegen.ts):
 * the three pages of docs/frontend.md (alliances overview; an ALI's members, page by page; a
 * Comune) and a Relay-style refetch by global id.
 */
import { graphql } from './gql/index.js';

/** Page 1: every ALI with its counts and funding totals (fundingTotals: exact, with provenance), and the network's totals. */
export const AlliancesOverview = graphql(`
  query AlliancesOverview {
    alliances {
      id
      nodeId
      name
      province { id name abbreviation }
      memberCount
      smallMemberCount
      fundingTotals { projectCount totalValue cofinancing cofinancingPercent(decimals: 1) provenance }
    }
    networkSummary { allianceCount memberCount smallMemberCount provenance }
  }
`);

/** Page 2: one ALI's member Comuni, a page at a time (`fetchMore` with `after`); `members` is null, with the error, for a bad cursor. */
export const AllianceMembers = graphql(`
  query AllianceMembers($id: ID!, $first: Int, $after: String) {
    alliance(id: $id) {
      id
      name
      memberCount
      members(first: $first, after: $after) {
        totalCount
        edges {
          cursor
          node { id name population isSmall membership { id provenance } }
        }
        pageInfo { hasNextPage endCursor }
      }
    }
  }
`);

/** Page 3: a Comune with what four subgraphs know of it. */
export const ComunePage = graphql(`
  query ComunePage($istatCode: ID!) {
    municipality(istatCode: $istatCode) {
      id
      nodeId
      name
      population
      isSmall
      province { id name abbreviation }
      membership { id provenance alliance { id name } }
      adoptions { id status solution { id name } }
      committeeSeats { id role committee { id name } }
    }
  }
`);

/** Any object again from its global id (Relay's refetch); here a Comune's current population. */
export const RefetchComune = graphql(`
  query RefetchComune($id: ID!) {
    node(id: $id) {
      nodeId
      ... on Municipality { id name population }
    }
  }
`);
