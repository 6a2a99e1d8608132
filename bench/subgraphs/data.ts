/**
 * The data of the gateway-bound workload: plain objects computed from their index, the same on
 * every run and in every process. 10 users, 10 products, 30 reviews: each user wrote 3 reviews and
 * each product has 3, so the benchmark operation references every user and product many times.
 */

export interface User {
  readonly id: string;
  readonly name: string;
  readonly username: string;
  readonly joinedOn: string;
}

export interface Product {
  readonly upc: string;
  readonly name: string;
  readonly price: number;
  readonly weight: number;
  readonly inStock: boolean;
}

export interface Review {
  readonly id: string;
  readonly body: string;
  readonly rating: number;
  readonly authorId: string;
  readonly upc: string;
}

export const USER_COUNT = 10;
export const PRODUCT_COUNT = 10;
export const REVIEW_COUNT = 30;

const FIRST = ['Ada', 'Bruno', 'Carla', 'Dario', 'Elena', 'Fabio', 'Giulia', 'Ivo', 'Luca', 'Marta'];
const LAST = ['Rossi', 'Bianchi', 'Ferrero', 'Gallo', 'Conti', 'Costa', 'Greco', 'Marino', 'Bruno', 'Villa'];
const ITEMS = ['Table', 'Chair', 'Lamp', 'Shelf', 'Desk', 'Stool', 'Bench', 'Couch', 'Mirror', 'Rug'];
const WORDS = ['solid', 'light', 'sturdy', 'elegant', 'cheap', 'heavy', 'quiet', 'bright', 'handy', 'plain', 'useful', 'compact'];

export const users: readonly User[] = Array.from({ length: USER_COUNT }, (_, i) => ({
  id: `u${i + 1}`,
  name: `${FIRST[i]!} ${LAST[(i * 3) % LAST.length]!}`,
  username: `${FIRST[i]!.toLowerCase()}${i + 1}`,
  joinedOn: `20${10 + i}-0${(i % 9) + 1}-1${i % 10}`,
}));

export const products: readonly Product[] = Array.from({ length: PRODUCT_COUNT }, (_, i) => ({
  upc: `upc-${String(1000 + i * 7)}`,
  name: `${WORDS[i]![0]!.toUpperCase()}${WORDS[i]!.slice(1)} ${ITEMS[i]!}`,
  price: 1999 + i * 1250,
  weight: 300 + ((i * 137) % 900),
  inStock: i % 3 !== 1,
}));

// Review k is by user k mod 10 about product (3k + floor(k / 10)) mod 10: a permutation of the
// products for each block of ten, so every product gets exactly three reviews.
export const reviews: readonly Review[] = Array.from({ length: REVIEW_COUNT }, (_, k) => ({
  id: `r${k + 1}`,
  body: `A ${WORDS[k % WORDS.length]!} and ${WORDS[(k * 5 + 3) % WORDS.length]!} piece; review number ${k + 1}, ${WORDS[(k * 7 + 1) % WORDS.length]!} overall.`,
  rating: (k % 5) + 1,
  authorId: users[k % USER_COUNT]!.id,
  upc: products[(3 * k + Math.floor(k / 10)) % PRODUCT_COUNT]!.upc,
}));

export const userById = new Map(users.map((u) => [u.id, u]));
export const productByUpc = new Map(products.map((p) => [p.upc, p]));
export const reviewById = new Map(reviews.map((r) => [r.id, r]));

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = out.get(k);
    if (list) list.push(item);
    else out.set(k, [item]);
  }
  return out;
}

export const reviewsByAuthor = groupBy(reviews, (r) => r.authorId);
export const reviewsByProduct = groupBy(reviews, (r) => r.upc);

export type SearchHit = ({ kind: 'Review' } & Review) | { kind: 'User'; id: string } | { kind: 'Product'; upc: string };

/** Reviews whose body contains `term`, each followed by its author and its product the first time either appears. */
export function search(term: string, first: number): SearchHit[] {
  const hits: SearchHit[] = [];
  const seen = new Set<string>();
  for (const r of reviews) {
    if (!r.body.includes(term)) continue;
    hits.push({ kind: 'Review', ...r });
    if (!seen.has(r.authorId)) hits.push({ kind: 'User', id: r.authorId });
    if (!seen.has(r.upc)) hits.push({ kind: 'Product', upc: r.upc });
    seen.add(r.authorId).add(r.upc);
  }
  return hits.slice(0, Math.max(0, first));
}
