/**
 * The catalogue of error codes (lib/errors.ts) is the only place a code can come from: every
 * upper-case string literal in gateway/, lib/ and subgraphs/ is a catalogued code or one of the
 * named kinds of constant that are not error codes; production masking follows the catalogue; and
 * where a route answers with an explicit HTTP status, it is the catalogue's status for that code.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { constants } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { configSpec } from '../../lib/config.ts';
import { ErrorCode, errorSpec, isClientCode } from '../../lib/errors.ts';
import { PROVINCES } from '../../lib/domain/registry.ts';
import { maskError } from '../../gateway/errors.ts';

const root = path.resolve(import.meta.dirname, '..', '..');

function sources(dir: string): string[] {
  return readdirSync(path.join(root, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.parentPath.includes('__generated__'))
    .map((e) => path.join(e.parentPath, e.name));
}

const files = ['gateway', 'lib', 'subgraphs'].flatMap(sources);
const UPPER_LITERAL = /['"`]([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*)['"`]/g;

/** Values of the schema's enums (provenance, orderings, statuses): data, not error codes. */
const enumValues = new Set(
  readdirSync(path.join(root, 'schema'))
    .filter((f) => f.endsWith('.graphql'))
    .flatMap((f) => {
      const sdl = readFileSync(path.join(root, 'schema', f), 'utf8').replace(/"""[\s\S]*?"""|"[^"\n]*"|#.*/g, '');
      return [...sdl.matchAll(/enum\s+\w+[^{]*\{([^}]*)\}/g)].flatMap((m) => m[1]!.match(/\b[A-Z][A-Z0-9_]+\b/g) ?? []);
    }),
);

/** Upper-case literals that are not error codes, by kind. */
const NOT_ERROR_CODES: ReadonlyArray<readonly [kind: string, has: (literal: string) => boolean]> = [
  ['a GraphQL enum value of our schema', (s) => enumValues.has(s)],
  ['a built-in GraphQL scalar type', (s) => s === 'ID'],
  ['an ordering name carried in pagination cursors', (s) => /_(ASC|DESC)$/.test(s)],
  ['a configuration variable', (s) => Object.hasOwn(configSpec, s)],
  ['an HTTP method', (s) => ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH'].includes(s)],
  ['a process signal', (s) => Object.hasOwn(constants.signals, s)],
  ['a system or undici socket error (read, never answered)', (s) => Object.hasOwn(constants.errno, s) || s.startsWith('UND_ERR_')],
  ['a province abbreviation', (s) => PROVINCES.some((p) => p.abbreviation === s)],
  ['an institution id of the seed data', (s) => ['CIPE', 'CNIPA', 'MEF', 'MIT'].includes(s)],
  ['a JWT algorithm', (s) => s === 'HS256'],
  ['a Redis command option (SET … PX)', (s) => s === 'PX'],
  ['a Unicode normalisation form', (s) => s === 'NFD' || s === 'NFC'],
  ['a process warning code (emitWarning), not a response', (s) => s.startsWith('ALI_')],
];

describe('the catalogue of error codes', () => {
  it('holds every code used in gateway/, lib/ and subgraphs/', () => {
    const unknown: string[] = [];
    let codes = 0;
    for (const file of files) {
      readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          for (const [, literal] of line.matchAll(UPPER_LITERAL)) {
            if (errorSpec(literal!)) codes++;
            else if (!NOT_ERROR_CODES.some(([, has]) => has(literal!))) unknown.push(`${path.relative(root, file)}:${i + 1} ${literal}`);
          }
        });
    }
    expect(unknown, 'add each to lib/errors.ts, or, if it is no error code, its kind to NOT_ERROR_CODES').toEqual([]);
    expect(codes).toBeGreaterThan(20); // the scan reads the code, not an empty list
  });

  it('answers each explicit HTTP status with the catalogued status of its code', () => {
    // httpError(res, 405, 'METHOD_NOT_ALLOWED', …), error(req, res, 404, 'REPORT_NOT_FOUND', …)
    const call = /\((?:req, )?res, (\d{3}), (?:ErrorCode\.|')([A-Z_]+)'?/g;
    const mismatched: string[] = [];
    let calls = 0;
    for (const file of files) {
      for (const [, status, code] of readFileSync(file, 'utf8').matchAll(call)) {
        calls++;
        const spec = errorSpec(code!);
        if (spec?.status !== Number(status)) mismatched.push(`${path.relative(root, file)}: ${status} ${code} (catalogue: ${spec?.status})`);
      }
    }
    expect(mismatched).toEqual([]);
    expect(calls).toBeGreaterThan(3);
  });

  it('masks in production exactly the codes that are not client-visible, and codes it does not know', () => {
    for (const code of [...Object.keys(ErrorCode), 'A_FOREIGN_SUBGRAPH_CODE']) {
      const masked = maskError({ message: `secret detail of ${code}`, extensions: { code, stacktrace: ['at x'] } }, true);
      if (isClientCode(code)) {
        expect(masked).toEqual({ message: `secret detail of ${code}`, extensions: { code } });
      } else {
        expect(masked).toEqual({ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } });
      }
    }
    expect(isClientCode('INTERNAL_SERVER_ERROR')).toBe(false);
    expect(maskError({ message: 'dev', extensions: { code: 'INTERNAL_SERVER_ERROR' } }, false).message).toBe('dev');
  });
});
