/**
 * CSV files for the dashboard's downloads: the writer is lib/csv.ts (RFC 4180, spreadsheet
 * formulas and control characters neutralised), the same as the gateway's exports; saving the
 * file is ./download.ts.
 */
export { toCsv, type Cell } from '../../lib/csv.ts';
