/**
 * Every error code the services answer with, in one catalogue: what it means, the HTTP status of a
 * response that is refused with it, and whether a client sees it as it is in production (`client`)
 * or it is masked as INTERNAL_SERVER_ERROR. A code that is not here does not exist:
 * test/unit/errorCodes.test.ts fails on any code used in gateway/, lib/ or subgraphs/ that is not
 * listed. Every client error is a GraphQL error with one of these codes in `extensions.code`.
 *
 * `status` is the status of a whole response refused with the code; the same code inside a
 * GraphQL response that has data (a field error) travels with 200. `null`: the code only ends a
 * stream (subscriptions), never a response.
 */
import { GraphQLError } from 'graphql';

interface CodeSpec {
  readonly status: number | null;
  readonly client: boolean;
  readonly description: string;
}

const CATALOGUE = {
  // --- the request itself ----------------------------------------------------------------------
  BAD_REQUEST: { status: 400, client: true, description: 'The request is not a GraphQL request (body, content type, parameters, CSRF prevention, APQ protocol).' },
  GRAPHQL_PARSE_FAILED: { status: 400, client: true, description: 'The document does not parse (Apollo Server).' },
  GRAPHQL_VALIDATION_FAILED: { status: 400, client: true, description: 'The document is not valid against the caller\'s schema (Apollo Server).' },
  OPERATION_RESOLUTION_FAILURE: { status: 400, client: true, description: 'No operation, or no operation of the given name, in the document (Apollo Server).' },
  UNRESOLVABLE_FIELD: {
    status: 400,
    client: true,
    description: 'A selected field that no subgraph can resolve where it is asked in this supergraph (extensions.field, responsePath): refused, where stock Apollo answers null.',
  },
  PERSISTED_QUERY_NOT_FOUND: { status: 200, client: true, description: 'An APQ hash the gateway does not know yet: send the text with it (Apollo Server).' },
  PERSISTED_QUERY_NOT_SUPPORTED: { status: 400, client: true, description: 'APQ are switched off (Apollo Server).' },
  METHOD_NOT_ALLOWED: { status: 405, client: true, description: 'An HTTP method the route does not answer (the `Allow` header lists those it does).' },
  PAYLOAD_TOO_LARGE: { status: 413, client: true, description: 'A request body or message above BODY_LIMIT_BYTES.' },
  UNSUPPORTED_LANGUAGE: { status: 400, client: true, description: 'A `lang` the pages and exports do not have (it, en).' },
  // --- arguments and data ------------------------------------------------------------------------
  BAD_USER_INPUT: { status: 400, client: true, description: 'An argument or variable is malformed or out of range (extensions.argument names it).' },
  INVALID_CURSOR: { status: 400, client: true, description: 'A pagination cursor that this field did not produce with this ordering.' },
  PAGE_SIZE_OUT_OF_RANGE: { status: 400, client: true, description: '`first` below 1 or above the maximum page size.' },
  NOT_FOUND: { status: 404, client: true, description: 'A well-formed identifier, or a route, that names nothing (extensions.argument names the argument, extensions.id the value).' },
  ALREADY_EXISTS: { status: 409, client: true, description: 'A create names a record that exists already (extensions.id).' },
  KEY_EXISTS: { status: 409, client: true, description: 'An API key or trusted-documents app with that name exists already.' },
  VERSION_CONFLICT: {
    status: 409,
    client: true,
    description: 'An update\'s `expectedVersion` is not the record\'s version: it changed since it was read (extensions.currentVersion). Nothing was changed.',
  },
  CONTRADICTS_PUBLISHED_FACT: { status: 422, client: true, description: 'The change would contradict a published fact (extensions.argument names the input).' },
  // --- access --------------------------------------------------------------------------------------
  UNAUTHENTICATED: { status: 401, client: true, description: 'No valid credentials (bad, expired or revoked key; a missing or invalid gateway header at a subgraph).' },
  FORBIDDEN: { status: 403, client: true, description: 'Valid credentials without the right (role or write scope).' },
  SUBGRAPH_NOT_SUBSCRIBED: { status: 403, client: true, description: 'The operation touches a subgraph outside the caller\'s scope.' },
  PERSISTED_QUERY_NOT_IN_LIST: { status: 403, client: true, description: 'A trusted-documents key sent an operation its app has not registered.' },
  OPERATION_LIMIT_EXCEEDED: { status: 400, client: true, description: 'The operation exceeds one of the caller\'s operation limits (extensions.limit, max, actual).' },
  RATE_LIMITED: { status: 429, client: true, description: 'The caller\'s request budget is spent (Retry-After says when it refills).' },
  SUBSCRIPTION_LIMIT_EXCEEDED: { status: 429, client: true, description: 'More subscriptions than allowed per connection or per key.' },
  // --- the gateway and its subgraphs --------------------------------------------------------------
  SUBGRAPH_UNAVAILABLE: { status: 502, client: true, description: 'A subgraph refused the connection, reset it, or answered 5xx without a GraphQL error code.' },
  SUBGRAPH_TIMEOUT: { status: 504, client: true, description: 'A subgraph did not answer completely within its timeout.' },
  SUBGRAPH_CIRCUIT_OPEN: { status: 503, client: true, description: 'Not sent: the subgraph failed repeatedly and its circuit is open.' },
  SUBGRAPH_BAD_RESPONSE: { status: 502, client: true, description: 'A subgraph answered something that is not a GraphQL response.' },
  RESPONSE_TOO_LARGE: {
    status: 400,
    client: true,
    description:
      "The response, or the subgraph answers for it, would exceed the caller's maxResponseBytes (EXECUTION_LIMITS): the request's fetches were stopped; select fewer fields or smaller pages.",
  },
  REQUEST_DEADLINE_EXCEEDED: {
    status: 504,
    client: true,
    description: "A subgraph had not answered when the request's deadline (deadlineMs, EXECUTION_LIMITS) ran out: the request's pending fetches were stopped.",
  },
  SHUTTING_DOWN: { status: 503, client: true, description: 'The instance is stopping: retry on another one.' },
  CLIENT_CLOSED_REQUEST: {
    status: 499,
    client: true,
    description: 'The client went away while its operation waited to execute (GATEWAY_CONCURRENT_OPERATIONS): it was not executed, and no one reads this answer.',
  },
  EVENT_BUS_UNAVAILABLE: { status: 503, client: true, description: 'The subscription event bus (Redis) cannot be reached.' },
  SLOW_CONSUMER: { status: null, client: true, description: 'A subscriber fell too far behind its events and was ended.' },
  EVENT_ID_UNKNOWN: {
    status: 400,
    client: true,
    description: 'A resume position (SSE Last-Event-ID, extensions.lastEventId) that is no event id of the subscription\'s subgraph: malformed, of another subgraph, or never issued.',
  },
  EVENT_ID_EXPIRED: {
    status: 410,
    client: true,
    description: 'A resume position older than the event log keeps (EVENT_RETENTION_DAYS): the events after it are gone; subscribe afresh and read the current state by query.',
  },
  REPORT_NOT_FOUND: { status: 404, client: true, description: 'No analytics report of that name or format.' },
  REPORT_FAILED: { status: 502, client: true, description: 'The operation behind an analytics report failed (the GraphQL errors come with it).' },
  // --- everything else -----------------------------------------------------------------------------
  INTERNAL_SERVER_ERROR: { status: 500, client: false, description: 'A fault of the service; in production its message and details are hidden.' },
} as const satisfies Record<string, CodeSpec>;

export type ErrorCode = keyof typeof CATALOGUE;

/** Every code, by name: `ErrorCode.NOT_FOUND === 'NOT_FOUND'`. */
export const ErrorCode = Object.freeze(Object.fromEntries(Object.keys(CATALOGUE).map((code) => [code, code]))) as {
  readonly [K in ErrorCode]: K;
};

/**
 * Codes that refuse the HTTP request itself (its framing, method, size, credentials or budget),
 * not the GraphQL request it carries. Under `application/json` a refusal with one of them keeps the
 * catalogue's status; a refused GraphQL request (parse, validation, scope, limits, trusted
 * documents) is answered 200 there, as GraphQL over HTTP asks of that media type, while a client
 * that accepts `application/graphql-response+json` gets the catalogue's status (gateway/http/responses.ts).
 */
const REQUEST_LEVEL: ReadonlySet<string> = new Set<ErrorCode>([
  'BAD_REQUEST',
  'METHOD_NOT_ALLOWED',
  'PAYLOAD_TOO_LARGE',
  'UNAUTHENTICATED',
  'RATE_LIMITED',
  'SUBSCRIPTION_LIMIT_EXCEEDED',
  'SHUTTING_DOWN',
]);

export function refusesHttpRequest(code: string | undefined): boolean {
  return code !== undefined && REQUEST_LEVEL.has(code);
}

/** The catalogue entry of a code, or undefined for a code that is not ours (a foreign subgraph's). */
export function errorSpec(code: string): CodeSpec | undefined {
  return Object.hasOwn(CATALOGUE, code) ? CATALOGUE[code as ErrorCode] : undefined;
}

/** Whether clients see errors with this code as they are in production (unknown codes: no). */
export function isClientCode(code: string): boolean {
  return errorSpec(code)?.client === true;
}

/** A subset of the catalogue by name, for a module that answers with only those codes. */
export function pickCodes<const K extends ErrorCode>(...codes: K[]): { readonly [C in K]: C } {
  return Object.freeze(Object.fromEntries(codes.map((code) => [code, code]))) as { readonly [C in K]: C };
}

export function userError(code: ErrorCode, message: string, extensions: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { code, ...extensions } });
}

export function badInput(argument: string, message: string): GraphQLError {
  return userError(ErrorCode.BAD_USER_INPUT, message, { argument });
}

/**
 * A well-formed identifier that names nothing. Like every error about an argument, it names the
 * argument in `extensions.argument`; `extensions.id` is the value that was sent.
 */
export function notFound(what: string, id: string, argument = 'id'): GraphQLError {
  return userError(ErrorCode.NOT_FOUND, `No ${what} with id "${id}"`, { id, argument });
}

export function alreadyExists(what: string, id: string): GraphQLError {
  return userError(ErrorCode.ALREADY_EXISTS, `A ${what} with id "${id}" exists already`, { id });
}

export function versionConflict(what: string, id: string, expectedVersion: number, currentVersion: number): GraphQLError {
  return userError(
    ErrorCode.VERSION_CONFLICT,
    `The ${what} "${id}" is at version ${currentVersion}, not ${expectedVersion}: it changed since you read it; read it again and retry`,
    { id, expectedVersion, currentVersion },
  );
}

/** A reference inside our own database that names nothing is a data fault, not a client error. */
export function present<T>(value: T | null | undefined, what: string, id: string): T {
  if (value == null) throw new Error(`dangling reference: ${what} "${id}"`);
  return value;
}
