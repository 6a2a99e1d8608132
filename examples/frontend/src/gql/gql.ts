/* eslint-disable */
import * as types from './graphql.js';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  query AlliancesOverview {\n    alliances {\n      id\n      nodeId\n      name\n      province { id name abbreviation }\n      memberCount\n      smallMemberCount\n      fundingTotals { projectCount totalValue cofinancing cofinancingPercent(decimals: 1) provenance }\n    }\n    networkSummary { allianceCount memberCount smallMemberCount provenance }\n  }\n": typeof types.AlliancesOverviewDocument,
    "\n  query AllianceMembers($id: ID!, $first: Int, $after: String) {\n    alliance(id: $id) {\n      id\n      name\n      memberCount\n      members(first: $first, after: $after) {\n        totalCount\n        edges {\n          cursor\n          node { id name population isSmall membership { id provenance } }\n        }\n        pageInfo { hasNextPage endCursor }\n      }\n    }\n  }\n": typeof types.AllianceMembersDocument,
    "\n  query ComunePage($istatCode: ID!) {\n    municipality(istatCode: $istatCode) {\n      id\n      nodeId\n      name\n      population\n      isSmall\n      province { id name abbreviation }\n      membership { id provenance alliance { id name } }\n      adoptions { id status solution { id name } }\n      committeeSeats { id role committee { id name } }\n    }\n  }\n": typeof types.ComunePageDocument,
    "\n  query RefetchComune($id: ID!) {\n    node(id: $id) {\n      nodeId\n      ... on Municipality { id name population }\n    }\n  }\n": typeof types.RefetchComuneDocument,
};
const documents: Documents = {
    "\n  query AlliancesOverview {\n    alliances {\n      id\n      nodeId\n      name\n      province { id name abbreviation }\n      memberCount\n      smallMemberCount\n      fundingTotals { projectCount totalValue cofinancing cofinancingPercent(decimals: 1) provenance }\n    }\n    networkSummary { allianceCount memberCount smallMemberCount provenance }\n  }\n": types.AlliancesOverviewDocument,
    "\n  query AllianceMembers($id: ID!, $first: Int, $after: String) {\n    alliance(id: $id) {\n      id\n      name\n      memberCount\n      members(first: $first, after: $after) {\n        totalCount\n        edges {\n          cursor\n          node { id name population isSmall membership { id provenance } }\n        }\n        pageInfo { hasNextPage endCursor }\n      }\n    }\n  }\n": types.AllianceMembersDocument,
    "\n  query ComunePage($istatCode: ID!) {\n    municipality(istatCode: $istatCode) {\n      id\n      nodeId\n      name\n      population\n      isSmall\n      province { id name abbreviation }\n      membership { id provenance alliance { id name } }\n      adoptions { id status solution { id name } }\n      committeeSeats { id role committee { id name } }\n    }\n  }\n": types.ComunePageDocument,
    "\n  query RefetchComune($id: ID!) {\n    node(id: $id) {\n      nodeId\n      ... on Municipality { id name population }\n    }\n  }\n": types.RefetchComuneDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query AlliancesOverview {\n    alliances {\n      id\n      nodeId\n      name\n      province { id name abbreviation }\n      memberCount\n      smallMemberCount\n      fundingTotals { projectCount totalValue cofinancing cofinancingPercent(decimals: 1) provenance }\n    }\n    networkSummary { allianceCount memberCount smallMemberCount provenance }\n  }\n"): (typeof documents)["\n  query AlliancesOverview {\n    alliances {\n      id\n      nodeId\n      name\n      province { id name abbreviation }\n      memberCount\n      smallMemberCount\n      fundingTotals { projectCount totalValue cofinancing cofinancingPercent(decimals: 1) provenance }\n    }\n    networkSummary { allianceCount memberCount smallMemberCount provenance }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query AllianceMembers($id: ID!, $first: Int, $after: String) {\n    alliance(id: $id) {\n      id\n      name\n      memberCount\n      members(first: $first, after: $after) {\n        totalCount\n        edges {\n          cursor\n          node { id name population isSmall membership { id provenance } }\n        }\n        pageInfo { hasNextPage endCursor }\n      }\n    }\n  }\n"): (typeof documents)["\n  query AllianceMembers($id: ID!, $first: Int, $after: String) {\n    alliance(id: $id) {\n      id\n      name\n      memberCount\n      members(first: $first, after: $after) {\n        totalCount\n        edges {\n          cursor\n          node { id name population isSmall membership { id provenance } }\n        }\n        pageInfo { hasNextPage endCursor }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ComunePage($istatCode: ID!) {\n    municipality(istatCode: $istatCode) {\n      id\n      nodeId\n      name\n      population\n      isSmall\n      province { id name abbreviation }\n      membership { id provenance alliance { id name } }\n      adoptions { id status solution { id name } }\n      committeeSeats { id role committee { id name } }\n    }\n  }\n"): (typeof documents)["\n  query ComunePage($istatCode: ID!) {\n    municipality(istatCode: $istatCode) {\n      id\n      nodeId\n      name\n      population\n      isSmall\n      province { id name abbreviation }\n      membership { id provenance alliance { id name } }\n      adoptions { id status solution { id name } }\n      committeeSeats { id role committee { id name } }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query RefetchComune($id: ID!) {\n    node(id: $id) {\n      nodeId\n      ... on Municipality { id name population }\n    }\n  }\n"): (typeof documents)["\n  query RefetchComune($id: ID!) {\n    node(id: $id) {\n      nodeId\n      ... on Municipality { id name population }\n    }\n  }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;