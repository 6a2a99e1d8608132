/**
 * Global object ids: opaque strings that name one entity of any subgraph, encoding its type and
 * the values of its entity key, as Relay's Global Object Identification and Hive Gateway's
 * `globalObjectIdentification` encode them (`<Type>:<key>` in base64). Ours are base64url without
 * padding, so an id can go into a URL path as it is; a key of one ID or String field is its value
 * (`Alliance:ali-cn`), any other key a JSON object of its fields (`Edition:{"isbn":"…","year":2}`).
 *
 * Decoding is strict: only the canonical encoding of a well-formed id decodes, so every entity has
 * exactly one id and a mangled one is refused rather than looked up.
 */

/** The key of an entity type, as the node subgraph uses it (gateway/node/augment.ts). */
export interface NodeKeyShape {
  /** The key's fields, in the order of its `@key(fields:)`. */
  readonly fields: readonly string[];
  /** One ID or String field: the id holds the bare value. */
  readonly bare: boolean;
}

export type KeyValues = Readonly<Record<string, unknown>>;

const BASE64URL = /^[A-Za-z0-9_-]+$/;
const TYPE_NAME = /^[_A-Za-z][_0-9A-Za-z]*$/;

export function encodeGlobalId(typeName: string, shape: NodeKeyShape, values: KeyValues): string {
  const key = shape.bare ? String(values[shape.fields[0]!]) : JSON.stringify(Object.fromEntries(shape.fields.map((f) => [f, values[f]])));
  return Buffer.from(`${typeName}:${key}`, 'utf8').toString('base64url');
}

/** The type and raw key of an id, or undefined for a string that is not a canonical global id. */
export function decodeGlobalId(id: string): { readonly typeName: string; readonly key: string } | undefined {
  if (id.length > 4096 || !BASE64URL.test(id)) return undefined;
  const text = Buffer.from(id, 'base64url').toString('utf8');
  if (Buffer.from(text, 'utf8').toString('base64url') !== id) return undefined;
  const colon = text.indexOf(':');
  const typeName = text.slice(0, colon);
  if (colon < 1 || !TYPE_NAME.test(typeName)) return undefined;
  return { typeName, key: text.slice(colon + 1) };
}

/** The key values a decoded id names for a type of this key shape, or undefined when they do not fit it. */
export function keyValues(shape: NodeKeyShape, key: string): KeyValues | undefined {
  if (shape.bare) return key === '' ? undefined : { [shape.fields[0]!]: key };
  let parsed: unknown;
  try {
    parsed = JSON.parse(key);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const values = parsed as Record<string, unknown>;
  const names = Object.keys(values);
  if (names.length !== shape.fields.length || !shape.fields.every((f) => names.includes(f))) return undefined;
  const scalar = (v: unknown) => v === null || ['string', 'number', 'boolean'].includes(typeof v);
  return names.every((n) => scalar(values[n])) ? values : undefined;
}
