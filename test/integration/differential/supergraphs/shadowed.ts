/**
 * Field names a plain JavaScript object inherits (`constructor`, `toString`, `valueOf`): the lean
 * executor merges results without own-property checks, so it leaves every operation of such a
 * supergraph to stock, by design; the answers must still be stock's.
 */
import type { DifferentialCase, SubgraphDef } from '../harness.ts';
import { fed2 } from '../harness.ts';

const CLASSES = [
  { id: 'k1', constructor: 'Point', toString: 'Point(x, y)' },
  { id: 'k2', constructor: 'Line', toString: null },
];

export const classes: SubgraphDef = {
  name: 'classes',
  typeDefs: `${fed2(['@key'])}
    type Query { classes: [Class!]! }
    type Class @key(fields: "id") { id: ID! constructor: String! toString: String }`,
  resolvers: {
    Query: { classes: () => CLASSES },
    Class: { __resolveReference: (ref: { id: string }) => CLASSES.find((c) => c.id === ref.id) ?? null },
  },
};

export const sizes: SubgraphDef = {
  name: 'sizes',
  typeDefs: `${fed2(['@key'])}
    type Class @key(fields: "id") { id: ID! valueOf: Int! }`,
  resolvers: {
    Class: { __resolveReference: (ref: { id: string }) => ref, valueOf: (c: { id: string }) => Number(c.id.slice(1)) * 2 },
  },
};

const byDesign = { stock: 'shadowed_names' } as const;

export const shadowedCase: DifferentialCase = {
  name: 'names of Object.prototype members',
  about: 'fields named constructor, toString and valueOf, across subgraphs',
  subgraphs: [classes, sizes],
  operations: [
    { name: 'inherited names as fields, one of them from another subgraph', query: '{ classes { id constructor toString valueOf } }', executor: byDesign },
    { name: 'a query without those fields (the whole supergraph goes to stock)', query: '{ classes { id } }', executor: byDesign },
  ],
};
