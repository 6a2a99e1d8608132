/**
 * The error codes clients can rely on. Every error a client can cause is a GraphQL error with
 * one of these codes in `extensions.code`, never an internal error.
 */
import { GraphQLError } from 'graphql';

export const ErrorCode = {
  /** An argument is malformed or out of range (extensions.argument names it). */
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  /** A pagination cursor was not produced by this field with this ordering. */
  INVALID_CURSOR: 'INVALID_CURSOR',
  /** `first` is below 1 or above the maximum page size. */
  PAGE_SIZE_OUT_OF_RANGE: 'PAGE_SIZE_OUT_OF_RANGE',
  /** A well-formed identifier that names no record. */
  NOT_FOUND: 'NOT_FOUND',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export function userError(code: ErrorCode, message: string, extensions: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { code, ...extensions } });
}

export function badInput(argument: string, message: string): GraphQLError {
  return userError(ErrorCode.BAD_USER_INPUT, message, { argument });
}

export function notFound(what: string, id: string): GraphQLError {
  return userError(ErrorCode.NOT_FOUND, `No ${what} with id "${id}"`, { id });
}

/** A reference inside our own database that names nothing is a data fault, not a client error. */
export function present<T>(value: T | null | undefined, what: string, id: string): T {
  if (value == null) throw new Error(`dangling reference: ${what} "${id}"`);
  return value;
}
