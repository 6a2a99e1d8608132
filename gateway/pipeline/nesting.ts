/**
 * The parser's depth guard. graphql-js parses recursively, and so do the checks after it
 * (validation rules, operation limits, the cost estimate): a document a few thousand levels deep
 * overflows the stack (about 2,400 levels in a cold process) while staying within the token limit.
 * Apollo Server happens to catch the overflow in its parser and answer 400, but nothing else does,
 * and how deep is too deep depends on the stack at hand. So every document is lexed first, which
 * is flat, and one nested deeper than {@link MAX_NESTING} is refused as a syntax error before
 * anything recursive sees it.
 */
import { GraphQLError, Lexer, Source, TokenKind } from 'graphql';
import { LRUCache } from 'lru-cache';
import { subscriptionRootError } from './subscriptionRoot.ts';

/**
 * Levels of `{`, `[` and `(` a document may nest. Far above what any role's maxDepth lets run
 * (20 at most by default: a level is a selection set, plus an argument list and a few levels of
 * input values), far below where recursion gets into trouble.
 */
const MAX_NESTING = 128;

const OPENING = new Set<TokenKind>([TokenKind.BRACE_L, TokenKind.BRACKET_L, TokenKind.PAREN_L]);
const CLOSING = new Set<TokenKind>([TokenKind.BRACE_R, TokenKind.BRACKET_R, TokenKind.PAREN_R]);

/**
 * GRAPHQL_PARSE_FAILED (HTTP 400) for a document nested deeper than {@link MAX_NESTING}; undefined
 * otherwise. Reads at most `maxTokens` tokens: a longer document, or one the lexer rejects, is
 * left to the parser, which refuses it with its own message.
 */
function nestingError(query: string, maxTokens: number): GraphQLError | undefined {
  const lexer = new Lexer(new Source(query));
  let depth = 0;
  try {
    for (let read = 0; read <= maxTokens; read++) {
      const { kind } = lexer.advance();
      if (kind === TokenKind.EOF) return undefined;
      if (CLOSING.has(kind)) depth--;
      else if (OPENING.has(kind) && ++depth > MAX_NESTING) {
        return new GraphQLError(`Syntax Error: the document nests selections, arguments or values more than ${MAX_NESTING} levels deep.`, {
          extensions: { code: 'GRAPHQL_PARSE_FAILED', http: { status: 400 } },
        });
      }
    }
  } catch (err) {
    if (!(err instanceof GraphQLError)) throw err;
  }
  return undefined;
}

/** Characters of document text remembered as well-formed, at most (about Apollo Server's own document cache). */
const WELL_FORMED_CHARS = 8_000_000;

/**
 * The checks every document passes before Apollo Server parses it: {@link nestingError}, then
 * `subscriptionRootError` (./subscriptionRoot.ts). A document that passed is remembered by its
 * text, so that a repeated operation is not lexed again on every request (allocation profiles:
 * the lexer's tokens were the only per-request parsing left of a cached operation).
 */
export class DocumentChecks {
  private readonly passed = new LRUCache<string, true>({ maxSize: WELL_FORMED_CHARS, sizeCalculation: (_value, text) => Math.max(1, text.length) });
  /** Documents lexed so far (the tests count them). */
  lexed = 0;

  constructor(private readonly maxTokens: number) {}

  /** The error refusing `query`, or undefined when it may go on to Apollo Server's parser. */
  error(query: string): GraphQLError | undefined {
    if (this.passed.get(query)) return undefined;
    this.lexed++;
    const error = nestingError(query, this.maxTokens) ?? subscriptionRootError(query, this.maxTokens);
    if (!error) this.passed.set(query, true);
    return error;
  }
}
