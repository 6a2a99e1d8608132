/**
 * The message catalogues and what is built on them: every key of one language is in the other
 * (with the same parameters), every column of every analytics report has a header in both,
 * every page template fills in both; language negotiation; Intl formatting of the real figures.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CATALOGUES, columnLabel, formatFor, LANGUAGES, negotiateLanguage, pageLanguage } from '../../ui/i18n/index.ts';
import { loadReports } from '../../gateway/routes/analytics.ts';
import { fillTemplate, pages } from '../../scripts/build-ui.ts';

type Shape = Record<string, string>;

/** Every key path of a catalogue with what it holds: a text, a list of n texts, or a message of n parameters. */
function shape(value: unknown, prefix = '', out: Shape = {}): Shape {
  if (typeof value === 'function') out[prefix] = `message(${value.length})`;
  else if (Array.isArray(value)) out[prefix] = value.every((v) => typeof v === 'string' && v.trim() !== '') ? 'list' : 'bad list';
  else if (typeof value === 'string') out[prefix] = value.trim() === '' ? 'empty' : 'text';
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) shape(v, prefix ? `${prefix}.${k}` : k, out);
  else out[prefix] = typeof value;
  return out;
}

describe('message catalogues', () => {
  it('hold the same keys in every language, each a non-empty text or a message with the same parameters', () => {
    const reference = shape(CATALOGUES.it);
    expect(Object.keys(reference).length).toBeGreaterThan(100);
    for (const lang of LANGUAGES) {
      const catalogue = shape(CATALOGUES[lang]);
      const missing = Object.keys(reference).filter((k) => !(k in catalogue));
      const extra = Object.keys(catalogue).filter((k) => !(k in reference));
      expect({ lang, missing, extra }).toEqual({ lang, missing: [], extra: [] });
      expect(catalogue, lang).toEqual(reference);
    }
  });

  it('notices a key missing in one language', () => {
    // The check above, against a catalogue with one message removed.
    const { dashboard, ...rest } = CATALOGUES.en;
    const { loading: _removed, ...dashboardWithoutLoading } = dashboard;
    const broken = shape({ ...rest, dashboard: dashboardWithoutLoading });
    expect(Object.keys(shape(CATALOGUES.it)).filter((k) => !(k in broken))).toEqual(['dashboard.loading']);
  });

  it('name every column of every analytics report, in every language', () => {
    const reports = loadReports();
    expect(reports.size).toBeGreaterThan(5);
    for (const lang of LANGUAGES) {
      for (const report of reports.values()) {
        for (const column of report.columns) {
          expect(columnLabel(lang, column.name, report.name), `${lang} ${report.name} ${column.name}`).not.toBe(column.name);
        }
      }
    }
    expect(columnLabel('it', 'label', 'funding-by-source')).toBe('Fonte di finanziamento');
    expect(columnLabel('en', 'totalValue')).toBe('Total value (€)');
    expect(columnLabel('it', 'noSuchField')).toBe('noSuchField');
  });

  it('fill every page template in every language, with its lang and a title', () => {
    const ui = path.resolve(import.meta.dirname, '..', '..', 'ui');
    expect(pages().sort()).toEqual(['accessibility', 'dashboard', 'explorer']);
    for (const page of pages()) {
      const template = readFileSync(path.join(ui, page, 'index.html'), 'utf8');
      for (const lang of LANGUAGES) {
        const html = fillTemplate(template, lang, page);
        expect(html).toContain(`<html lang="${lang}">`);
        expect(html).not.toContain('{{');
        expect(html).toMatch(/<title>ALI Graph — [^<]+<\/title>/);
      }
    }
    expect(() => fillTemplate('<title>{{dashboard.nope}}</title>', 'it')).toThrow(/no message dashboard\.nope in the it catalogue/);
  });
});

describe('language negotiation', () => {
  it('takes the lang parameter, then Accept-Language by weight, then Italian', () => {
    expect(negotiateLanguage(undefined, undefined)).toEqual({ ok: true, language: 'it' });
    expect(negotiateLanguage(null, 'fr-FR,de;q=0.8')).toEqual({ ok: true, language: 'it' });
    expect(negotiateLanguage(null, 'en-US,en;q=0.9')).toEqual({ ok: true, language: 'en' });
    expect(negotiateLanguage(null, 'fr;q=1, it;q=0.5, en;q=0.7')).toEqual({ ok: true, language: 'en' });
    expect(negotiateLanguage(null, 'en;q=0, it-CH')).toEqual({ ok: true, language: 'it' });
    expect(negotiateLanguage(null, '*')).toEqual({ ok: true, language: 'it' });
    expect(negotiateLanguage('EN', 'it')).toEqual({ ok: true, language: 'en' });
    expect(negotiateLanguage('it', 'en')).toEqual({ ok: true, language: 'it' });
    expect(negotiateLanguage('fr', 'en')).toEqual({ ok: false, requested: 'fr' });
    expect(negotiateLanguage('', 'en')).toEqual({ ok: true, language: 'en' });
    // Pages ignore an unsupported lang parameter.
    expect(pageLanguage('fr', 'en')).toBe('en');
    expect(pageLanguage('fr', undefined)).toBe('it');
  });
});

describe('formatting', () => {
  const NBSP = '\u00a0';
  it('formats the real figures the Italian and the English way, exactly', () => {
    const it_ = formatFor('it');
    const en = formatFor('en');
    // The CIPE allocation, CIPE resolution no. 19/2004.
    expect(it_.euro('3890700.00')).toBe(`3.890.700,00${NBSP}€`);
    expect(en.euro('3890700.00')).toBe('€3,890,700.00');
    // Sigma Ter Piemonte's co-financing rate, 1,299,390 of 3,248,935.
    expect(it_.percent('39.994')).toBe('39,994%');
    expect(en.percent('39.994')).toBe('39.994%');
    expect(it_.percent('93.5')).toBe('93,5%');
    expect(it_.count(4363916)).toBe('4.363.916');
    expect(en.count('1072')).toBe('1,072');
    expect(it_.date('2009-12-22')).toBe('22 dicembre 2009');
    expect(en.date('2009-12-22')).toBe('22 December 2009');
    // Exact beyond a float's precision: formatted from the string, not from a number.
    expect(en.euro('90071992547409.93')).toBe('€90,071,992,547,409.93');
  });
});
