/** The dashboard's only way to data: POST to the gateway's public GraphQL endpoint. */
import { t } from '../shared/page.tsx';

export interface GraphQLError {
  message: string;
  extensions?: { code?: string; serviceName?: string };
}

/**
 * The request failed, or the answer carries errors: the messages to show. `fromApi`: they are the
 * gateway's own words (in English), shown as it gave them.
 */
export class QueryError extends Error {
  constructor(
    readonly details: string[],
    readonly fromApi = false,
  ) {
    super(details.join('; '));
  }
}

export async function graphql<T>(query: string, signal?: AbortSignal): Promise<T> {
  let response: Response;
  try {
    response = await fetch('/graphql', {
      method: 'POST',
      // application/json: GraphQL errors arrive with status 200 and their messages.
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ query }),
      ...(signal ? { signal } : {}),
    });
  } catch (err) {
    throw new QueryError([t.dashboard.gatewayUnreachable(err instanceof Error ? err.message : String(err))]);
  }
  let body: { data?: T | null; errors?: GraphQLError[] };
  try {
    body = (await response.json()) as typeof body;
  } catch {
    throw new QueryError([t.dashboard.noGraphqlResponse(response.status)]);
  }
  if (body.errors?.length) {
    throw new QueryError(
      body.errors.map((e) => {
        const where = [e.extensions?.code, e.extensions?.serviceName && `subgraph ${e.extensions.serviceName}`].filter(Boolean).join(', ');
        return where ? `${e.message} (${where})` : e.message;
      }),
      true,
    );
  }
  if (!response.ok || !body.data) throw new QueryError([t.dashboard.noData(response.status)]);
  return body.data;
}
