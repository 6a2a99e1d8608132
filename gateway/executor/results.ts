/**
 * The result tree as stock's `executeQueryPlan` builds it (dist/executeQueryPlan.js): fetched data
 * merged in (`deepMerge`), the entities at a plan path (`flattenResultsAtPath`), and the paths and
 * codes of a subgraph's errors (`makeLazyErrorPathGenerator`, `downstreamServiceError`).
 */
import { ERRORS, errorCodeDef } from '@apollo/federation-internals';
import type { FetchNode, ResponsePath } from '@apollo/query-planner';
import { GraphQLError, type GraphQLErrorOptions, type GraphQLFormattedError } from 'graphql';
import { generateHydratedPaths } from '../apollo/internals.ts';

export type ResultMap = Record<string, any>;

function isObject(value: unknown): value is ResultMap {
  return value !== undefined && value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Stock's `deepMerge` (utilities/deepMerge.ts). Response names never shadow inherited properties (see ./index.ts). */
export function deepMerge(target: any, source: any): any {
  if (source === undefined || source === null) return target;
  return mergeKeys(target, source, Object.keys(source));
}

/** `deepMerge` with the source's keys given. */
export function mergeKeys(target: any, source: any, keys: readonly string[]): any {
  for (let k = 0; k < keys.length; k++) {
    const key = keys[k]!;
    const value = source[key];
    if (value === undefined) continue;
    const existing = target[key];
    if (existing === value) continue; // merging a value into itself changes nothing (shared answers, see executeFetch)
    if (existing && isObject(value)) {
      deepMerge(existing, value);
    } else if (Array.isArray(value) && Array.isArray(existing) && value.length === existing.length) {
      for (let i = 0; i < value.length; i++) {
        if (isObject(existing[i]) && isObject(value[i])) deepMerge(existing[i], value[i]);
        else existing[i] = value[i];
      }
    } else {
      target[key] = value;
    }
  }
  return target;
}

/**
 * Stock's `flattenResultsAtPath`, without copying the path at every step, and with one output
 * array for the whole path (stock's nested `flatMap`s build one per list element at every `@`).
 */
function flattenResultsAtPath(value: any, path: ResponsePath, from: number): any {
  for (; from < path.length; from++) {
    if (value === undefined || value === null) return value;
    const current = path[from];
    if (current === '@') {
      if (!Array.isArray(value)) return value.flatMap((element: any) => flattenResultsAtPath(element, path, from + 1));
      const out: any[] = [];
      for (let i = 0; i < value.length; i++) collectAtPath(value[i], path, from + 1, out);
      return out;
    }
    value = stepInto(value, current!);
  }
  return value;
}

/** Pushes onto `out` the elements of `[value].flatMap((v) => flattenResultsAtPath(v, path, from))`. */
function collectAtPath(value: any, path: ResponsePath, from: number, out: any[]): void {
  for (; from < path.length; from++) {
    if (value === undefined || value === null) break;
    const current = path[from];
    if (current === '@') {
      if (!Array.isArray(value)) {
        value = value.flatMap((element: any) => flattenResultsAtPath(element, path, from + 1));
        break;
      }
      for (let i = 0; i < value.length; i++) collectAtPath(value[i], path, from + 1, out);
      return;
    }
    value = stepInto(value, current!);
  }
  if (Array.isArray(value)) for (let i = 0; i < value.length; i++) out.push(value[i]);
  else out.push(value);
}

function stepInto(value: any, current: string | number): any {
  if (typeof current !== 'string') throw new Error(`Unexpected ${typeof current} found in path`);
  if (Array.isArray(value)) throw new Error(`Unexpected array in result for path element ${current}`);
  return Object.prototype.hasOwnProperty.call(value, current) ? value[current] : undefined;
}

export interface Cursor {
  readonly path: ResponsePath;
  readonly data: ResultMap | ResultMap[];
  readonly fullResult: ResultMap;
}

export function moveIntoCursor(cursor: Cursor, path: ResponsePath): Cursor | undefined {
  const data = flattenResultsAtPath(cursor.data, path, 0);
  return data ? { path: cursor.path.concat(path), data, fullResult: cursor.fullResult } : undefined;
}

export type ErrorPathGenerator = (path: GraphQLErrorOptions['path']) => GraphQLErrorOptions['path'];

/** Stock's `makeLazyErrorPathGenerator`. */
export function errorPathGenerator(fetch: FetchNode, cursor: Cursor): ErrorPathGenerator {
  let hydratedPaths: ResponsePath[] | undefined;
  return (errorPath) => {
    if (fetch.requires && typeof errorPath?.[1] === 'number') {
      if (!hydratedPaths) {
        hydratedPaths = [];
        generateHydratedPaths([], cursor.path, cursor.fullResult, hydratedPaths);
      }
      const hydratedPath = hydratedPaths[errorPath[1]] ?? [];
      return [...hydratedPath, ...errorPath.slice(2)];
    }
    return errorPath ? [...cursor.path, ...errorPath.slice()] : undefined;
  };
}

/** Stock's `downstreamServiceError`. */
export function downstreamServiceError(originalError: GraphQLFormattedError, serviceName: string, generatePath: ErrorPathGenerator): GraphQLError {
  let { message } = originalError;
  const { extensions } = originalError;
  if (!message) message = `Error while fetching subquery from service "${serviceName}"`;
  const options: GraphQLErrorOptions = {
    originalError: originalError as Error,
    path: generatePath(originalError.path),
    extensions: { ...extensions, serviceName },
  };
  const codeDef = errorCodeDef(originalError);
  if (!codeDef && extensions?.['code']) return new GraphQLError(message, options);
  return (codeDef ?? ERRORS.DOWNSTREAM_SERVICE_ERROR).err(message, options);
}
