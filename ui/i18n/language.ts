/**
 * Which language a request is answered in, decided the same way for every page, error page and
 * CSV export: the `lang` query parameter when it names a supported language, otherwise the
 * first supported language of the Accept-Language header (by its q weights), otherwise Italian.
 * Shared by the gateway (which serves the pages and exports) and the pages themselves.
 */
export const LANGUAGES = ['it', 'en'] as const;
export type Language = (typeof LANGUAGES)[number];

/** Italian first: the programme, its documents and its analysts are Italian. */
export const DEFAULT_LANGUAGE: Language = 'it';

/** The locale Intl formats each language with (British English: day-month dates, as in Europe). */
export const LOCALES: Readonly<Record<Language, string>> = { it: 'it-IT', en: 'en-GB' };

export const isLanguage = (value: unknown): value is Language => typeof value === 'string' && (LANGUAGES as readonly string[]).includes(value);

/** The supported languages an Accept-Language header asks for, most wanted first; `*` is the default. */
function acceptedLanguages(header: string | undefined): Language[] {
  if (!header) return [];
  const ranges = header
    .split(',')
    .map((part, index) => {
      const [tag = '', ...params] = part.trim().split(';');
      const q = params.map((p) => /^\s*q\s*=\s*([0-9.]+)\s*$/i.exec(p)?.[1]).find((v) => v !== undefined);
      return { tag: tag.trim().toLowerCase(), q: q === undefined ? 1 : Number(q), index };
    })
    .filter((r) => r.tag !== '' && Number.isFinite(r.q) && r.q > 0)
    // Stable: equal weights keep the header's order.
    .sort((a, b) => b.q - a.q || a.index - b.index);
  const out: Language[] = [];
  for (const { tag } of ranges) {
    const primary = tag === '*' ? DEFAULT_LANGUAGE : tag.split('-')[0];
    if (isLanguage(primary) && !out.includes(primary)) out.push(primary);
  }
  return out;
}

export type Negotiated = { readonly ok: true; readonly language: Language } | { readonly ok: false; readonly requested: string };

/**
 * The language to answer in. A `lang` parameter naming an unsupported language is reported
 * (`ok: false`) so that an API can refuse it with a clear error; pages fall back to the header.
 */
export function negotiateLanguage(param: string | null | undefined, acceptLanguage: string | undefined): Negotiated {
  if (param !== null && param !== undefined && param !== '') {
    const wanted = param.toLowerCase();
    return isLanguage(wanted) ? { ok: true, language: wanted } : { ok: false, requested: param };
  }
  return { ok: true, language: acceptedLanguages(acceptLanguage)[0] ?? DEFAULT_LANGUAGE };
}

/** The language for a page: like `negotiateLanguage`, but an unsupported `lang` is ignored. */
export function pageLanguage(param: string | null | undefined, acceptLanguage: string | undefined): Language {
  const chosen = negotiateLanguage(param, acceptLanguage);
  return chosen.ok ? chosen.language : (acceptedLanguages(acceptLanguage)[0] ?? DEFAULT_LANGUAGE);
}
