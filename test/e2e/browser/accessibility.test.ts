/**
 * The pages in both languages, as the accessibility rules of Italian public administration ask
 * (AgID: EN 301 549, which includes WCAG 2.1 AA): no axe-core violation of the WCAG 2.0/2.1 A and
 * AA rules on the dashboard, the explorer, the accessibility statement and the error page, in
 * Italian and in English; the `lang` attribute of the language served; Italian first; the
 * dashboard usable from the keyboard alone; figures formatted for the language.
 * With DOCS_SCREENSHOTS=1 it also renders the screenshots in docs/screenshots/.
 */
import { readFile } from 'node:fs/promises';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildUi } from '../../../scripts/build-ui.ts';
import { startStack, type Stack } from '../../helpers/stack.ts';
import { parseCsv } from '../../helpers/csv.ts';
import { foreignRequests, launchBrowser, screenshot, watchedPage, type WatchedPage } from './browser.ts';
import { axeViolations, describeViolations } from './axe.ts';

const LANGS = ['it', 'en'] as const;
const CARD_IDS = ['funding-by-alliance', 'funding-by-source', 'coverage', 'adoption'];
const NBSP = '\u00a0';

let stack: Stack;
let browser: Browser;
const opened: WatchedPage[] = [];

beforeAll(async () => {
  [, stack, browser] = await Promise.all([buildUi(), startStack(), launchBrowser()]);
});

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

async function open(pathAndQuery: string, options: { dark?: boolean } = {}): Promise<Page> {
  const watched = await watchedPage(browser);
  opened.push(watched);
  if (options.dark) await watched.page.emulateMedia({ colorScheme: 'dark' });
  const response = await watched.page.goto(`${stack.gatewayUrl}${pathAndQuery}`);
  expect(response?.status(), pathAndQuery).toBe(200);
  return watched.page;
}

const dashboardReady = async (page: Page) => {
  for (const id of CARD_IDS) await page.locator(`[data-card="${id}"][data-state="ready"] [data-chart="drawn"]`).waitFor({ timeout: 20_000 });
};
const explorerReady = (page: Page) => page.locator('.graphiql-query-editor .cm-property').first().waitFor({ timeout: 20_000 });
const htmlLang = (page: Page) => page.evaluate<string>('document.documentElement.lang');

async function expectNoViolations(page: Page, what: string): Promise<void> {
  const violations = await axeViolations(page);
  expect(violations, `${what}:\n${describeViolations(violations)}`).toEqual([]);
}

async function docsScreenshot(page: Page, name: string): Promise<void> {
  await screenshot(page, name);
  if (process.env.DOCS_SCREENSHOTS !== '1') return;
  const dir = path.resolve(import.meta.dirname, '..', '..', '..', 'docs', 'screenshots');
  await mkdir(dir, { recursive: true });
  await page.screenshot({ path: path.join(dir, name), fullPage: true });
}

/** Runs an example in the explorer and waits for its answer to show. */
async function runExample(page: Page, id: string, shows: string): Promise<void> {
  await page.locator(`[data-example="${id}"]`).click();
  await page.locator('.graphiql-tab-active, .graphiql-query-editor').first().waitFor();
  await page.waitForTimeout(300); // GraphiQL learns the operation name 100 ms after a change
  await page.getByRole('button', { name: /^Execute query/ }).click();
  await page.locator('.graphiql-response', { hasText: shows }).waitFor({ timeout: 15_000 });
}

describe.each(LANGS)('in %s', (lang) => {
  it('the dashboard has the right lang, no WCAG 2.1 AA violation, and the figures formatted for the language', async () => {
    const page = await open(`dashboard?lang=${lang}`);
    await dashboardReady(page);
    expect(await htmlLang(page)).toBe(lang);
    await expectNoViolations(page, `dashboard (${lang})`);

    const row = (card: string, text: string) => page.locator(`[data-card="${card}"] tbody tr`, { hasText: text });
    // The CIPE allocation (CIPE resolution no. 19/2004) and Sigma Ter's exact co-financing rate.
    const cipe = (await row('funding-by-source', 'CIPE').textContent()) ?? '';
    const sigmaTer = (await row('funding-by-alliance', 'Sigma Ter').textContent()) ?? '';
    const total = (await page.locator('[data-card="funding-by-alliance"] tfoot').textContent()) ?? '';
    if (lang === 'it') {
      expect(cipe).toContain(`3.890.700,00${NBSP}€`);
      expect(sigmaTer).toContain('39,994%');
      expect(total).toContain(`8.350.550,00${NBSP}€`);
      expect(total).toContain(`5.019.177,00${NBSP}€`);
    } else {
      expect(cipe).toContain('€3,890,700.00');
      expect(sigmaTer).toContain('39.994%');
      expect(total).toContain('€8,350,550.00');
    }
    expect(await page.getByRole('heading', { level: 2 }).allTextContents()).toEqual(
      lang === 'it'
        ? ['Finanziamenti per ALI', 'Finanziamenti per fonte', 'Copertura dei piccoli Comuni per provincia', 'Adozione delle soluzioni in riuso']
        : ['Funding per ALI', 'Funding per funding source', 'Coverage of small Comuni per province', 'Adoption of the reuse solutions'],
    );
    // Every chart leads to its data table, its text alternative.
    for (const id of CARD_IDS) {
      const link = page.locator(`[data-card="${id}"] .to-table a`);
      expect(await link.getAttribute('href')).toBe(`#${id}-data`);
      expect(await page.locator(`details#${id}-data table`).count()).toBe(1);
    }
    await docsScreenshot(page, `dashboard.${lang}.png`);
  });

  it('the dashboard’s CSV has headers in the language and the API’s machine-readable values', async () => {
    const page = await open(`dashboard?lang=${lang}`);
    await dashboardReady(page);
    const [download] = await Promise.all([
      page.waitForEvent('download', { timeout: 10_000 }),
      page.locator('[data-card="funding-by-source"] .actions button').click(),
    ]);
    const [header, ...records] = parseCsv(await readFile(await download.path(), 'utf8'));
    expect(header).toContain(lang === 'it' ? 'Importo messo a disposizione (€)' : 'Amount made available (€)');
    expect(header![1]).toBe(lang === 'it' ? 'Fonte di finanziamento' : 'Funding source');
    const cipe = records.find((r) => r[0] === 'cipe-19-2004')!;
    expect(cipe[header!.indexOf(lang === 'it' ? 'Importo messo a disposizione (€)' : 'Amount made available (€)')]).toBe('3890700.00');
    expect(records.at(-1)![header!.indexOf(lang === 'it' ? 'Valore totale (€)' : 'Total value (€)')]).toBe('8350550.00');
  });

  it('the explorer has the right lang and no WCAG 2.1 AA violation, before and after running an example, in both themes', async () => {
    for (const dark of [false, true]) {
      const page = await open(`explorer?lang=${lang}`, { dark });
      await explorerReady(page);
      expect(await htmlLang(page)).toBe(lang);
      expect(await page.locator('#ali-examples-title').textContent()).toBe(lang === 'it' ? 'Esempi' : 'Examples');
      // GraphiQL's own controls are English only: marked so in the Italian page.
      expect(await page.locator('main').getAttribute('lang')).toBe(lang === 'it' ? 'en' : null);
      expect(await page.locator('.ali-examples').getAttribute('lang')).toBe(lang);
      await expectNoViolations(page, `explorer (${lang}${dark ? ', dark' : ''})`);
      await runExample(page, 'funding-by-source', '"sourceAmount": "3890700.00"');
      await expectNoViolations(page, `explorer after a query (${lang}${dark ? ', dark' : ''})`);
      if (!dark) await docsScreenshot(page, `explorer.${lang}.png`);
    }
  });

  it('serves the accessibility statement, with no WCAG 2.1 AA violation', async () => {
    const page = await open(`accessibility?lang=${lang}`);
    await page.locator('[data-compliance]').waitFor({ timeout: 15_000 });
    expect(await htmlLang(page)).toBe(lang);
    const headings = await page.getByRole('heading', { level: 2 }).allTextContents();
    expect(headings).toEqual(
      lang === 'it'
        ? ['Stato di conformità', 'Contenuti non accessibili', 'Redazione della dichiarazione', 'Meccanismo di feedback e recapiti', 'Procedura di attuazione']
        : ['Compliance status', 'Non-accessible content', 'Preparation of this statement', 'Feedback and contact information', 'Enforcement procedure'],
    );
    expect(await page.locator('main').textContent()).toContain(lang === 'it' ? '4 dicembre 2026' : '4 December 2026');
    await expectNoViolations(page, `statement (${lang})`);
    await docsScreenshot(page, `accessibility.${lang}.png`);
  });

  it('shows a browser asking for a missing page an error page in its language, with no violation', async () => {
    const watched = await watchedPage(browser);
    try {
      const response = await watched.page.goto(`${stack.gatewayUrl}no-such-page?lang=${lang}`);
      expect(response?.status()).toBe(404);
      expect(await htmlLang(watched.page)).toBe(lang);
      expect(await watched.page.locator('h1').textContent()).toBe(lang === 'it' ? 'Pagina non trovata' : 'Page not found');
      await expectNoViolations(watched.page, `error page (${lang})`);
      // The only error is the 404 of the page itself.
      expect(watched.errors).toEqual(['console: Failed to load resource: the server responded with a status of 404 (Not Found)']);
      expect(foreignRequests(watched)).toEqual([]);
    } finally {
      await watched.context.close();
    }
  });
});

describe('language', () => {
  const fetchPage = (p: string, headers: Record<string, string> = {}) => fetch(`${stack.gatewayUrl}${p}`, { headers });
  const langOf = async (r: Response) => /<html lang="(\w+)">/.exec(await r.text())?.[1];

  it('is Italian unless the lang parameter or Accept-Language asks for English', async () => {
    for (const p of ['', 'explorer', 'dashboard', 'accessibility']) {
      const plain = await fetchPage(p);
      expect(plain.headers.get('content-language'), p).toBe('it');
      expect(plain.headers.get('vary')).toContain('Accept-Language');
      expect(await langOf(plain)).toBe('it');
      expect(await langOf(await fetchPage(p, { 'accept-language': 'en-GB,en;q=0.9' }))).toBe('en');
      expect(await langOf(await fetchPage(p, { 'accept-language': 'de-DE, en;q=0.5, it;q=0.8' }))).toBe('it');
      expect(await langOf(await fetchPage(`${p}?lang=en`, { 'accept-language': 'it' }))).toBe('en');
      // An unsupported language in a page address is ignored, not an error a person would see.
      expect(await langOf(await fetchPage(`${p}?lang=xx`, { 'accept-language': 'en' }))).toBe('en');
    }
    const api = await fetchPage('no-such-route', { accept: 'application/json' });
    expect(api.status).toBe(404);
    expect(((await api.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('NOT_FOUND');
  });

  it('switches from Italian to English with the page’s switch, and links keep the choice', async () => {
    const page = await open('dashboard?lang=it');
    expect(await htmlLang(page)).toBe('it');
    const toEnglish = page.locator('[data-language-switch="en"]');
    expect(await toEnglish.getAttribute('lang')).toBe('en');
    await Promise.all([page.waitForURL(/dashboard\?lang=en$/), toEnglish.click()]);
    expect(await htmlLang(page)).toBe('en');
    await page.getByRole('heading', { level: 1 }).waitFor();
    expect(await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: 'GraphQL explorer' }).getAttribute('href')).toBe(
      '/explorer?lang=en',
    );
    expect(await page.locator('footer a').getAttribute('href')).toBe('/accessibility?lang=en');
  });
});

describe('keyboard', () => {
  /** Tabs through the page from its top; returns the focused controls, in order, with their focus outline. */
  async function tabWalk(page: Page): Promise<{ id: string; outline: string }[]> {
    await page.evaluate(`(() => {
      document.querySelectorAll('a[href], button, summary, input, select, textarea, [tabindex]').forEach((el, i) => (el.dataset.control = String(i)));
      document.activeElement?.blur();
    })()`);
    const walk: { id: string; outline: string }[] = [];
    for (let i = 0; i < 400; i++) {
      await page.keyboard.press('Tab');
      const step = await page.evaluate<{ id: string; outline: string } | null>(`(() => {
        const el = document.activeElement;
        if (!el || el === document.body || !el.dataset.control) return null;
        const s = getComputedStyle(el);
        return { id: el.dataset.control, outline: s.outlineStyle === 'none' ? 'none' : s.outlineWidth + ' ' + s.outlineStyle };
      })()`);
      if (!step || walk.some((s) => s.id === step.id)) break; // past the last control, or round again
      walk.push(step);
    }
    return walk;
  }

  it('reaches every control of the dashboard, each with a visible focus, and works them from the keyboard', async () => {
    const page = await open('dashboard?lang=it');
    await dashboardReady(page);
    const walk = await tabWalk(page);
    const controls = await page.evaluate<string[]>(`[...document.querySelectorAll('[data-control]')]
      .filter((el) => el.tabIndex >= 0 && el.getClientRects().length > 0)
      .map((el) => el.dataset.control)`);
    expect(controls.length).toBeGreaterThan(20);
    expect(walk.map((s) => s.id).sort()).toEqual([...controls].sort());
    expect(walk.filter((s) => s.outline === 'none' || s.outline.startsWith('0px'))).toEqual([]);

    // The first stop is the skip link; Enter moves the focus to the main content.
    await page.evaluate('document.activeElement?.blur()');
    await page.keyboard.press('Tab');
    expect(await page.evaluate<string>('document.activeElement.className')).toBe('ali-skip-link');
    await page.keyboard.press('Enter');
    expect(await page.evaluate<string>('document.activeElement.id')).toBe('main');

    // A chart's link to its table, a summary, and the CSV button, all with the keyboard.
    const focus = (selector: string) => page.locator(selector).focus();
    await focus('[data-card="coverage"] details.query summary');
    await page.keyboard.press('Enter');
    expect(await page.locator('[data-card="coverage"] details.query').getAttribute('open')).toBe('');
    await focus('[data-card="coverage"] .actions button');
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: 10_000 }), page.keyboard.press('Enter')]);
    expect(download.suggestedFilename()).toBe('ali-coverage-by-province.csv');
    await focus('[data-language-switch="en"]');
    await Promise.all([page.waitForURL(/lang=en$/), page.keyboard.press('Enter')]);
    expect(await htmlLang(page)).toBe('en');
  });
});

describe('every page', () => {
  it('logged no error and sent no request beyond this machine', () => {
    for (const watched of opened) {
      expect(watched.errors).toEqual([]);
      expect(foreignRequests(watched)).toEqual([]);
    }
  });
});
