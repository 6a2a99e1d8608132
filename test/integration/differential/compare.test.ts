/**
 * What the gate's comparison (compare.ts) sees and what it does not: every normalisation it
 * applies, shown with the difference it hides, and the differences it must not hide (field order,
 * any part of an error, top-level extensions).
 */
import { describe, expect, it } from 'vitest';
import { comparable, matches, sortErrors, withoutStacktrace, type RawAnswer } from './compare.ts';

const answer = (body: RawAnswer['body'], status = 200): RawAnswer => ({ status, body });
const error = { message: 'not allowed', locations: [{ line: 1, column: 3 }], path: ['user', 'secret'], extensions: { code: 'FORBIDDEN', serviceName: 'users' } };

describe('exact comparison', () => {
  it('sees field order, in data and in errors', () => {
    expect(comparable(answer({ data: { a: 1, b: { c: 2, d: 3 } } }))).not.toBe(comparable(answer({ data: { b: { c: 2, d: 3 }, a: 1 } })));
    expect(comparable(answer({ data: { a: 1, b: { c: 2, d: 3 } } }))).not.toBe(comparable(answer({ data: { a: 1, b: { d: 3, c: 2 } } })));
    expect(comparable(answer({ data: null, errors: [error] }))).not.toBe(comparable(answer({ errors: [error], data: null })));
  });

  it('sees every part of an error: message, locations, path, each extension', () => {
    const base = comparable(answer({ data: null, errors: [error] }));
    for (const changed of [
      { ...error, message: 'Not allowed' },
      { ...error, locations: [{ line: 1, column: 4 }] },
      { ...error, path: ['user', 0, 'secret'] },
      { ...error, extensions: { ...error.extensions, code: 'UNAUTHENTICATED' } },
      { ...error, extensions: { code: 'FORBIDDEN' } },
      { ...error, extensions: { ...error.extensions, reason: 'scope' } },
      { message: error.message, path: error.path, extensions: error.extensions },
    ]) {
      expect(comparable(answer({ data: null, errors: [changed] })), JSON.stringify(changed)).not.toBe(base);
    }
  });

  it('sees the status, top-level extensions, and errors reported in extensions instead of errors', () => {
    expect(comparable(answer({ data: { a: 1 } }, 500))).not.toBe(comparable(answer({ data: { a: 1 } })));
    expect(comparable(answer({ data: { a: 1 }, extensions: { cost: 3 } }))).not.toBe(comparable(answer({ data: { a: 1 } })));
    expect(comparable(answer({ data: { a: null }, extensions: { valueCompletion: [error] } }))).not.toBe(comparable(answer({ data: { a: null }, errors: [error] })));
  });
});

describe('the normalisations, and what each hides', () => {
  const other = { message: 'flaky failed', path: ['flaky'], extensions: { code: 'FLAKY' } };

  it('ERROR_ORDER: the order of errors (fetches of one level complete in any order), in errors and in valueCompletion', () => {
    expect(sortErrors([error, other])).toEqual(sortErrors([other, error]));
    expect(comparable(answer({ data: null, errors: [error, other] }))).toBe(comparable(answer({ data: null, errors: [other, error] })));
    expect(comparable(answer({ data: {}, extensions: { valueCompletion: [error, other] } }))).toBe(comparable(answer({ data: {}, extensions: { valueCompletion: [other, error] } })));
    // …but not a missing, extra or changed error.
    expect(comparable(answer({ data: null, errors: [error, other] }))).not.toBe(comparable(answer({ data: null, errors: [other] })));
    expect(comparable(answer({ data: null, errors: [error, other] }))).not.toBe(comparable(answer({ data: null, errors: [other, other] })));
  });

  it('STACKTRACE: extensions.stacktrace (process-local frames, outside production only), nothing else of the extensions', () => {
    const traced = { ...error, extensions: { ...error.extensions, stacktrace: ['GraphQLError: not allowed', '    at resolve (users.ts:1:1)'] } };
    expect(withoutStacktrace(traced)).toEqual(error);
    expect(comparable(answer({ data: null, errors: [traced] }))).toBe(comparable(answer({ data: null, errors: [error] })));
    // The other extensions stay, in their order.
    expect(Object.keys(withoutStacktrace(traced).extensions!)).toEqual(['code', 'serviceName']);
  });
});

describe('a documented answer (stock-wrong cases)', () => {
  it('needs data in the documented field order, and the errors documented', () => {
    const expected = { status: 200, data: { a: { weight: 1.5, estimate: 20 } } };
    expect(matches(answer({ data: { a: { weight: 1.5, estimate: 20 } } }), expected)).toBe(true);
    expect(matches(answer({ data: { a: { estimate: 20, weight: 1.5 } } }), expected)).toBe(false);
    expect(matches(answer({ data: { a: { weight: 1.5, estimate: 20 } }, errors: [{ message: 'late', path: ['a'] }] }), expected)).toBe(false);
    const withError = { status: 200, data: { a: null }, errors: [{ message: /^Cannot return null/, path: ['a', 'b'], code: 'X' }] };
    expect(matches(answer({ data: { a: null }, errors: [{ message: 'Cannot return null for b', path: ['a', 'b'], extensions: { code: 'X' } }] }), withError)).toBe(true);
    expect(matches(answer({ data: { a: null }, errors: [{ message: 'Cannot return null for b', path: ['a', 'b'], extensions: { code: 'Y' } }] }), withError)).toBe(false);
    expect(matches(answer({ data: { a: null }, errors: [{ message: 'Cannot return null for b', path: ['a'], extensions: { code: 'X' } }] }), withError)).toBe(false);
  });
});
