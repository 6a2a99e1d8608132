/**
 * The one walk over an operation's selections that the operation limits and the cost analysis
 * share: the fields of one or more selection sets (the occurrences of one response key merged),
 * fragments expanded, `@skip`/`@include` applied. As graphql-js's own collectFields, a fragment is
 * expanded once per collection, so a document spreading fragments into fragments cannot make the
 * walk exponential; `onField` sees every field node and may stop the walk by throwing.
 */
import { Kind, type DirectiveNode, type FieldNode, type FragmentDefinitionNode, type SelectionSetNode } from 'graphql';

/** The occurrences of one response key on one type. */
export interface FieldGroup {
  /** Response key: the alias, or the field's name. */
  readonly key: string;
  /** The type it is selected on: the innermost fragment's type condition, else the parent type. */
  readonly on: string;
  readonly name: string;
  readonly nodes: FieldNode[];
}

export type Fragments = ReadonlyMap<string, FragmentDefinitionNode>;

export interface Collect {
  readonly fragments: Fragments;
  /** Whether a selection with these directives is included (`@skip`, `@include`). */
  readonly included: (directives: readonly DirectiveNode[] | undefined) => boolean;
  readonly onField?: (node: FieldNode) => void;
}

/** The fragment definitions of a document, by name. */
export function fragmentsOf(definitions: readonly { kind: Kind }[]): Map<string, FragmentDefinitionNode> {
  const out = new Map<string, FragmentDefinitionNode>();
  for (const d of definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) out.set((d as FragmentDefinitionNode).name.value, d as FragmentDefinitionNode);
  return out;
}

/** The fields `sets` select on `parent`, grouped by the type they are selected on and their response key, in document order. */
export function collectFields(sets: readonly (SelectionSetNode | undefined)[], parent: string, c: Collect): FieldGroup[] {
  const groups = new Map<string, FieldGroup>();
  const expanded = new Set<string>();
  const visit = (set: SelectionSetNode, on: string): void => {
    for (const s of set.selections) {
      if (!c.included(s.directives)) continue;
      if (s.kind === Kind.FIELD) {
        c.onField?.(s);
        const key = s.alias?.value ?? s.name.value;
        const id = `${on}\u0000${key}`;
        let group = groups.get(id);
        if (!group) groups.set(id, (group = { key, on, name: s.name.value, nodes: [] }));
        group.nodes.push(s);
      } else if (s.kind === Kind.INLINE_FRAGMENT) {
        visit(s.selectionSet, s.typeCondition?.name.value ?? on);
      } else if (!expanded.has(s.name.value)) {
        expanded.add(s.name.value);
        const fragment = c.fragments.get(s.name.value);
        if (fragment) visit(fragment.selectionSet, fragment.typeCondition.name.value);
      }
    }
  };
  for (const set of sets) if (set) visit(set, parent);
  return [...groups.values()];
}

/** The selection sets of a group's occurrences, merged as execution merges them. */
export function subSelections(group: FieldGroup): (SelectionSetNode | undefined)[] {
  return group.nodes.map((n) => n.selectionSet);
}
