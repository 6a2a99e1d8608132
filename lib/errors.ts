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
  /** A create names a record that exists already (extensions.id). */
  ALREADY_EXISTS: 'ALREADY_EXISTS',
  /**
   * An update's `expectedVersion` is not the record's version: someone changed it since it was
   * read (extensions.currentVersion). Nothing was changed; read the record again and retry.
   */
  VERSION_CONFLICT: 'VERSION_CONFLICT',
  /** The change would contradict a fact the source publishes (extensions.argument names the input). */
  CONTRADICTS_PUBLISHED_FACT: 'CONTRADICTS_PUBLISHED_FACT',
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
