/**
 * The headers every subgraph request carries: the executor's, the client headers HEADER_RULES
 * forwards to this subgraph (./headerRules.ts), the incoming operation's request id, and the
 * caller signed for this subgraph (`x-ali-gateway-token`), which subgraphs that check it verify.
 * A token from anywhere else (the executor's headers, a client) is never forwarded.
 */
import type { GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { GATEWAY_TOKEN_HEADER, type Caller } from '../../lib/access.ts';
import type { HeaderRules } from '../../lib/configFormats.ts';
import { REQUEST_ID_HEADER, type GatewayContext } from '../context.ts';
import { ruledHeaders } from './headerRules.ts';

/** Signs a caller for one subgraph (gateway/access/signer.ts). */
export type Signer = (caller: Caller, subgraph: string) => string | Promise<string>;

/** The caller of an incoming operation signed for the subgraph; undefined without a caller or a signer. */
export function signCaller(options: GraphQLDataSourceProcessOptions<GatewayContext>, subgraph: string, sign: Signer | undefined): string | Promise<string> | undefined {
  const caller = 'incomingRequestContext' in options ? (options.context as Partial<GatewayContext> | undefined)?.caller : undefined;
  return caller && sign ? sign(caller, subgraph) : undefined;
}

/** A header added to a plain, lower-cased header object as `Headers.append` would (values joined with ", "). */
function append(headers: Record<string, string>, name: string, value: string): void {
  const key = name.toLowerCase();
  const present = headers[key];
  headers[key] = present === undefined ? value : `${present}, ${value}`;
}

/**
 * The headers of a request to the subgraph, lower-cased as stock's pipeline sends them: the
 * executor's, the ruled client headers, the request id, the signed caller and stock's
 * `Content-Type: application/json`.
 */
export function propagatedHeaders(options: GraphQLDataSourceProcessOptions<GatewayContext>, token: string | undefined, rules?: HeaderRules, subgraph = ''): Record<string, string> {
  const headers: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [name, value] of options.request.http?.headers ?? []) append(headers, name, value);
  delete headers[GATEWAY_TOKEN_HEADER];
  if ('incomingRequestContext' in options) {
    // A request context built by the gateway itself (a subscription event's entity fetches) may have no HTTP request.
    const client = (options.incomingRequestContext as Partial<typeof options.incomingRequestContext>).request?.http?.headers;
    for (const [name, value] of ruledHeaders(rules, subgraph, client)) headers[name.toLowerCase()] = value;
    const context: Partial<GatewayContext> | undefined = options.context;
    if (typeof context?.requestId === 'string') headers[REQUEST_ID_HEADER] = context.requestId;
  }
  if (token) headers[GATEWAY_TOKEN_HEADER] = token;
  headers['content-type'] = 'application/json';
  return headers;
}
