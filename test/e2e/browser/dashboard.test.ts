/**
 * The analytics dashboard in a real browser over the real gateway and subgraphs: every chart is
 * drawn from the public GraphQL API with its provenance, the tables and the CSV export carry the
 * API's exact decimal strings, one failing query breaks only its own card, and no request leaves
 * this machine.
 */
import { readFile } from 'node:fs/promises';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildUi } from '../../../scripts/build-ui.ts';
import { startStack, type Stack } from '../../helpers/stack.ts';
import { foreignRequests, launchBrowser, screenshot, watchedPage, type WatchedPage } from './browser.ts';
import { parseCsv } from '../../helpers/csv.ts';

const CARD_IDS = ['funding-by-alliance', 'funding-by-source', 'coverage', 'adoption'];

let stack: Stack;
let browser: Browser;
let watched: WatchedPage;

beforeAll(async () => {
  [, stack, browser] = await Promise.all([buildUi(), startStack(), launchBrowser()]);
  watched = await watchedPage(browser);
});

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});


/** Pixels a chart's canvas has drawn (not transparent). */
const DRAWN_PIXELS = `[...document.querySelectorAll('[data-card] canvas')].map((c) => {
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
  return n;
})`;

describe('dashboard', () => {
  it('draws every chart from the API, with its source and provenance', async () => {
    const { page } = watched;
    const response = await page.goto(`${stack.gatewayUrl}dashboard?lang=en`, { waitUntil: 'load' });
    expect(response?.status()).toBe(200);
    for (const id of CARD_IDS) {
      await page.locator(`[data-card="${id}"][data-state="ready"] [data-chart="drawn"]`).waitFor({ timeout: 15_000 });
      const points = Number(await page.locator(`[data-card="${id}"] [data-chart]`).getAttribute('data-points'));
      expect(points, id).toBeGreaterThan(0);
    }
    const drawn = (await page.evaluate(DRAWN_PIXELS)) as number[];
    expect(drawn).toHaveLength(CARD_IDS.length);
    for (const n of drawn) expect(n).toBeGreaterThan(2000);

    const card = (id: string) => page.locator(`[data-card="${id}"]`);
    const text = async (id: string, selector: string) => (await card(id).locator(selector).first().textContent()) ?? '';
    expect(await text('funding-by-alliance', '.provenance')).toContain('ESTIMATED — split of a published total');
    expect(await text('funding-by-alliance', '.provenance')).toContain('Source: Regione Piemonte');
    expect(await text('funding-by-source', '.provenance')).toContain('Source:');
    expect(await text('coverage', '.provenance')).toContain('DERIVED — the totals are published');
    expect(await text('adoption', '.provenance')).toContain('SAMPLE data');
    // Headings for every card, tables with the exact figures (fourth-act-totals, member-comuni, small-member-comuni).
    expect(await page.getByRole('heading', { level: 2 }).allTextContents()).toEqual([
      'Funding per ALI',
      'Funding per funding source',
      'Coverage of small Comuni per province',
      'Adoption of the reuse solutions',
    ]);
    for (const id of ['funding-by-alliance', 'funding-by-source']) {
      const total = await text(id, 'tfoot');
      expect(total, id).toContain('€8,350,550.00');
      expect(total, id).toContain('€5,019,177.00');
    }
    const coverageTotal = await card('coverage').locator('tfoot td').allTextContents();
    expect(coverageTotal).toContain('1,004');
    expect(coverageTotal).toContain('1,072');
    expect(await card('funding-by-alliance').locator('tbody tr').count()).toBe(10); // 8 ALI + 2 reuse projects
    expect(await card('coverage').locator('tbody tr').count()).toBe(8);
    await screenshot(page, 'dashboard.png');
  });

  it('exports a chart’s data as CSV (RFC 4180) with the exact decimal strings, headed in the page’s language', async () => {
    const { page } = watched;
    const [download] = await Promise.all([
      page.waitForEvent('download', { timeout: 10_000 }),
      page.locator('[data-card="funding-by-alliance"]').getByRole('button', { name: 'Download CSV' }).click(),
    ]);
    expect(download.suggestedFilename()).toBe('ali-funding-by-alliance.csv');
    const csv = await readFile(await download.path(), 'utf8');
    const rows = parseCsv(csv);
    const header = ['key', 'label', 'projectCount', 'totalValue', 'cofinancing', 'otherFunding', 'cofinancingPercent', 'provenance', 'provenanceNote'];
    expect(rows[0]).toEqual([
      'Id',
      'ALI or reuse project',
      'Projects',
      'Total value (€)',
      'CNIPA co-financing (€)',
      'Other funding (€)',
      'Co-financing rate (%)',
      'Provenance',
      'Provenance note',
    ]);
    for (const row of rows) expect(row).toHaveLength(header.length);

    // The same figures as the API gives, to the cent.
    const api = await stack.query<{ fundingBreakdown: { rows: Record<string, unknown>[]; total: Record<string, unknown> } }>(
      `{ fundingBreakdown(by: ALLIANCE) {
          rows { key label projectCount totalValue cofinancing otherFunding cofinancingPercent(decimals: 3) provenance provenanceNote }
          total { key label projectCount totalValue cofinancing otherFunding cofinancingPercent(decimals: 3) provenance provenanceNote }
        } }`,
    );
    expect(api.body.errors).toBeUndefined();
    const { rows: apiRows, total } = api.body.data!.fundingBreakdown;
    const asCsv = (r: Record<string, unknown>) => header.map((k) => (r[k] === null || r[k] === undefined ? '' : String(r[k])));
    expect(rows.slice(1)).toEqual([...apiRows, total].map(asCsv));
    const last = rows.at(-1)!;
    expect(last[header.indexOf('totalValue')]).toBe('8350550.00');
    expect(last[header.indexOf('cofinancing')]).toBe('5019177.00');
    expect(rows.slice(1, -1).filter((r) => r[header.indexOf('provenance')] === 'ESTIMATED')).toHaveLength(8);
  });

  it('logged no error and sent no request beyond this machine', () => {
    expect(watched.errors).toEqual([]);
    expect(foreignRequests(watched)).toEqual([]);
    expect(watched.requests.filter((u) => u.endsWith('/graphql'))).toHaveLength(CARD_IDS.length);
  });

  it('shows a failing query’s error in its own card only', async () => {
    const failing = await watchedPage(browser);
    try {
      // The reuse subgraph is down: the gateway answers the adoption query with an error.
      await failing.page.route('**/graphql', async (route) => {
        if (!(route.request().postData() ?? '').includes('adoptionStats')) return route.fallback();
        return route.fulfill({
          status: 200,
          contentType: 'application/json',
          body: JSON.stringify({
            data: null,
            errors: [{ message: 'Subgraph reuse is unavailable', extensions: { code: 'SUBGRAPH_UNAVAILABLE', serviceName: 'reuse' } }],
          }),
        });
      });
      await failing.page.goto(`${stack.gatewayUrl}dashboard?lang=en`);
      const alert = failing.page.locator('[data-card="adoption"][data-state="error"] [role="alert"]');
      await alert.waitFor({ timeout: 15_000 });
      expect(await alert.textContent()).toContain('Subgraph reuse is unavailable (SUBGRAPH_UNAVAILABLE, subgraph reuse)');
      for (const id of CARD_IDS.filter((c) => c !== 'adoption')) {
        await failing.page.locator(`[data-card="${id}"][data-state="ready"] [data-chart="drawn"]`).waitFor({ timeout: 15_000 });
      }
      expect(await failing.page.locator('[role="alert"]').count()).toBe(1);
      expect(failing.errors).toEqual([]);
      expect(foreignRequests(failing)).toEqual([]);
    } finally {
      await failing.context.close();
    }
  });
});
