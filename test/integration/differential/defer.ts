/**
 * The gate's `@defer` suite: each operation of a case, with `@defer` added to fragments at
 * generated positions, goes to our gateway as Apollo Client asks (multipart, deferSpec=20220824);
 * its payloads merged must be the answer of the operation without `@defer`, from ours and from
 * stock, data and errors. The positions, in document order, of every selection set of two or more
 * selections: all but the first selection move into `... @defer { … }`; one variant per position
 * (at most {@link MAX_POSITIONS}, labelled), and one with every position deferred (nested defers,
 * unlabelled).
 */
import { Kind, parse, print, visit, type DocumentNode, type OperationDefinitionNode, type SelectionSetNode } from 'graphql';
import { mergePayloads, multipartPayloads, type Payload } from '../defer/multipart.ts';
import type { DiffOperation, RawAnswer } from './harness.ts';

const MAX_POSITIONS = 3;

/** The selection set with all but its first selection deferred. */
function deferRest(set: SelectionSetNode, label: string | undefined): SelectionSetNode {
  const [first, ...rest] = set.selections;
  const args = label ? [{ kind: Kind.ARGUMENT, name: { kind: Kind.NAME, value: 'label' }, value: { kind: Kind.STRING, value: label } } as const] : [];
  return {
    ...set,
    selections: [
      first!,
      { kind: Kind.INLINE_FRAGMENT, directives: [{ kind: Kind.DIRECTIVE, name: { kind: Kind.NAME, value: 'defer' }, arguments: args }], selectionSet: { kind: Kind.SELECTION_SET, selections: rest } },
    ],
  };
}

/** The document with the selection sets at the chosen positions (all: undefined) deferred. */
function deferAt(document: DocumentNode, chosen: number | undefined): DocumentNode {
  let position = -1;
  return visit(document, {
    SelectionSet: {
      leave(set) {
        if (set.selections.length < 2) return undefined;
        position++;
        if (chosen === undefined) return deferRest(set, undefined);
        return position === chosen ? deferRest(set, `p${position}`) : undefined;
      },
    },
  });
}

/** How many positions a document has. */
function positions(document: DocumentNode): number {
  let n = 0;
  visit(document, { SelectionSet: (set) => void (set.selections.length >= 2 && n++) });
  return n;
}

/** The `@defer` variants of a query (none for other operations, which @defer does not apply to). */
export function deferVariants(op: DiffOperation): DiffOperation[] {
  let document: DocumentNode;
  try {
    document = parse(op.query);
  } catch {
    return [];
  }
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  if (operations.some((d) => d.operation !== 'query') || op.query.includes('__schema') || op.query.includes('__type(')) return [];
  const count = Math.min(positions(document), MAX_POSITIONS);
  const variants = Array.from({ length: count }, (_, p) => ({ ...op, name: `${op.name} @defer at position ${p}`, query: print(deferAt(document, p)) }));
  if (count > 1) variants.push({ ...op, name: `${op.name} @defer everywhere`, query: print(deferAt(document, undefined)) });
  return variants;
}

/** An answer as one result: a multipart answer's payloads merged, a JSON one as it is; valueCompletion counted with the errors. */
export interface MergedAnswer {
  readonly status: number;
  readonly data: unknown;
  readonly errors: readonly { message: unknown; path: unknown; code: unknown }[];
  /** How many payloads it came in. */
  readonly payloads: number;
  /**
   * Deferred parts whose data is null: a null in a non-null field of a deferred fragment nulls
   * that part, not the data delivered before it, where the answer without @defer nulls a parent.
   */
  readonly nulledParts: number;
}

function comparableErrors(errors: readonly Payload[]): MergedAnswer['errors'] {
  return errors
    .map((e) => ({ message: e['message'], path: e['path'], code: e['extensions']?.code }))
    .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

export function mergedOf(answer: RawAnswer): MergedAnswer {
  const { data, errors = [], extensions } = answer.body;
  return { status: answer.status, data, errors: comparableErrors([...errors, ...(extensions?.valueCompletion ?? [])] as Payload[]), payloads: 1, nulledParts: 0 };
}

/** Sends an operation as Apollo Client 4 sends a deferred one; its answer merged. */
export async function sendDeferred(url: string, op: DiffOperation, headers: Record<string, string> = {}): Promise<MergedAnswer> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'multipart/mixed;deferSpec=20220824,application/graphql-response+json,application/json;q=0.9', ...headers },
    body: JSON.stringify({ query: op.query, variables: op.variables, operationName: op.operationName }),
  });
  if (!res.headers.get('content-type')?.startsWith('multipart/mixed')) return mergedOf({ status: res.status, body: (await res.json()) as RawAnswer['body'] });
  const payloads: Payload[] = [];
  for await (const payload of multipartPayloads(res)) payloads.push(payload);
  const { data, errors } = mergePayloads(payloads);
  const valueCompletion = (payloads[0]!['extensions']?.valueCompletion ?? []) as Payload[];
  const nulledParts = payloads.flatMap((p) => (p['incremental'] ?? []) as Payload[]).filter((item) => item['data'] === null).length;
  return { status: res.status, data, errors: comparableErrors([...errors, ...valueCompletion]), payloads: payloads.length, nulledParts };
}
