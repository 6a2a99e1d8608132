/**
 * The lexical checks every document passes before Apollo Server parses it
 * (gateway/pipeline/nesting.ts): a document that passed is not lexed again; one that failed is
 * refused every time.
 */
import { describe, expect, it } from 'vitest';
import { DocumentChecks } from '../../gateway/pipeline/nesting.ts';

describe('DocumentChecks', () => {
  it('lexes a well-formed document once, refuses a malformed one every time', () => {
    const checks = new DocumentChecks(10_000);
    const good = '{ alliances { id name municipalities { istatCode } } }';
    expect(checks.error(good)).toBeUndefined();
    expect(checks.error(good)).toBeUndefined();
    expect(checks.lexed).toBe(1);

    const deep = `{ a ${'{ a '.repeat(200)}${'} '.repeat(201)}}`;
    const conditional = 'subscription { onEvent @skip(if: true) { id } }';
    for (let i = 0; i < 2; i++) {
      expect(checks.error(deep)?.extensions['code']).toBe('GRAPHQL_PARSE_FAILED');
      expect(checks.error(conditional)?.extensions['code']).toBe('GRAPHQL_VALIDATION_FAILED');
    }
    expect(checks.lexed).toBe(5);
  });
});
