/**
 * The pages' languages: one message catalogue per language (it.ts, the reference, and en.ts),
 * language negotiation (language.ts) and formatting by Intl (format.ts). The gateway uses the
 * same catalogues for the CSV column headers and its error pages.
 */
import { en } from './en.ts';
import { it, type Messages } from './it.ts';
import type { Language } from './language.ts';

export { DEFAULT_LANGUAGE, LANGUAGES, isLanguage, negotiateLanguage, pageLanguage, type Language } from './language.ts';
export { formatFor, type Format } from './format.ts';
export type { Messages };

export const CATALOGUES: Readonly<Record<Language, Messages>> = { it, en };

export const messagesFor = (language: Language): Messages => CATALOGUES[language];

/**
 * The header of a column showing the API field `column` (a path such as `solution.name`), in
 * analytics report `report` when given (what `label` holds depends on the report). A field the
 * catalogue does not name keeps its API name: a new report is never refused for want of a label
 * (test/unit/i18n.test.ts checks that every report's columns have one).
 */
export function columnLabel(language: Language, column: string, report?: string): string {
  const t = CATALOGUES[language];
  if (column === 'label' && report && Object.hasOwn(t.reportLabelColumn, report)) {
    return t.reportLabelColumn[report as keyof Messages['reportLabelColumn']];
  }
  return Object.hasOwn(t.columns, column) ? t.columns[column as keyof Messages['columns']] : column;
}

