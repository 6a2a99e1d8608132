/**
 * What "the same answer" means for the lean executor's gate, and the check of a documented right
 * answer where stock is wrong.
 *
 * Two answers are the same when their HTTP status is the same and their bodies, as JSON text in the
 * order the gateway wrote them, are the same: `data` with every object's fields in the order the
 * gateway serialised them (the GraphQL spec requires selection order, and clients rely on it), and
 * every error whole (message, locations, path, extensions), and top-level `extensions`. Only the
 * normalisations below are applied first, each for a reason that makes the difference meaningless
 * to a client; compare.test.ts shows what each one hides (and that nothing else is hidden).
 */
import { isDeepStrictEqual } from 'node:util';

interface RawError {
  readonly message: string;
  readonly locations?: readonly { line: number; column: number }[];
  readonly path?: readonly (string | number)[];
  readonly extensions?: Readonly<Record<string, unknown>>;
}

/** A gateway's answer as received: its status and its parsed body (object keys in the order written). */
export interface RawAnswer {
  readonly status: number;
  readonly body: {
    readonly data?: unknown;
    readonly errors?: readonly RawError[];
    readonly extensions?: { readonly valueCompletion?: readonly RawError[]; readonly [key: string]: unknown };
  };
}

/**
 * Normalisation 1, ERROR_ORDER: `errors` (and `extensions.valueCompletion`) sorted by path, then
 * message, then the whole error's JSON. Two fetches of one plan level run in parallel and each
 * appends its errors when it completes, so the order of errors from different fetches is not
 * deterministic on either gateway; the GraphQL spec gives the order no meaning. The errors
 * themselves are compared whole.
 */
export function sortErrors(errors: readonly RawError[]): RawError[] {
  const key = (e: RawError) => [e.path ? JSON.stringify(e.path) : '', e.message, JSON.stringify(e)] as const;
  return [...errors].sort((a, b) => {
    const [pa, ma, ja] = key(a);
    const [pb, mb, jb] = key(b);
    return pa.localeCompare(pb) || ma.localeCompare(mb) || ja.localeCompare(jb);
  });
}

/**
 * Normalisation 2, STACKTRACE: `extensions.stacktrace` removed from every error. Our gateway adds
 * the server's stack frames outside production (Apollo Server's includeStacktraceInErrorResponses),
 * stock Apollo Server does not under NODE_ENV=test; the frames are process-local by construction,
 * and production answers never carry them.
 */
export function withoutStacktrace(error: RawError): RawError {
  if (!error.extensions || !('stacktrace' in error.extensions)) return error;
  const { stacktrace: _frames, ...extensions } = error.extensions;
  return { ...error, extensions };
}

function normaliseErrors(errors: readonly RawError[]): RawError[] {
  return sortErrors(errors.map(withoutStacktrace));
}

/** The body with the named normalisations applied, every other field and key order kept. */
export function normaliseBody(body: RawAnswer['body']): RawAnswer['body'] {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) {
    if (key === 'errors' && Array.isArray(value)) out[key] = normaliseErrors(value as RawError[]);
    else if (key === 'extensions' && value && typeof value === 'object' && 'valueCompletion' in value) {
      const extensions = value as NonNullable<RawAnswer['body']['extensions']>;
      out[key] = { ...extensions, valueCompletion: normaliseErrors(extensions.valueCompletion ?? []) };
    } else out[key] = value;
  }
  return out as RawAnswer['body'];
}

/**
 * An answer as the text two gateways must agree on: the status, then the normalised body, as
 * indented JSON in the order written (so a test failure's diff shows a field out of place).
 */
export function comparable(answer: RawAnswer): string {
  return JSON.stringify({ status: answer.status, body: normaliseBody(answer.body) }, null, 2);
}

// ---------------------------------------------------------------------------------------------
// Documented answers (the stock-wrong cases).

/** An expected error: `message` may be a pattern; a missing `code` accepts any `extensions.code`. */
export interface ExpectedError {
  readonly message: string | RegExp;
  readonly path?: readonly (string | number)[];
  readonly code?: unknown;
}

/**
 * An expected answer, written in the order the gateway must write `data` (selection order).
 * Errors are listed in ERROR_ORDER (by path, then message); a missing `valueCompletion` accepts
 * anything there.
 */
export interface Expected {
  readonly status: number;
  readonly data?: unknown;
  readonly errors?: readonly ExpectedError[];
  readonly valueCompletion?: readonly ExpectedError[];
}

function sameErrors(actual: readonly RawError[] | undefined, expected: readonly ExpectedError[] | undefined): boolean {
  const sorted = actual ? sortErrors(actual) : [];
  return (
    sorted.length === (expected?.length ?? 0) &&
    (expected ?? []).every((x, i) => {
      const y = sorted[i]!;
      const message = typeof x.message === 'string' ? x.message === y.message : x.message.test(y.message);
      return message && isDeepStrictEqual(x.path, y.path) && ('code' in x ? isDeepStrictEqual(x.code, y.extensions?.['code']) : true);
    })
  );
}

/**
 * Whether an answer is the documented one: status, `data` as JSON text in the expected field
 * order, and its errors' messages, paths and codes (the documented answers name only what makes
 * them right or wrong; ports in messages vary from run to run).
 */
export function matches(actual: RawAnswer, expected: Expected): boolean {
  const { data, errors, extensions } = actual.body;
  return (
    actual.status === expected.status &&
    JSON.stringify(data) === JSON.stringify(expected.data) &&
    sameErrors(errors, expected.errors) &&
    (expected.valueCompletion === undefined || sameErrors(extensions?.valueCompletion, expected.valueCompletion))
  );
}

/** JSON of expected answers, patterns shown as `/…/`. */
export function showExpected(expected: unknown): string {
  return JSON.stringify(expected, (_k, v: unknown) => (v instanceof RegExp ? String(v) : v));
}

/** Whether an answer has data and no errors (a corpus whose answers are mostly errors compares little). */
export function isClean(answer: RawAnswer): boolean {
  const { data, errors, extensions } = answer.body;
  return answer.status === 200 && data !== null && data !== undefined && !errors && !extensions?.valueCompletion;
}
