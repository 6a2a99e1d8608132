/**
 * Schema names stay one byte per character in V8 (lib/oneByteNames.ts), in the gateway
 * (gateway/supergraph.ts) and in the subgraphs (lib/subgraph.ts): the first copy of a name V8 keeps
 * is the one every object key of that name shares, the keys of parsed answers included, and one
 * two-byte key makes the whole JSON text of an answer two-byte. The supergraph's names here are new
 * to the process (random), so no string literal of this or any other module can have made them
 * one-byte already.
 */
import { randomBytes } from 'node:crypto';
import v8 from 'node:v8';
import { composeServices } from '@apollo/composition';
import { operationFromDocument, Supergraph } from '@apollo/federation-internals';
import { QueryPlanner } from '@apollo/query-planner';
import { isObjectType, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { augmentSupergraph } from '../../gateway/node/index.ts';
import { inspectSupergraph } from '../../gateway/supergraph.ts';
import { subgraphSchema, subgraphSdl } from '../../lib/subgraph.ts';

/** Whether V8 holds `s` one byte per character (its serialisation format says which). */
const oneByte = (s: string) => v8.serialize(s).toString('latin1', 2, 3) === '"';
/** The copy of `name` V8 shares as a property name, reached from a fresh one-byte string. */
const shared = (name: string) => Object.keys({ [Buffer.from(name, 'latin1').toString('latin1')]: true })[0]!;

describe('supergraph names', () => {
  it('are one-byte where Apollo builds from them, so a parsed answer and its JSON text are too', () => {
    // Composed with placeholders, which are then renamed: the composition does not keep the names.
    const typeDefs = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
      type Query { thingsN: [ThingN!]! }
      type ThingN @key(fields: "id") { id: ID! weightN: Int! }`;
    const composed = composeServices([{ name: 'things', url: 'http://localhost/things', typeDefs: parse(typeDefs) }]);
    if (composed.errors) throw new Error(composed.errors.map((e) => e.message).join('\n'));
    const n = randomBytes(4).toString('hex');
    const [type, field, list] = [`Thing${n}`, `weight${n}`, `things${n}`];
    const sdl = composed.supergraphSdl.replaceAll('ThingN', type).replaceAll('weightN', field).replaceAll('thingsN', list);

    // What the gateway does with a supergraph: validate it (index.ts, the supergraph manager), add
    // the node subgraph, then Apollo Gateway's schema and query planner.
    inspectSupergraph(sdl);
    const augmented = augmentSupergraph(sdl);
    const supergraph = Supergraph.build(augmented.kind === 'augmented' ? augmented.sdl : sdl, { validateSupergraph: true });
    const api = supergraph.apiSchema();
    api.toGraphQLJSSchema();
    const plan = new QueryPlanner(supergraph).buildQueryPlan(operationFromDocument(api, parse(`{ ${list} { id ${field} } }`)));
    expect(JSON.stringify(plan)).toContain(field);

    for (const name of [type, field, list]) expect(oneByte(shared(name)), name).toBe(true);
    const answer = JSON.parse(Buffer.from(JSON.stringify({ data: { [list]: [{ id: '1', [field]: 2 }] } })).toString('utf8')) as unknown;
    expect(oneByte(JSON.stringify(answer))).toBe(true);
  });

  it('are one-byte in a subgraph whose SDL is two-byte (a character beyond Latin-1 in a description)', () => {
    const sdl = subgraphSdl('funding');
    expect(oneByte(sdl)).toBe(false);
    const schema = subgraphSchema({ name: 'funding', resolvers: {} } as never);
    const names = Object.values(schema.getTypeMap()).flatMap((t) => (isObjectType(t) && !t.name.startsWith('__') ? [t.name, ...Object.keys(t.getFields())] : []));
    expect(names.length).toBeGreaterThan(100);
    expect(names.filter((name) => !oneByte(shared(name)))).toEqual([]);
  });
});
