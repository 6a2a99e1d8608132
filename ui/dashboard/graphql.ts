/** The dashboard's only way to data: POST to the gateway's public GraphQL endpoint. */

export interface GraphQLError {
  message: string;
  extensions?: { code?: string; serviceName?: string };
}

/** The request failed, or the answer carries errors: the messages to show. */
export class QueryError extends Error {
  constructor(readonly details: string[]) {
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
    throw new QueryError([`The gateway could not be reached (${err instanceof Error ? err.message : String(err)}).`]);
  }
  let body: { data?: T | null; errors?: GraphQLError[] };
  try {
    body = (await response.json()) as typeof body;
  } catch {
    throw new QueryError([`The gateway answered HTTP ${response.status} without a GraphQL response.`]);
  }
  if (body.errors?.length) {
    throw new QueryError(
      body.errors.map((e) => {
        const where = [e.extensions?.code, e.extensions?.serviceName && `subgraph ${e.extensions.serviceName}`].filter(Boolean).join(', ');
        return where ? `${e.message} (${where})` : e.message;
      }),
    );
  }
  if (!response.ok || !body.data) throw new QueryError([`The gateway answered HTTP ${response.status} with no data.`]);
  return body.data;
}
