/**
 * What every page shares: the language the gateway served it in (the `lang` attribute of the
 * page, decided by gateway/ui.ts from `?lang=` or Accept-Language), its messages and number
 * formats, and the frame around the content: a skip link, the pages, the language switch, and
 * the accessibility statement linked from the footer (as AgID asks).
 */
import type { ReactNode } from 'react';
import { DEFAULT_LANGUAGE, formatFor, isLanguage, messagesFor, type Language } from '../i18n/index.ts';
import './page.css';

export const LANG: Language = isLanguage(document.documentElement.lang) ? document.documentElement.lang : DEFAULT_LANGUAGE;
const OTHER_LANG: Language = LANG === 'it' ? 'en' : 'it';
export const t = messagesFor(LANG);
export const f = formatFor(LANG);

export type PageId = 'dashboard' | 'explorer' | 'accessibility';

const PATHS: Record<PageId, string> = { dashboard: '/dashboard', explorer: '/explorer', accessibility: '/accessibility' };

/** A page's address in a language: links keep the reader's choice. */
export const pageHref = (page: PageId, language: Language = LANG): string => `${PATHS[page]}?lang=${language}`;

/** This page in the other language, named in that language. */
export function LanguageSwitch({ page }: { page: PageId }) {
  return (
    <nav className="ali-language" aria-label={t.site.languageNav}>
      <a href={pageHref(page, OTHER_LANG)} lang={OTHER_LANG} hrefLang={OTHER_LANG} data-language-switch={OTHER_LANG}>
        {t.site.otherLanguageName}
      </a>
    </nav>
  );
}

export function PagesNav({ current }: { current: PageId }) {
  const pages: [PageId, string][] = [
    ['dashboard', t.site.dashboard],
    ['explorer', t.site.explorer],
    ['accessibility', t.site.statement],
  ];
  return (
    <nav className="ali-pages" aria-label={t.site.pagesNav}>
      <ul>
        {pages.map(([id, label]) => (
          <li key={id}>
            <a href={pageHref(id)} aria-current={id === current ? 'page' : undefined}>
              {label}
            </a>
          </li>
        ))}
      </ul>
    </nav>
  );
}

export const SkipLink = ({ target = 'main' }: { target?: string }) => (
  <a className="ali-skip-link" href={`#${target}`}>
    {t.site.skipToContent}
  </a>
);

/** The frame of a document page (dashboard, statement): the explorer lays out its own. */
export function PageFrame({ page, title, children }: { page: PageId; title: string; children: ReactNode }) {
  return (
    <>
      <SkipLink />
      <header className="ali-header">
        <div className="ali-bar">
          <PagesNav current={page} />
          <LanguageSwitch page={page} />
        </div>
        <h1>{title}</h1>
      </header>
      {/* Focusable so the skip link moves the keyboard focus, not only the view. */}
      <main id="main" tabIndex={-1}>
        {children}
      </main>
      <footer className="ali-footer">
        <a href={pageHref('accessibility')}>{t.site.statement}</a>
      </footer>
    </>
  );
}
