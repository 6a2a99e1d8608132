/**
 * No `@skip` or `@include` on the root of a subscription. The GraphQL spec forbids them there (the
 * root field of a subscription must not be conditional: the RFC "Prevent @skip and @include on
 * root subscription selection set", in graphql-js 17 as part of its single-root-field rule). graphql-js 16's rule instead evaluates them with no
 * variables, and throws out of validation when an `if` is missing, is not a Boolean or is a
 * variable, which Apollo Server answers as an unexpected error (500). So such a subscription is
 * refused here, as graphql-js 17 refuses it, before validation sees it.
 */
import { GraphQLError, Kind, parse, type DocumentNode, type FragmentDefinitionNode, type SelectionSetNode } from 'graphql';

const CONDITIONS = new Set(['skip', 'include']);

/** Whether the root selection of a subscription uses a condition, through fragments too. */
function conditional(selectionSet: SelectionSetNode, fragments: ReadonlyMap<string, FragmentDefinitionNode>, visited: Set<string>): boolean {
  for (const selection of selectionSet.selections) {
    if (selection.directives?.some((d) => CONDITIONS.has(d.name.value))) return true;
    if (selection.kind === Kind.INLINE_FRAGMENT && conditional(selection.selectionSet, fragments, visited)) return true;
    if (selection.kind === Kind.FRAGMENT_SPREAD && !visited.has(selection.name.value)) {
      visited.add(selection.name.value);
      const fragment = fragments.get(selection.name.value);
      if (fragment && conditional(fragment.selectionSet, fragments, visited)) return true;
    }
  }
  return false;
}

/**
 * GRAPHQL_VALIDATION_FAILED (HTTP 400) for a document with a subscription whose root selection
 * uses `@skip` or `@include`; undefined otherwise, and for a document that does not parse (the
 * parser refuses it with its own message). Parses only a document that names both.
 */
export function subscriptionRootError(query: string, maxTokens: number): GraphQLError | undefined {
  if (!query.includes('subscription') || !(query.includes('@skip') || query.includes('@include'))) return undefined;
  let document: DocumentNode;
  try {
    document = parse(query, { maxTokens, noLocation: true });
  } catch {
    return undefined;
  }
  const fragments = new Map(document.definitions.flatMap((d) => (d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d] as const] : [])));
  for (const d of document.definitions) {
    if (d.kind !== Kind.OPERATION_DEFINITION || d.operation !== 'subscription' || !conditional(d.selectionSet, fragments, new Set())) continue;
    const name = d.name ? `Subscription "${d.name.value}"` : 'Anonymous Subscription';
    return new GraphQLError(`${name} must not use \`@skip\` or \`@include\` directives in the top level selection.`, {
      extensions: { code: 'GRAPHQL_VALIDATION_FAILED', http: { status: 400 } },
    });
  }
  return undefined;
}
