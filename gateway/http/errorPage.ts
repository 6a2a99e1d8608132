/**
 * The error pages a person sees in a browser, in their language (from the message catalogues in
 * ui/i18n): a self-contained HTML page (no script, styles inline) with the status, what went
 * wrong and links to the pages that exist. API clients keep getting JSON errors with a code.
 */
import type { IncomingMessage } from 'node:http';
import { messagesFor, type Language } from '../../ui/i18n/index.ts';

export type ErrorPageKind = 'notFound' | 'notBuilt';

const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** Whether the client is a browser asking for a page (it accepts HTML), not an API client. */
export const wantsHtml = (req: IncomingMessage): boolean => /\btext\/html\b/.test(String(req.headers.accept ?? ''));

export function errorPage(kind: ErrorPageKind, status: number, lang: Language, path: string): string {
  const t = messagesFor(lang);
  const other: Language = lang === 'it' ? 'en' : 'it';
  const title = kind === 'notFound' ? t.errors.notFoundTitle : t.errors.notBuiltTitle;
  const text = kind === 'notFound' ? t.errors.notFound(path) : t.errors.notBuilt;
  const link = (href: string, label: string) => `<li><a href="${escapeHtml(href)}">${escapeHtml(label)}</a></li>`;
  return `<!doctype html>
<html lang="${lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(`${title} — ${t.site.name}`)}</title>
<link rel="icon" href="data:,">
<style>
body { font-family: system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; color: #1a1a1a; background: #fff; line-height: 1.5; margin: 0; }
main { max-width: 40rem; margin: 3rem auto; padding: 0 1.5rem; }
a { color: #0b4f94; }
a:focus-visible { outline: 3px solid #0b4f94; outline-offset: 2px; }
.status { color: #4d4d4d; }
</style>
</head>
<body>
<main>
<h1>${escapeHtml(title)}</h1>
<p class="status">${escapeHtml(t.errors.status(status))}</p>
<p>${escapeHtml(text)}</p>
<p>${escapeHtml(t.errors.whereToGo)}</p>
<ul>
${link(`/dashboard?lang=${lang}`, t.site.dashboard)}
${link(`/explorer?lang=${lang}`, t.site.explorer)}
${link(`/accessibility?lang=${lang}`, t.site.statement)}
</ul>
<p><a href="?lang=${other}" lang="${other}" hreflang="${other}">${escapeHtml(messagesFor(lang).site.otherLanguageName)}</a></p>
</main>
</body>
</html>
`;
}
