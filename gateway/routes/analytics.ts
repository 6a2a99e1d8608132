/**
 * Analytics exports: `GET /analytics/<report>.json` and `GET /analytics/<report>.csv` run a named
 * analytics operation through the gateway and return its rows as JSON or as CSV (RFC 4180: a
 * header row, fields quoted where needed, CRLF line ends, UTF-8). `GET /analytics/` (or
 * `/analytics/index.json`) lists the reports.
 *
 * A report is one file `gateway/analytics/<report>.graphql`, read and checked once when this
 * module loads: a single query without required variables, whose leading `#` lines describe it.
 * Its one root field answers either a list (the rows) or an object with `rows` and an optional
 * `total`. The columns are the leaf fields the operation selects under a row, in order, named by
 * their path (`solution.name`), so the operation alone defines the report. Values are written as
 * the graph answers them: amounts stay exact decimal strings (a point before the decimals, in
 * every language), enum values stay codes, null becomes an empty CSV field; in CSV, text that a
 * spreadsheet would run as a formula or display deceptively is neutralised (lib/csv.ts). In CSV
 * the total, when there is one, is the last line. The CSV header row names the columns in the reader's
 * language (`?lang=it|en`, else Accept-Language, else Italian; the labels are in ui/i18n); the
 * JSON keeps the field paths as `columns` and gives the same headers as `labels`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  Kind,
  OperationTypeNode,
  parse,
  print,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLFormattedError,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import type { ApolloServer } from '@apollo/server';
import { toCsv, type Cell } from '../../lib/csv.ts';
import { columnLabel, LANGUAGES, negotiateLanguage } from '../../ui/i18n/index.ts';
import type { GatewayContext } from '../context.ts';
import type { Admit } from '../http/admission.ts';
import type { Handler } from '../http/handler.ts';

/** Runs a report's operation; `status` is the HTTP status Apollo Server gave a refusal (403 out of scope, 429, ...). */
type Execute = (
  query: string,
  variables?: Record<string, unknown>,
) => Promise<{ data?: Record<string, unknown> | null; errors?: readonly GraphQLFormattedError[]; status?: number | undefined }>;

/** A named report: its operation and the shape of its answer. */
export interface Report {
  readonly name: string;
  readonly description: string;
  readonly query: string;
  /** Response key of the operation's one root field. */
  readonly rootKey: string;
  /** true: the root field answers `{ rows, total? }`; false: it answers the list of rows. */
  readonly wrapped: boolean;
  readonly hasTotal: boolean;
  /** Column name → path of response keys under a row. */
  readonly columns: readonly { readonly name: string; readonly path: readonly string[] }[];
}

const REPORTS_DIR = new URL('../analytics/', import.meta.url);
const NAME_RE = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

function leafPaths(
  set: SelectionSetNode,
  fragments: ReadonlyMap<string, FragmentDefinitionNode>,
  prefix: readonly string[],
  out: Map<string, readonly string[]>,
): void {
  for (const sel of set.selections) {
    if (sel.kind === Kind.FIELD) {
      const path = [...prefix, sel.alias?.value ?? sel.name.value];
      if (sel.selectionSet) leafPaths(sel.selectionSet, fragments, path, out);
      else out.set(path.join('.'), path);
    } else if (sel.kind === Kind.INLINE_FRAGMENT) {
      leafPaths(sel.selectionSet, fragments, prefix, out);
    } else {
      const fragment = fragments.get(sel.name.value);
      if (!fragment) throw new Error(`unknown fragment ${sel.name.value}`);
      leafPaths(fragment.selectionSet, fragments, prefix, out);
    }
  }
}

function fieldsOf(set: SelectionSetNode, fragments: ReadonlyMap<string, FragmentDefinitionNode>): FieldNode[] {
  return set.selections.flatMap((sel) =>
    sel.kind === Kind.FIELD
      ? [sel]
      : sel.kind === Kind.INLINE_FRAGMENT
        ? fieldsOf(sel.selectionSet, fragments)
        : fieldsOf(fragments.get(sel.name.value)?.selectionSet ?? { kind: Kind.SELECTION_SET, selections: [] }, fragments),
  );
}

/** Reads and checks one report operation; throws with the file name on any problem. */
export function parseReport(name: string, source: string): Report {
  const fail = (why: string): never => {
    throw new Error(`analytics report ${name}.graphql: ${why}`);
  };
  if (!NAME_RE.test(name)) fail('the file name must be lower-case words joined by dashes');
  const doc = parse(source);
  const operations = doc.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  const fragments = new Map(
    doc.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((f) => [f.name.value, f]),
  );
  if (operations.length !== 1 || operations[0]!.operation !== OperationTypeNode.QUERY) fail('it must hold exactly one query');
  const op = operations[0]!;
  if (op.variableDefinitions?.some((v) => v.type.kind === Kind.NON_NULL_TYPE && !v.defaultValue)) fail('it must need no variables');
  const roots = fieldsOf(op.selectionSet, fragments);
  if (roots.length !== 1 || !roots[0]!.selectionSet) fail('it must select one root field with sub-fields');
  const root = roots[0]!;
  const subfields = fieldsOf(root.selectionSet!, fragments);
  const rowsField = subfields.find((f) => (f.alias?.value ?? f.name.value) === 'rows' && f.selectionSet);
  const totalField = subfields.find((f) => (f.alias?.value ?? f.name.value) === 'total' && f.selectionSet);
  const columns = new Map<string, readonly string[]>();
  leafPaths((rowsField ?? root).selectionSet!, fragments, [], columns);
  if (columns.size === 0) fail('it selects no columns');
  const description = source
    .split(/\r?\n/)
    .filter((l) => l.startsWith('#'))
    .map((l) => l.replace(/^#\s?/, ''))
    .join(' ')
    .trim();
  return {
    name,
    description,
    query: source,
    rootKey: root.alias?.value ?? root.name.value,
    wrapped: rowsField !== undefined,
    hasTotal: totalField !== undefined,
    columns: [...columns].map(([name, path]) => ({ name, path })),
  };
}

const FRAGMENTS_FILE = '_fragments.graphql';

/**
 * Every report of `dir`, by name. `_fragments.graphql` holds fragments shared by several reports;
 * each report gets the ones it spreads (an unused fragment would fail GraphQL validation).
 */
export function loadReports(dir: URL = REPORTS_DIR): ReadonlyMap<string, Report> {
  const all = readdirSync(dir);
  const files = all.filter((f) => f.endsWith('.graphql') && !f.startsWith('_')).sort();
  const shared = all.includes(FRAGMENTS_FILE)
    ? parse(readFileSync(new URL(FRAGMENTS_FILE, dir), 'utf8')).definitions.filter(
        (d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION,
      )
    : [];
  return new Map(
    files.map((f) => {
      const name = f.slice(0, -'.graphql'.length);
      const source = readFileSync(new URL(f, dir), 'utf8');
      const used = shared.filter((d) => new RegExp(`\\.\\.\\.${d.name.value}\\b`).test(source)).map((d) => print(d));
      return [name, parseReport(name, [source, ...used].join('\n'))];
    }),
  );
}

// Read once, when the gateway starts.
const REPORTS = loadReports();

// ---------------------------------------------------------------------------------------------
// Rows and CSV

export type FlatRow = Record<string, Cell>;

function valueAt(obj: unknown, path: readonly string[]): Cell {
  let v: unknown = obj;
  for (const key of path) {
    if (v === null || typeof v !== 'object') return null;
    v = (v as Record<string, unknown>)[key];
  }
  if (v === undefined || v === null) return null;
  if (Array.isArray(v)) return v.map((x) => String(x)).join('; ');
  if (typeof v === 'object') return JSON.stringify(v);
  return v as Cell;
}

function flatten(report: Report, row: unknown): FlatRow {
  return Object.fromEntries(report.columns.map((c) => [c.name, valueAt(row, c.path)]));
}

/** The flat rows (and total) of a report's answer; throws when the answer has another shape. */
export function tabulate(report: Report, data: Record<string, unknown>): { rows: FlatRow[]; total: FlatRow | null } {
  const root = data[report.rootKey];
  const list = report.wrapped ? (root as { rows?: unknown } | null)?.rows : root;
  if (!Array.isArray(list)) throw new Error(`the answer of report ${report.name} has no rows`);
  const total = report.hasTotal ? ((root as { total?: unknown } | null)?.total ?? null) : null;
  return { rows: list.map((r) => flatten(report, r)), total: total === null ? null : flatten(report, total) };
}

// ---------------------------------------------------------------------------------------------
// HTTP

function send(req: IncomingMessage, res: ServerResponse, status: number, contentType: string, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    'content-type': contentType,
    'content-length': String(Buffer.byteLength(body)),
    'cache-control': 'no-cache',
    ...headers,
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

function sendJson(req: IncomingMessage, res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  send(req, res, status, 'application/json; charset=utf-8', JSON.stringify(body), headers);
}

function error(req: IncomingMessage, res: ServerResponse, status: number, code: string, message: string, extra: Record<string, unknown> = {}): void {
  sendJson(req, res, status, { errors: [{ message, extensions: { code, ...extra } }] });
}

function index(): { reports: { name: string; description: string; json: string; csv: string }[] } {
  return {
    reports: [...REPORTS.values()].map((r) => ({
      name: r.name,
      description: r.description,
      json: `/analytics/${r.name}.json`,
      csv: `/analytics/${r.name}.csv`,
    })),
  };
}

const REPORT_PATH = /^\/analytics\/([^/]+)\.(csv|json)$/;

/**
 * Serves `/analytics/...`. 404 REPORT_NOT_FOUND for an unknown report or format, 400
 * UNSUPPORTED_LANGUAGE for a `lang` other than it or en, 405 for a method other than GET or
 * HEAD; the status and errors of a refused operation as they are (403 SUBGRAPH_NOT_SUBSCRIBED for
 * a report outside the caller's scope); 502 REPORT_FAILED (with the GraphQL errors) when the
 * operation fails.
 */
async function handleExport(req: IncomingMessage, res: ServerResponse, url: URL, execute: Execute): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    return error(req, res, 405, 'METHOD_NOT_ALLOWED', 'Analytics exports answer GET and HEAD');
  }
  if (url.pathname === '/analytics/' || url.pathname === '/analytics/index.json') return sendJson(req, res, 200, index());
  const match = REPORT_PATH.exec(url.pathname);
  const report = match ? REPORTS.get(match[1]!) : undefined;
  if (!match || !report) {
    return error(req, res, 404, 'REPORT_NOT_FOUND', `No analytics report at ${url.pathname}; see /analytics/ for the list`, {
      reports: [...REPORTS.keys()],
    });
  }
  const format = match[2] as 'csv' | 'json';
  const language = negotiateLanguage(url.searchParams.get('lang'), req.headers['accept-language']);
  if (!language.ok) {
    return error(req, res, 400, 'UNSUPPORTED_LANGUAGE', `No language ${JSON.stringify(language.requested)}; lang is one of ${LANGUAGES.join(', ')}`, {
      languages: [...LANGUAGES],
    });
  }
  const languageHeaders = { 'content-language': language.language, vary: 'Accept-Language' };
  let table: { rows: FlatRow[]; total: FlatRow | null };
  try {
    const result = await execute(report.query);
    const { status } = result;
    // Refused before it ran (scope, limits): the caller's answer, not the report's failure.
    if (status !== undefined && status >= 400 && status < 500 && !result.data) return sendJson(req, res, status, { errors: result.errors ?? [] });
    if (result.errors?.length || !result.data) {
      return sendJson(req, res, 502, {
        errors: [
          { message: `The analytics report ${report.name} failed`, extensions: { code: 'REPORT_FAILED' } },
          ...(result.errors ?? []),
        ],
      });
    }
    table = tabulate(report, result.data);
  } catch (err) {
    return error(req, res, 502, 'REPORT_FAILED', `The analytics report ${report.name} failed: ${(err as Error).message}`);
  }
  const columns = report.columns.map((c) => c.name);
  const labels = columns.map((c) => columnLabel(language.language, c, report.name));
  if (format === 'json') {
    const body = { report: report.name, description: report.description, columns, labels, rows: table.rows, total: table.total };
    return sendJson(req, res, 200, body, languageHeaders);
  }
  const records = [...table.rows, ...(table.total ? [table.total] : [])].map((r) => columns.map((c) => r[c] ?? null));
  return send(req, res, 200, 'text/csv; charset=utf-8; header=present', toCsv(labels, records), {
    'content-disposition': `attachment; filename="${report.name}.csv"`,
    ...languageHeaders,
  });
}

/** `/analytics/...` for an admitted caller: each report runs through Apollo Server as that caller (scope, limits, metrics). */
export function analyticsRoute(deps: { readonly admit: Admit; readonly apollo: ApolloServer<GatewayContext> }): Handler {
  return async (req, res, { url, requestId, log }) => {
    const admitted = await deps.admit(req, res);
    if (!admitted) return;
    const execute: Execute = async (query, variables) => {
      const r = await deps.apollo.executeOperation<Record<string, unknown>>(
        { query, ...(variables ? { variables } : {}) },
        { contextValue: { requestId, caller: admitted.caller, log } },
      );
      if (r.body.kind !== 'single') throw new Error('incremental delivery is not supported for exports');
      const { data, errors } = r.body.singleResult;
      return { data: data ?? null, ...(errors ? { errors } : {}), status: r.http.status };
    };
    return handleExport(req, res, url, execute);
  };
}
