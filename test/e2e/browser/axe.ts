/**
 * axe-core, the maintained accessibility engine, run inside a page: the WCAG 2.0 and 2.1 level A
 * and AA rules, the automatically checkable part of EN 301 549 that AgID requires of public
 * administration sites. The engine is evaluated through the DevTools protocol, so the page's
 * Content-Security-Policy (no inline scripts) stays in force.
 */
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

export const WCAG_AA_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] as const;

export interface Violation {
  readonly id: string;
  readonly impact: string | null;
  readonly help: string;
  /** CSS selectors of the offending elements. */
  readonly targets: readonly string[];
}

/** The WCAG 2.1 AA violations on the page as it is now. */
export async function axeViolations(page: Page): Promise<Violation[]> {
  await page.evaluate(AXE_SOURCE);
  const options = { runOnly: { type: 'tag', values: WCAG_AA_TAGS }, resultTypes: ['violations'] };
  // A string, evaluated in the page (this file is type-checked without the DOM's types).
  return page.evaluate<Violation[]>(`axe.run(document, ${JSON.stringify(options)}).then((result) =>
    result.violations.map((v) => ({
      id: v.id,
      impact: v.impact ?? null,
      help: v.help,
      targets: v.nodes.map((n) => n.target.join(' ') + (v.id === 'color-contrast' ? ' ' + JSON.stringify(n.any[0]?.data ?? {}) : '')),
    })))`);
}

/** One line per violation, for assertion messages. */
export const describeViolations = (violations: readonly Violation[]): string =>
  violations.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.targets.length} element(s): ${v.targets.slice(0, 5).join(', ')}`).join('\n');
