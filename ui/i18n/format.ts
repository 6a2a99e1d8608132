/**
 * Numbers and dates as a reader of each language expects them, by Intl: `3.890.700,00 €` and
 * `39,994%` in Italian, `€3,890,700.00` and `39.994%` in English. The API's amounts and rates
 * are exact decimal strings; they are formatted as strings (Intl formats a numeric string
 * exactly, without going through a float), so what is shown is what the API said, to the cent.
 */
import { LOCALES, type Language } from './language.ts';

export interface Format {
  /** An amount in euro, with cents: `3890700.00` → `3.890.700,00 €`. */
  euro(amount: string | number): string;
  /** A chart axis tick in euro, abbreviated: `3800000` → `3,8 Mln €`. */
  euroCompact(amount: number): string;
  /** A percentage given in percent points, with the decimals it has: `39.994` → `39,994%`. */
  percent(points: string | number): string;
  /** A whole number: `4363916` → `4.363.916`. */
  count(value: number | string): string;
  /** A calendar date (`YYYY-MM-DD`): `2009-12-22` → `22 dicembre 2009`. */
  date(isoDate: string): string;
}

type Numeric = `${number}`;

const decimalsOf = (value: string): number => {
  const point = value.indexOf('.');
  return point < 0 ? 0 : value.length - point - 1;
};

export function formatFor(language: Language): Format {
  const locale = LOCALES[language];
  const euro = new Intl.NumberFormat(locale, { style: 'currency', currency: 'EUR', minimumFractionDigits: 2, maximumFractionDigits: 2 });
  const euroCompact = new Intl.NumberFormat(locale, { style: 'currency', currency: 'EUR', notation: 'compact', maximumFractionDigits: 1 });
  const count = new Intl.NumberFormat(locale, { maximumFractionDigits: 0 });
  const percents = new Map<number, Intl.NumberFormat>();
  const percent = (decimals: number) => {
    let f = percents.get(decimals);
    if (!f) percents.set(decimals, (f = new Intl.NumberFormat(locale, { style: 'percent', minimumFractionDigits: decimals, maximumFractionDigits: decimals })));
    return f;
  };
  const date = new Intl.DateTimeFormat(locale, { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });
  return {
    euro: (amount) => euro.format(String(amount) as Numeric),
    euroCompact: (amount) => euroCompact.format(amount),
    // Percent style multiplies by 100: the exponent shifts the string's decimal point instead.
    percent: (points) => percent(decimalsOf(String(points))).format(`${points}E-2` as Numeric),
    count: (value) => count.format(String(value) as Numeric),
    date: (isoDate) => date.format(new Date(`${isoDate}T00:00:00Z`)),
  };
}
