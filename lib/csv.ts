/**
 * CSV as RFC 4180 defines it: a header row, CRLF line ends, fields quoted when they hold a comma,
 * a double quote or a line break, quotes doubled. Values go out as given (exact decimal strings
 * stay exact); null and undefined are empty fields. Used by the gateway's exports and, bundled,
 * by the dashboard.
 */
export type Cell = string | number | boolean | null | undefined;

/** One CSV field. */
export function csvField(value: Cell): string {
  if (value === null || value === undefined) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** A CSV document: the header, then each record, every line ended by CRLF. */
export function toCsv(header: readonly string[], records: readonly (readonly Cell[])[]): string {
  return [header, ...records].map((r) => `${r.map(csvField).join(',')}\r\n`).join('');
}
