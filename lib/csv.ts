/**
 * CSV as RFC 4180 defines it: a header row, CRLF line ends, fields quoted when they hold a comma,
 * a double quote or a line break, quotes doubled. Used by the gateway's exports and, bundled, by
 * the dashboard.
 *
 * The files are opened in spreadsheets, and their text comes from editors, so every cell is made
 * safe there, following OWASP's CSV injection guidance:
 *
 * - A cell that begins with `=`, `+`, `-`, `@`, a tab, a carriage return or a line feed, which a
 *   spreadsheet may evaluate as a formula (`=HYPERLINK(…)` sends data away when clicked), gets a
 *   leading `'`, which spreadsheets read as "text follows".
 * - Except a plain decimal number (`-12.50`, `+3`: an optional sign, digits, optionally a point
 *   and digits): it cannot hold a formula, and the exports keep numbers machine-readable (amounts
 *   stay exact decimal strings, negative ones included), so it is written as it is, as are
 *   JavaScript numbers.
 * - Control characters (C0 but tab, CR and LF; DEL; C1) and the bidirectional controls that can
 *   make a cell read differently from what it holds (U+202A–U+202E, U+2066–U+2069, U+200E,
 *   U+200F, U+061C) become U+FFFD, visibly.
 * - A field holding `;` is quoted too: Italian spreadsheets split a CSV at `;`, and a cell that
 *   begins after one must not begin a formula.
 *
 * JSON exports carry the text as it was written; only CSV is neutralised.
 */
export type Cell = string | number | boolean | null | undefined;

/** Characters a CSV cell must not carry as they are: controls and bidirectional controls. */
const UNSAFE_CHARACTERS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
/** What a spreadsheet may read as the start of a formula. */
const FORMULA_START = /^[=+\-@\t\r\n]/;
const PLAIN_DECIMAL = /^[+-]?\d+(\.\d+)?$/;

/** A cell's text as a spreadsheet may safely read it (before CSV quoting). */
function neutralise(text: string): string {
  const safe = text.replace(UNSAFE_CHARACTERS, '\uFFFD');
  return FORMULA_START.test(safe) && !PLAIN_DECIMAL.test(safe) ? `'${safe}` : safe;
}

/** One CSV field. */
export function csvField(value: Cell): string {
  if (value === null || value === undefined) return '';
  const text = typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value)) ? String(value) : neutralise(String(value));
  return /[",;\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** A CSV document: the header, then each record, every line ended by CRLF. */
export function toCsv(header: readonly string[], records: readonly (readonly Cell[])[]): string {
  return [header, ...records].map((r) => `${r.map(csvField).join(',')}\r\n`).join('');
}
