/**
 * Makes a failing fuzz case small enough to read: greedy deletion of one piece at a time (a
 * definition, a selection, an argument, a directive, an alias, a variable; half of a long string
 * or of text that does not parse), keeping each deletion after which the case still breaks the
 * same invariant. Bounded by a number of attempts, since every attempt is a request.
 */
import { Kind, parse, print, visit, type ASTNode, type DocumentNode, type StringValueNode } from 'graphql';
import type { GraphQLParams } from '../../helpers/transports.ts';

/** Node kinds one of which can be deleted from a document. */
const DELETABLE = new Set<string>([Kind.FIELD, Kind.INLINE_FRAGMENT, Kind.FRAGMENT_SPREAD, Kind.ARGUMENT, Kind.DIRECTIVE, Kind.VARIABLE_DEFINITION, Kind.FRAGMENT_DEFINITION, Kind.OBJECT_FIELD]);

/** `document` with its `n`-th deletable node removed (or its `n`-th string halved, or alias dropped), or undefined past the last. */
function edit(document: DocumentNode, n: number): DocumentNode | undefined {
  let i = 0;
  let done = false;
  const next = visit(document, {
    enter(node: ASTNode) {
      if (done) return undefined;
      if (DELETABLE.has(node.kind) && i++ === n) {
        done = true;
        return null;
      }
      if (node.kind === Kind.FIELD && node.alias && i++ === n) {
        done = true;
        return { ...node, alias: undefined };
      }
      if (node.kind === Kind.STRING && node.value.length > 16 && i++ === n) {
        done = true;
        return { ...node, value: node.value.slice(0, node.value.length >> 1) } satisfies StringValueNode;
      }
      return undefined;
    },
  });
  return done ? next : undefined;
}

/** Smaller versions of `params`, one deletion each, smallest change first. */
function* candidates(params: GraphQLParams): Generator<GraphQLParams> {
  const vars = params.variables ?? {};
  for (const name of Object.keys(vars)) {
    const { [name]: _, ...rest } = vars;
    yield { ...params, variables: rest };
    const value = vars[name];
    if (typeof value === 'string' && value.length > 16) yield { ...params, variables: { ...vars, [name]: value.slice(0, value.length >> 1) } };
  }
  if (params.operationName !== undefined) yield { query: params.query, ...(params.variables ? { variables: params.variables } : {}) };
  let document: DocumentNode | undefined;
  try {
    document = parse(params.query);
  } catch {
    // Text that does not parse: drop halves, then quarters, of it.
    for (const parts of [2, 4, 8]) {
      const size = Math.ceil(params.query.length / parts);
      for (let at = 0; at < params.query.length; at += size) yield { ...params, query: params.query.slice(0, at) + params.query.slice(at + size) };
    }
    return;
  }
  for (let n = 0; ; n++) {
    const smaller = edit(document, n);
    if (!smaller) return;
    yield { ...params, query: print(smaller) };
  }
}

/**
 * The smallest `params` (within `maxAttempts` tries) for which `stillFails` holds. `stillFails`
 * sends the candidate and says whether it breaks the invariant the original broke.
 */
export async function shrink(params: GraphQLParams, stillFails: (candidate: GraphQLParams) => Promise<boolean>, maxAttempts = 150): Promise<{ params: GraphQLParams; attempts: number }> {
  let current = params;
  let attempts = 0;
  for (let improved = true; improved && attempts < maxAttempts; ) {
    improved = false;
    for (const candidate of candidates(current)) {
      if (++attempts > maxAttempts) break;
      if (await stillFails(candidate)) {
        current = candidate;
        improved = true;
        break;
      }
    }
  }
  return { params: current, attempts };
}
