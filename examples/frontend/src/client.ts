/**
 * Apollo Client 4 for ALI Graph, as docs/frontend.md sets it up: the one type policy the graph
 * still needs (cursor pagination of connections: which arguments key a list, how pages join), no
 * keyFields (every entity and Membership has an `id`), client awareness headers, and optionally a
 * key and trusted documents (the persisted-query link sending the ids GraphQL Code Generator put in
 * each document's `__meta__.hash`).
 */
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, type TypePolicies } from '@apollo/client';
import { PersistedQueryLink } from '@apollo/client/link/persisted-queries';
import { relayStylePagination } from '@apollo/client/utilities';

/** The only policies a client of ALI Graph needs: every paginated connection, keyed by its arguments but `first` and `after`. */
export const typePolicies: TypePolicies = {
  Query: {
    fields: {
      municipalities: relayStylePagination(['filter', 'orderBy']),
      fundedProjects: relayStylePagination(['filter', 'orderBy']),
      adoptions: relayStylePagination(['filter']),
      facilitators: relayStylePagination(['allianceId']),
    },
  },
  Alliance: { fields: { members: relayStylePagination(['filter', 'orderBy']) } },
  Province: { fields: { municipalities: relayStylePagination(['filter', 'orderBy']) } },
  ReuseSolution: { fields: { adoptions: relayStylePagination(['filter']) } },
  Committee: { fields: { meetings: relayStylePagination() } },
};

export interface ClientOptions {
  /** The gateway's GraphQL endpoint, e.g. http://localhost:4000/graphql. */
  readonly uri: string;
  /** An API key (`x-api-key`); none: anonymous. */
  readonly key?: string | undefined;
  /** Send operations by their registered id (trusted documents; the key must be bound to the app). */
  readonly trusted?: boolean;
  readonly fetch?: typeof fetch;
}

/** The id GraphQL Code Generator's client preset gives each document (`sha256:<hex>`). */
function documentId(document: unknown): string {
  const hash = (document as { __meta__?: { hash?: unknown } }).__meta__?.hash;
  if (typeof hash !== 'string') throw new Error('document without __meta__.hash: generate it with persistedDocuments (codegen.ts)');
  return hash;
}

export function createClient(opts: ClientOptions): ApolloClient {
  const http = new HttpLink({ uri: opts.uri, headers: opts.key ? { 'x-api-key': opts.key } : {}, ...(opts.fetch ? { fetch: opts.fetch } : {}) });
  const link = opts.trusted ? ApolloLink.from([new PersistedQueryLink({ generateHash: documentId }), http]) : http;
  return new ApolloClient({
    link,
    cache: new InMemoryCache({ typePolicies }),
    clientAwareness: { name: 'ali-example-frontend', version: '1.0.0' },
  });
}
