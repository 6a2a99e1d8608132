/// <reference path="../../bench/autocannon.d.ts" />
/**
 * The benchmark's answer check (bench/load.ts), the differential suite's comparison: what it hides
 * (how the JSON text is written) and what it does not (status, field order, values, errors, extensions).
 */
import { describe, expect, it } from 'vitest';
import { AnswerChecker, normalForm } from '../../bench/load.ts';

const expected = { data: { alliances: [{ id: 'ali-cn', name: 'ALI Cuneo', memberCount: 222 }], note: 'Mondovì' } };
const check = (body: string, status = 200) => new AnswerChecker(normalForm(200, expected)).check(status, Buffer.from(body));

describe('the benchmark answer check', () => {
  it('accepts the expected answer however its JSON text is written (JSON_TEXT: whitespace, escapes, number spelling)', () => {
    expect(check(JSON.stringify(expected))).toBe('ok');
    expect(check(JSON.stringify(expected, null, 2))).toBe('ok');
    expect(check(JSON.stringify(expected).replace('ì', '\\u00ec'))).toBe('ok');
    expect(check(JSON.stringify(expected).replace('222', '2.22e2'))).toBe('ok');
  });

  it('refuses fields out of order, at any level', () => {
    expect(check(JSON.stringify({ data: { note: 'Mondovì', alliances: expected.data.alliances } }))).toBe('wrong');
    expect(check(JSON.stringify({ data: { alliances: [{ name: 'ALI Cuneo', id: 'ali-cn', memberCount: 222 }], note: 'Mondovì' } }))).toBe('wrong');
  });

  it('refuses another value, a missing or extra field, and any answer with errors or extensions it does not expect', () => {
    expect(check(JSON.stringify({ data: { ...expected.data, note: 'Mondovi' } }))).toBe('wrong');
    expect(check(JSON.stringify({ data: { alliances: expected.data.alliances } }))).toBe('wrong');
    expect(check(JSON.stringify({ ...expected, extensions: { valueCompletion: [{ message: 'Cannot return null' }] } }))).toBe('wrong');
    expect(check(JSON.stringify({ ...expected, extensions: { cost: 3 } }))).toBe('wrong');
    expect(check(JSON.stringify({ ...expected, errors: [{ message: 'boom' }] }))).toBe('error');
    expect(check(JSON.stringify(expected), 500)).toBe('error');
  });
});
