/**
 * GraphQL names held one byte per character in V8. V8 keeps one copy of each property name (the
 * internalized string), which every object key of that name shares, the keys of parsed JSON
 * included; and a string is one-byte only when everything it was sliced or joined from is. An SDL
 * with one character beyond Latin-1 (a typographic apostrophe in a description) is two-byte, and
 * so is every name sliced from it; Apollo's federation code also prints a schema from strings V8
 * treats as two-byte (names made property keys after they were created) and parses it again. When
 * such a copy is the first of a name V8 keeps, one two-byte key makes the whole JSON text of every
 * answer that carries it two-byte: twice the memory, and its UTF-8 encoding several times slower.
 * Holding a one-byte copy of every name of a schema before anything is built from it (GraphQL
 * names are ASCII) makes those copies the shared ones, for as long as the holder is kept.
 */
import { visit, type DocumentNode } from 'graphql';

/** One-byte copies of a document's names, shared while this object is referenced. */
export type HeldNames = Readonly<Record<string, true>>;

export function holdOneByteNames(document: DocumentNode): HeldNames {
  const held: Record<string, true> = Object.create(null);
  visit(document, {
    Name(node) {
      held[Buffer.from(node.value, 'latin1').toString('latin1')] = true;
    },
  });
  return held;
}
