/**
 * Global object ids (gateway/node/globalId.ts) and the node subgraph added to supergraphs
 * (gateway/node/augment.ts): every edge-case supergraph of the differential suite takes it, the
 * rest of each supergraph is untouched, and a supergraph that cannot take it is served as it is.
 */
import { readFileSync } from 'node:fs';
import { composeServices } from '@apollo/composition';
import { Supergraph } from '@apollo/federation-internals';
import { parse, print } from 'graphql';
import { describe, expect, it } from 'vitest';
import { augmentSupergraph, decodeGlobalId, encodeGlobalId } from '../../gateway/node/index.ts';
import { keyValues } from '../../gateway/node/globalId.ts';
import { CASES } from '../integration/differential/supergraphs/index.ts';

const compose = (subgraphs: readonly { name: string; typeDefs: string }[]) => {
  const result = composeServices(subgraphs.map((s) => ({ name: s.name, url: `http://localhost/${s.name}`, typeDefs: parse(s.typeDefs) })));
  if (result.errors) throw new Error(result.errors.map((e) => e.message).join('\n'));
  return result.supergraphSdl;
};
const fed2 = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])\n';

describe('global object ids', () => {
  const bare = { fields: ['id'], bare: true };
  const pair = { fields: ['isbn', 'year'], bare: false };

  it('encode type and key as base64url, and decode only their canonical form', () => {
    const id = encodeGlobalId('Alliance', bare, { id: 'ali-cn' });
    expect(id).toBe('QWxsaWFuY2U6YWxpLWNu');
    expect(decodeGlobalId(id)).toEqual({ typeName: 'Alliance', key: 'ali-cn' });
    for (const bad of ['', 'QWxsaWFuY2U6YWxpLWNu=', 'QR', 'not an id', Buffer.from(':x').toString('base64url'), Buffer.from('1A:x').toString('base64url')]) {
      expect(decodeGlobalId(bad), bad).toBeUndefined();
    }
  });

  it('carry keys of several fields as JSON, which must have exactly those scalar fields', () => {
    const id = encodeGlobalId('Edition', pair, { year: 2004, isbn: '88-04' });
    const decoded = decodeGlobalId(id)!;
    expect(keyValues(pair, decoded.key)).toEqual({ isbn: '88-04', year: 2004 });
    expect(keyValues(pair, '{"isbn":"x"}')).toBeUndefined();
    expect(keyValues(pair, '{"isbn":"x","year":{"$gt":1}}')).toBeUndefined();
    expect(keyValues(pair, 'x')).toBeUndefined();
    expect(keyValues(bare, '')).toBeUndefined();
  });
});

describe('the node subgraph on a supergraph', () => {
  it('joins our supergraph: every entity type, nothing else of the file changed', () => {
    const sdl = readFileSync(new URL('../../schema/supergraph.graphql', import.meta.url), 'utf8');
    const a = augmentSupergraph(sdl);
    if (a.kind !== 'augmented') throw new Error(a.reason);
    expect([...a.nodeTypes.values()].map((t) => `${t.typeName}(${t.shape.fields.join(' ')}) by ${t.owner}`).sort()).toEqual([
      'Adoption(id) by reuse', 'Agreement(id) by funding', 'Alliance(id) by alliances', 'Call(id) by funding', 'Committee(id) by governance',
      'Facilitator(id) by governance', 'FundedProject(id) by funding', 'FundingSource(id) by funding', 'Institution(id) by governance',
      'Municipality(istatCode) by alliances', 'Province(code) by alliances', 'ReuseSolution(id) by reuse',
    ]);
    // Every subgraph extracted from it is the one extracted from the original, but for the key
    // fields the node subgraph resolves too, which become @shareable (as composition marks them).
    const original = Supergraph.build(sdl).subgraphs();
    const augmented = Supergraph.build(a.sdl).subgraphs();
    const unshared = (text: string) => text.replaceAll(' @shareable', '');
    for (const name of original.names()) expect(unshared(augmented.get(name)!.toString())).toBe(unshared(original.get(name)!.toString()));
  });

  it('joins every edge-case supergraph of the differential suite (keys, @requires, @provides, @override, @interfaceObject…)', () => {
    for (const c of CASES) {
      const sdl = compose(c.subgraphs);
      const a = augmentSupergraph(sdl);
      // A supergraph with a Node of its own keeps it (and has no node subgraph).
      const expected = /^(type|interface) Node\b/m.test(sdl) ? 'it defines a Node type of its own' : 'augmented';
      expect(a.kind === 'unchanged' ? a.reason : 'augmented', c.subgraphs.map((s) => s.name).join('+')).toBe(expected);
    }
  });

  it('leaves a supergraph that has a Node of its own as it is, and says why', () => {
    const own = compose([{ name: 'a', typeDefs: `${fed2}type Node @key(fields: "id") { id: ID! }\ntype Query { node(id: ID!): Node }` }]);
    expect(augmentSupergraph(own)).toEqual({ kind: 'unchanged', reason: 'it defines a Node type of its own' });
    const keyless = compose([{ name: 'a', typeDefs: `${fed2}type Thing { id: ID! }\ntype Query { things: [Thing!]! }` }]);
    expect(augmentSupergraph(keyless)).toEqual({ kind: 'unchanged', reason: 'no entity type has a key of scalar fields' });
  });

  it('keys an entity by scalar fields only, and JSON-encodes a key of several', () => {
    const sdl = compose([
      { name: 'a', typeDefs: `${fed2}type Edition @key(fields: "isbn year") { isbn: String! year: Int! title: String }\ntype Shelf @key(fields: "place { id }") { place: Place! }\ntype Place { id: ID! }\ntype Query { editions: [Edition!]! shelves: [Shelf!]! }` },
    ]);
    const a = augmentSupergraph(sdl);
    if (a.kind !== 'augmented') throw new Error(a.reason);
    expect([...a.nodeTypes.keys()]).toEqual(['Edition']);
    expect(a.nodeTypes.get('Edition')!.shape).toEqual({ fields: ['isbn', 'year'], bare: false });
    expect(print(parse(a.nodeSdl))).toContain('type Edition implements Node @key(fields: "isbn year")');
  });
});
