/**
 * Where a failed fetch's errors go: one error per root field of a root fetch, on that field's
 * path; for an entity fetch one error on the fetch's own path (`[]`), which the executor prefixes
 * with the path of the entities (`@` standing for every list element, as Apollo Router reports it).
 */
import type { GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { Kind, parse, type DocumentNode, type SelectionSetNode } from 'graphql';
import type { GatewayContext } from '../context.ts';

function rootResponseKeys(document: DocumentNode | undefined, query: string | undefined): string[] {
  let doc = document;
  if (!doc) {
    try {
      doc = parse(query ?? '');
    } catch {
      return [];
    }
  }
  const fragments = new Map(
    doc.definitions.flatMap((d) => (d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d.selectionSet] as const] : [])),
  );
  const keys = new Set<string>();
  const collect = (set: SelectionSetNode, depth: number): void => {
    if (depth > 10) return;
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) {
        if (sel.name.value !== '__typename') keys.add(sel.alias?.value ?? sel.name.value);
      } else if (sel.kind === Kind.INLINE_FRAGMENT) {
        collect(sel.selectionSet, depth + 1);
      } else {
        const fragment = fragments.get(sel.name.value);
        if (fragment) collect(fragment, depth + 1);
      }
    }
  };
  const op = doc.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION);
  if (op) collect(op.selectionSet, 0);
  return [...keys];
}

/** The paths of the errors a failed fetch becomes (undefined: one error without a path). */
export function failurePaths(options: GraphQLDataSourceProcessOptions<GatewayContext>): ((string | number)[] | undefined)[] {
  if (Array.isArray(options.request.variables?.['representations'])) return [[]];
  const document = 'document' in options ? options.document : undefined;
  const keys = rootResponseKeys(document, options.request.query);
  return keys.length > 0 ? keys.map((key) => [key]) : [undefined];
}
