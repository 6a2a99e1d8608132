/**
 * The offline explorer in a real browser over the real gateway and subgraphs: GraphiQL renders
 * from the gateway alone, every example operation runs without errors, answers are the published
 * figures, the docs and the headers editor work, and no request leaves this machine.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildUi } from '../../../scripts/build-ui.ts';
import { adoptionDocs, SOLUTIONS } from '../../../subgraphs/reuse/data/seed.ts';
import { startStack, type Stack } from '../../helpers/stack.ts';
import { foreignRequests, launchBrowser, screenshot, watchedPage, type WatchedPage } from './browser.ts';

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

interface GraphQLBody {
  data?: Record<string, unknown> | null;
  errors?: { message: string }[];
}

/** Clicks the run button and returns the gateway's answer to that operation. */
async function run(operationName: string): Promise<GraphQLBody> {
  const { page } = watched;
  const sent = new RegExp(`query ${operationName}\\b`);
  const answered = page.waitForResponse(
    (r) => r.url().endsWith('/graphql') && r.request().method() === 'POST' && sent.test(r.request().postData() ?? ''),
    { timeout: 10_000 },
  );
  await page.getByRole('button', { name: /^Execute query/ }).click();
  return (await (await answered).json()) as GraphQLBody;
}

describe('pages served by the gateway', () => {
  it('sends the built pages with a strict policy, compressed and revalidated', async () => {
    const page = await fetch(stack.gatewayUrl);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self';");
    expect(csp).toMatch(/connect-src 'self' ws:\/\/127\.0\.0\.1:\d+ wss:\/\/127\.0\.0\.1:\d+;/);
    expect(csp).not.toMatch(/https?:/);
    const html = await page.text();
    expect(html).toContain('src="/ui/explorer/main.js"');
    expect(html).toContain('href="/ui/explorer/main.css"');

    const script = await fetch(`${stack.gatewayUrl}ui/explorer/main.js`, { headers: { 'accept-encoding': 'gzip' } });
    expect(script.status).toBe(200);
    expect(script.headers.get('content-encoding')).toBe('gzip');
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    const etag = script.headers.get('etag')!;
    await script.arrayBuffer();
    const again = await fetch(`${stack.gatewayUrl}ui/explorer/main.js`, { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);

    expect((await fetch(`${stack.gatewayUrl}dashboard/`)).status).toBe(200);
    expect((await fetch(`${stack.gatewayUrl}ui/explorer/`)).status).toBe(404);
    expect((await fetch(`${stack.gatewayUrl}ui/explorer/missing.js`)).status).toBe(404);
  });
});

describe('explorer', () => {
  it('serves GraphiQL from the gateway alone, with the examples panel open', async () => {
    const { page } = watched;
    const response = await page.goto(`${stack.gatewayUrl}?lang=en`, { waitUntil: 'load' });
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-security-policy']).toContain("default-src 'self'");
    await page.locator('.graphiql-container').waitFor({ timeout: 15_000 });
    // The schema arrived by introspection through the gateway.
    await page.locator('.graphiql-query-editor .cm-property').first().waitFor({ timeout: 15_000 });
    await expect(page.locator('#ali-examples-title').textContent()).resolves.toBe('Examples');
    // One button per example operation of ui/explorer/examples/.
    const examples = readdirSync(new URL('../../../ui/explorer/examples/', import.meta.url)).filter((f) => f.endsWith('.graphql'));
    expect(examples.length).toBeGreaterThan(0);
    expect(await page.locator('[data-example]').count()).toBe(examples.length);
  });

  it('runs the small Comuni example and shows the published figures', async () => {
    const { page } = watched;
    await page.locator('[data-example="small-comuni-ali-cuneo"]').click();
    const body = await run('SmallComuniInAliCuneo');
    expect(body.errors).toBeUndefined();
    expect(body.data).toMatchObject({
      alliance: { name: expect.any(String), smallMemberCount: 210, memberCount: 222 },
      networkSummary: { allianceCount: 8, memberCount: 1072, smallMemberCount: 1004 },
    });
    // What the analyst sees: the response editor shows the answer.
    await page.locator('.graphiql-response', { hasText: '"smallMemberCount": 210' }).waitFor({ timeout: 10_000 });
    await screenshot(page, 'explorer.png');
  });

  it('runs every example operation without errors', async () => {
    const { page } = watched;
    const ids = await page.locator('[data-example]').evaluateAll((buttons) => buttons.map((b) => b.getAttribute('data-example') ?? ''));
    const names: Record<string, string> = {
      'small-comuni-ali-cuneo': 'SmallComuniInAliCuneo',
      'cnipa-cofinanced-projects': 'CnipaCofinancedProjects',
      'funding-by-alliance': 'FundingByAlliance',
      'funding-by-province': 'FundingByProvince',
      'funding-by-source': 'FundingBySource',
      'small-comuni-coverage': 'SmallComuniCoverage',
      'reuse-adoption': 'ReuseAdoption',
      'fourth-supplementary-act': 'FourthSupplementaryAct',
    };
    // The deferred example is answered in parts (multipart), which the browser does not keep for
    // the test to read: it is checked below, in the explorer's response pane and over HTTP.
    const deferredId = 'alliances-funding-deferred';
    expect([...ids].sort()).toEqual([...Object.keys(names), deferredId].sort());
    const answers: Record<string, GraphQLBody> = {};
    for (const id of ids) {
      await page.locator(`[data-example="${id}"]`).click();
      if (id === deferredId) {
        await page.getByRole('button', { name: /^Execute query/ }).click();
        // The parts arrived and the explorer shows them merged: the ALI and their funding totals.
        await page.locator('.graphiql-response', { hasText: '"projectCount"' }).waitFor({ timeout: 10_000 });
        continue;
      }
      const body = await run(names[id]!);
      expect(body.errors, id).toBeUndefined();
      expect(body.data, id).toBeTruthy();
      answers[id] = body;
    }
    // The deferred example over HTTP, as the explorer asks for it: the 8 ALI first, then their funding.
    const query = readFileSync(new URL('../../../ui/explorer/examples/alliancesFundingDeferred.graphql', import.meta.url), 'utf8');
    const deferred = await fetch(`${stack.gatewayUrl}graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'multipart/mixed;deferSpec=20220824, application/json' },
      body: JSON.stringify({ query }),
    });
    expect(deferred.headers.get('content-type')).toMatch(/^multipart\/mixed/);
    const parts = (await deferred.text()).split('\r\n---').flatMap((part) => {
      const at = part.indexOf('\r\n\r\n');
      return at === -1 ? [] : [JSON.parse(part.slice(at + 4)) as { data?: { alliances: object[] }; incremental?: { data: { fundingTotals?: unknown } }[]; errors?: unknown }];
    });
    expect(parts[0]!.data!.alliances).toHaveLength(8);
    expect(parts[0]!.errors).toBeUndefined();
    const items = parts.slice(1).flatMap((p) => p.incremental ?? []);
    expect(items).toHaveLength(8);
    expect(items.every((i) => i.data.fundingTotals !== undefined)).toBe(true);
    // Spot checks against the published facts (fourth-supplementary-act, ali-projects-funded, acquisti-on-line-project,
    // sigma-ter-project, fourth-act-totals) and the analytics.
    expect(answers['fourth-supplementary-act']!.data).toMatchObject({
      agreement: {
        signedOn: '2009-12-22',
        approvedBy: { reference: 'D.G.R. n. 46-12881', date: '2009-12-21' },
        projectTotals: { totalValue: '8350550.00', cofinancing: '5019177.00' },
      },
    });
    for (const id of ['funding-by-alliance', 'funding-by-province', 'funding-by-source']) {
      expect(answers[id]!.data, id).toMatchObject({ fundingBreakdown: { total: { totalValue: '8350550.00', cofinancing: '5019177.00' } } });
    }
    const sources = (answers['funding-by-source']!.data as { fundingBreakdown: { rows: { sourceAmount: string | null }[] } }).fundingBreakdown.rows;
    expect(sources.map((r) => r.sourceAmount)).toContain('3890700.00'); // fact cipe-allocation, CIPE resolution no. 19/2004
    expect(answers['small-comuni-coverage']!.data).toMatchObject({
      membershipCoverage: { total: { smallMemberCount: 1004, memberCount: 1072 } },
    });
    // The reuse example's counts are the seed's sample adoptions by solution and status (broken once
    // to prove it: with the reuse seed inserting all but the first adoption, this fails).
    const stats = (answers['reuse-adoption']!.data as { adoptionStats: { solution: { name: string }; status: string; count: number }[] }).adoptionStats;
    const nameOf = new Map(SOLUTIONS.map((sol) => [sol._id, sol.name]));
    const seeded = new Map<string, number>();
    for (const a of adoptionDocs()) seeded.set(`${nameOf.get(a.solutionId)} ${a.status}`, (seeded.get(`${nameOf.get(a.solutionId)} ${a.status}`) ?? 0) + 1);
    expect(new Map(stats.map((r) => [`${r.solution.name} ${r.status}`, r.count]))).toEqual(seeded);
    // Each example opened in a tab of its own, named after its operation.
    await page.locator('.graphiql-tab', { hasText: 'FourthSupplementaryAct' }).waitFor();
    await page.locator('.graphiql-response', { hasText: '"signedOn": "2009-12-22"' }).waitFor({ timeout: 10_000 });
  });

  it('sends the headers typed in the headers editor (an API key), and the key is honoured', async () => {
    const { page } = watched;
    const key = await stack.createKey({ name: 'explorer-analyst', role: 'analyst' });
    await page.locator('[data-example="small-comuni-ali-cuneo"]').click();
    await page.getByRole('button', { name: 'Headers' }).click();
    await page.locator('.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror').click();
    await page.keyboard.insertText(`{"x-api-key": "${key}"}`);
    // Text inserted at once, as by an input method or a paste, reaches the editor's document when
    // CodeMirror reads it back from the page (80 ms later in its contenteditable input model).
    const typed = `[...document.querySelectorAll('.graphiql-editor-tool .CodeMirror')].some((e) => e.CodeMirror.getValue().includes(${JSON.stringify(key)}))`;
    await expect.poll(() => page.evaluate<boolean>(typed), { timeout: 5_000 }).toBe(true);
    const sent = page.waitForRequest((r) => r.url().endsWith('/graphql') && (r.postData() ?? '').includes('SmallComuniInAliCuneo'));
    const answered = page.waitForResponse((r) => r.url().endsWith('/graphql') && (r.request().postData() ?? '').includes('SmallComuniInAliCuneo'));
    await run('SmallComuniInAliCuneo');
    expect((await sent).headers()['x-api-key']).toBe(key);
    expect((await answered).status()).toBe(200);
  });

  it('keeps a history of the operations run', async () => {
    const { page } = watched;
    await page.getByRole('button', { name: 'Show History' }).click();
    const history = page.locator('.graphiql-history');
    await history.getByText('SmallComuniInAliCuneo').first().waitFor({ timeout: 5_000 });
    await history.getByText('FourthSupplementaryAct').first().waitFor();
  });

  it('documents the schema in the docs explorer', async () => {
    const { page } = watched;
    await page.getByRole('button', { name: 'Show Documentation Explorer' }).click();
    const docs = page.locator('.graphiql-doc-explorer');
    await docs.getByText('Root Types').waitFor({ timeout: 10_000 });
    await docs.getByRole('link', { name: 'Query' }).first().click();
    await docs.getByText('fundingBreakdown').first().waitFor({ timeout: 10_000 });
    await docs.getByText('membershipCoverage').first().waitFor();
    await docs.getByText('adoptionStats').first().waitFor();
  });

  it('runs a subscription over the gateway WebSocket and shows the events as they arrive', async () => {
    const { page } = watched;
    const editor = await stack.createKey({ name: 'explorer-editor', role: 'editor', subgraphs: ['reuse'] });
    // A new tab, so that no operation name of an earlier example is selected.
    await page.getByRole('button', { name: 'Add tab' }).click();
    await page.locator('.graphiql-query-editor .CodeMirror').first().click();
    await page.keyboard.press('Control+A');
    await page.keyboard.insertText('subscription WatchAsti { adoptionChanged(provinceCode: "005") { kind adoption { id status } } }');
    await page.locator('.graphiql-tab', { hasText: 'WatchAsti' }).waitFor({ timeout: 5_000 });
    const opened = page.waitForEvent('websocket');
    await page.getByRole('button', { name: /^Execute (query|subscription)/ }).click();
    expect((await opened).url()).toBe(`${stack.gatewayUrl.replace(/^http/, 'ws')}graphql`);
    // The subscription is live once the gateway has it; until then a mutation's event is not
    // delivered, so register adoptions until the first event shows (each one is a new Comune).
    const { piedmontMunicipalities } = await import('../../../lib/domain/registry.ts');
    const taken = new Set((await stack.dbs.reuse.collection('adoptions').find({ solutionId: 'atoc-comune-facile' }).toArray()).map((d) => d['istatCode']));
    const comuni = piedmontMunicipalities().filter((m) => m.istatCode.startsWith('005') && !taken.has(m.istatCode));
    const response = page.locator('.graphiql-response');
    let shown: string | undefined;
    for (const comune of comuni.slice(0, 20)) {
      const r = await stack.query(
        'mutation($input: RegisterAdoptionInput!) { registerAdoption(input: $input) { adoption { id } } }',
        { input: { solutionId: 'atoc-comune-facile', municipalityIstatCode: comune.istatCode, status: 'PLANNED', provenance: 'SAMPLE' } },
        { 'x-api-key': editor },
      );
      expect(r.body.errors).toBeUndefined();
      const id = `atoc-comune-facile:${comune.istatCode}`;
      if (await response.getByText(id).waitFor({ timeout: 1_500 }).then(() => true, () => false)) {
        shown = id;
        break;
      }
    }
    expect(shown, 'an event reached the explorer').toBeDefined();
    await expect(response.textContent()).resolves.toContain('"kind": "REGISTERED"');
  });

  it('logged no error and sent no request beyond this machine', () => {
    expect(watched.errors).toEqual([]);
    expect(foreignRequests(watched)).toEqual([]);
    // One WebSocket, to this gateway, opened by the subscription (queries never open it).
    expect(watched.sockets).toEqual([`${stack.gatewayUrl.replace(/^http/, 'ws')}graphql`]);
    // It did talk to the gateway: the page, its bundle and GraphQL.
    expect(watched.requests.some((u) => u.endsWith('/ui/explorer/main.js'))).toBe(true);
    expect(watched.requests.some((u) => u.endsWith('/ui/explorer/main.css'))).toBe(true);
  });
});
