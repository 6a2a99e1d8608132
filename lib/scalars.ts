/**
 * Custom scalars shared by the subgraphs: Money (exact euro amounts as decimal strings, bigint
 * cents inside), Decimal (exact computed ratios as strings) and Date (calendar dates).
 */
import { GraphQLError, GraphQLScalarType, Kind } from 'graphql';
import { formatCents, parseCents } from './money.ts';
import { ErrorCode } from './errors.ts';

const invalid = (message: string) => new GraphQLError(message, { extensions: { code: ErrorCode.BAD_USER_INPUT } });

export const MoneyScalar = new GraphQLScalarType<bigint, string>({
  name: 'Money',
  description: 'An exact amount in euro as a decimal string with two decimals, e.g. "3890700.00".',
  serialize(value) {
    if (typeof value !== 'bigint') throw new TypeError(`Money must be bigint cents, got ${typeof value}`);
    return formatCents(value);
  },
  parseValue(value) {
    if (typeof value !== 'string') throw invalid('Money must be a string such as "1249769.00"');
    try {
      return parseCents(value);
    } catch (err) {
      throw invalid((err as Error).message);
    }
  },
  parseLiteral(ast) {
    if (ast.kind !== Kind.STRING) throw invalid('Money must be a string such as "1249769.00"');
    try {
      return parseCents(ast.value);
    } catch (err) {
      throw invalid((err as Error).message);
    }
  },
});

export const DecimalScalar = new GraphQLScalarType<string, string>({
  name: 'Decimal',
  description: 'An exact decimal number as a string, e.g. "39.994".',
  serialize(value) {
    if (typeof value !== 'string' || !/^-?\d+(\.\d+)?$/.test(value)) throw new TypeError('Decimal must be a decimal string');
    return value;
  },
  parseValue(value) {
    if (typeof value !== 'string' || !/^-?\d+(\.\d+)?$/.test(value)) throw invalid('Decimal must be a decimal string');
    return value;
  },
  parseLiteral(ast) {
    if (ast.kind !== Kind.STRING || !/^-?\d+(\.\d+)?$/.test(ast.value)) throw invalid('Decimal must be a decimal string');
    return ast.value;
  },
});

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** True for a real calendar date written YYYY-MM-DD. */
function isIsoDate(text: string): boolean {
  const m = DATE_RE.exec(text);
  if (!m) return false;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.toISOString().slice(0, 10) === text;
}

export const DateScalar = new GraphQLScalarType<string, string>({
  name: 'Date',
  description: 'A calendar date, YYYY-MM-DD.',
  serialize(value) {
    if (typeof value !== 'string' || !isIsoDate(value)) throw new TypeError('Date must be YYYY-MM-DD');
    return value;
  },
  parseValue(value) {
    if (typeof value !== 'string' || !isIsoDate(value)) throw invalid('Date must be a calendar date written YYYY-MM-DD');
    return value;
  },
  parseLiteral(ast) {
    if (ast.kind !== Kind.STRING || !isIsoDate(ast.value)) throw invalid('Date must be a calendar date written YYYY-MM-DD');
    return ast.value;
  },
});
