/**
 * Which client headers reach which subgraph (HEADER_RULES), in the shape of Apollo Router's
 * `headers` configuration: rules for `all` subgraphs, then rules per subgraph, applied in order to
 * the headers of each subgraph request:
 *
 * - `{ "propagate": { "named": "x-user-token" } }`, optionally with `"rename"` and `"default"`
 *   (sent when the client sent none); or `{ "propagate": { "matching": "^x-tenant-" } }`;
 * - `{ "insert": { "name": "x-source", "value": "ali-graph" } }`;
 * - `{ "remove": { "named": "x-debug" } }` or `{ "remove": { "matching": "^x-internal-" } }`.
 *
 * Without rules no client header is forwarded (the default, as with the Router). A rule never
 * touches the headers the gateway owns (the signed caller, the request id) nor those of the HTTP
 * exchange itself (hop-by-hop, length, type, encoding, host): a rule naming one is refused at
 * start (the format: lib/configFormats.ts), a pattern matching one skips it.
 */
import { RESERVED_HEADERS, type HeaderRule, type HeaderRules } from '../../lib/configFormats.ts';

/** The client's headers as the gateway's request context holds them (lower-case names). */
interface ClientHeaders {
  get(name: string): string | null | undefined;
  keys(): Iterator<string>;
}

function apply(rules: readonly HeaderRule[], client: ClientHeaders, out: Map<string, string>): void {
  for (const r of rules) {
    if ('insert' in r) {
      out.set(r.insert.name, r.insert.value);
    } else if ('remove' in r) {
      const { remove } = r;
      for (const name of [...out.keys()]) if ('named' in remove ? name === remove.named : remove.matching.test(name)) out.delete(name);
    } else if ('named' in r.propagate) {
      const { named, rename, default: fallback } = r.propagate;
      const value = client.get(named) ?? fallback;
      if (value !== undefined) out.set(rename ?? named, value);
    } else {
      for (let it = client.keys(), next = it.next(); !next.done; next = it.next()) {
        const name = next.value;
        const value = client.get(name);
        if (!RESERVED_HEADERS.has(name) && r.propagate.matching.test(name) && typeof value === 'string') out.set(name, value);
      }
    }
  }
}

/** The headers the rules add to one request to `subgraph`, from the client's `headers` (none without rules). */
export function ruledHeaders(rules: HeaderRules | undefined, subgraph: string, client: ClientHeaders | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (!rules || !client) return out;
  apply(rules.all, client, out);
  apply(rules.subgraphs[subgraph] ?? [], client, out);
  return out;
}
