/**
 * The merging of `_entities` fetches to one subgraph into one request (gateway/executor/merge.ts),
 * on its own: which fetches may be merged, the merged operation's text, how an answer is split
 * back (and when it is not), and how a batch sends, caches and falls back to single fetches.
 */
import type { FetchNode } from '@apollo/query-planner';
import { OperationTypeNode, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { compileMergePart, FetchBatches, mergeOperation, splitResponse, type FetchResult, type MergedOperation, type MergePart } from '../../gateway/executor/merge.ts';

const ENTITIES = 'query Q__inventory__1($representations: [_Any!]!, $unit: String) { _entities(representations: $representations) { ... on Product { ...P stock(unit: $unit) } } } fragment P on Product { upc }';

const fetchNode = (operation: string, extra: Partial<FetchNode> = {}): FetchNode =>
  ({ kind: 'Fetch', serviceName: 'inventory', operation, operationKind: OperationTypeNode.QUERY, operationName: 'Q__inventory__1', ...extra }) as unknown as FetchNode;

const part = (id: number) => compileMergePart(fetchNode(ENTITIES), id)!;

describe('compileMergePart', () => {
  it('aliases the _entities field and renames its variables and fragments after the alias', () => {
    const p = part(3);
    expect(p).toMatchObject({ id: 3, serviceName: 'inventory', operationName: 'Q__inventory__1', alias: '_e3', prefix: '_e3_' });
    expect(p.variableDefinitions.map((v) => v.variable.name.value)).toEqual(['_e3_representations', '_e3_unit']);
    expect(p.fragments.map((f) => f.name.value)).toEqual(['P___e3']);
    const merged = mergeOperation([p]);
    expect(merged.query).toContain('_e3: _entities(representations: $_e3_representations)');
    expect(merged.query).toContain('...P___e3');
    expect(merged.query).toContain('stock(unit: $_e3_unit)');
  });

  it('takes the parsed document when the plan has one', () => {
    expect(compileMergePart(fetchNode('not graphql', { operationDocumentNode: parse(ENTITIES) }), 1)?.alias).toBe('_e1');
    expect(compileMergePart(fetchNode('not graphql'), 1)).toBeUndefined();
  });

  it('refuses what it cannot merge', () => {
    for (const [why, node] of [
      ['a mutation', fetchNode(ENTITIES, { operationKind: OperationTypeNode.MUTATION })],
      ['context rewrites', fetchNode(ENTITIES, { contextRewrites: [{}] } as never)],
      ['@defer', fetchNode(ENTITIES, { hasDefers: true })],
      ['two operations', fetchNode(`${ENTITIES} query Other { _entities(representations: []) { __typename } }`)],
      ['a schema definition', fetchNode(`${ENTITIES} schema { query: Query }`)],
      ['no operation', fetchNode('fragment P on Product { upc }')],
      ['a query document for a mutation', fetchNode('mutation M($representations: [_Any!]!) { _entities(representations: $representations) { __typename } }')],
      ['operation directives', fetchNode('query Q($representations: [_Any!]!) @live { _entities(representations: $representations) { __typename } }')],
      ['two root fields', fetchNode('query Q($representations: [_Any!]!) { _entities(representations: $representations) { __typename } other }')],
      ['a root field other than _entities', fetchNode('query Q { products { upc } }')],
      ['an aliased _entities', fetchNode('query Q($representations: [_Any!]!) { e: _entities(representations: $representations) { __typename } }')],
      ['a directive on _entities', fetchNode('query Q($representations: [_Any!]!, $x: Boolean!) { _entities(representations: $representations) @include(if: $x) { __typename } }')],
      ['a fragment spread at the root', fetchNode('query Q { ...R } fragment R on Query { __typename }')],
    ] as const) {
      expect(compileMergePart(node, 1), why).toBeUndefined();
    }
  });
});

describe('mergeOperation', () => {
  it('puts the parts in order under the first one’s name, variables and fragments of each', () => {
    const merged = mergeOperation([part(2), part(5)]);
    expect(merged.operationName).toBe('Q__inventory__1');
    expect(merged.query).toBe(
      [
        'query Q__inventory__1($_e2_representations: [_Any!]!, $_e2_unit: String, $_e5_representations: [_Any!]!, $_e5_unit: String) {',
        '  _e2: _entities(representations: $_e2_representations) {',
        '    ... on Product {',
        '      ...P___e2',
        '      stock(unit: $_e2_unit)',
        '    }',
        '  }',
        '  _e5: _entities(representations: $_e5_representations) {',
        '    ... on Product {',
        '      ...P___e5',
        '      stock(unit: $_e5_unit)',
        '    }',
        '  }',
        '}',
        '',
        'fragment P___e2 on Product {',
        '  upc',
        '}',
        '',
        'fragment P___e5 on Product {',
        '  upc',
        '}',
      ].join('\n'),
    );
    expect(mergeOperation([compileMergePart(fetchNode(ENTITIES, { operationName: undefined }), 1)!]).query).toMatch(/^query \(/);
  });
});

describe('splitResponse', () => {
  const parts = [part(1), part(2)];
  const at = (path: (string | number)[], extra: object = {}) => ({ message: `at ${path.join('.')}`, path, ...extra });

  it('gives each part its data and its errors, on its own paths, with the response extensions', () => {
    const split = splitResponse(
      { data: { _e1: [{ upc: 'a' }], _e2: [null, { upc: 'b' }] }, errors: [at(['_e2', 0, 'stock'])], extensions: { cost: 1 } } as FetchResult,
      parts,
    );
    expect(split).toEqual([
      { data: { _entities: [{ upc: 'a' }] }, extensions: { cost: 1 } },
      { data: { _entities: [null, { upc: 'b' }] }, errors: [{ message: 'at _e2.0.stock', path: ['_entities', 0, 'stock'] }], extensions: { cost: 1 } },
    ]);
    expect(splitResponse({ data: { _e1: [], _e2: [] } } as FetchResult, parts)).toEqual([{ data: { _entities: [] } }, { data: { _entities: [] } }]);
  });

  it('does not split an answer missing a part, or with an error it cannot place', () => {
    expect(splitResponse({ data: { _e1: [] } } as FetchResult, parts)).toBeUndefined();
    expect(splitResponse({ data: Object.assign(Object.create({ _e2: [] }), { _e1: [] }) } as FetchResult, parts)).toBeUndefined();
    expect(splitResponse({ data: { _e1: [], _e2: [] }, errors: [at(['_e2'])] } as FetchResult, parts)).toBeUndefined();
    expect(splitResponse({ data: { _e1: [], _e2: [] }, errors: [{ message: 'no path' }] } as FetchResult, parts)).toBeUndefined();
    expect(splitResponse({ data: { _e1: [], _e2: [] }, errors: [at(['_e9', 0])] } as FetchResult, parts)).toBeUndefined();
  });

  it('gives a transport failure (no data, one error per root field) to every part on the fetch’s own path', () => {
    const failure = (path: string) => ({ message: 'down', path: [path], extensions: { code: 'SUBGRAPH_UNAVAILABLE' } });
    expect(splitResponse({ errors: [failure('_e2'), failure('_e1')] } as FetchResult, parts)).toEqual([
      { errors: [{ ...failure('_e1'), path: [] }] },
      { errors: [{ ...failure('_e2'), path: [] }] },
    ]);
    expect(splitResponse({ data: null, errors: [failure('_e1'), failure('_e2')] } as FetchResult, parts)).toHaveLength(2);
  });

  it('does not split a failure it cannot read as that', () => {
    const failure = (path: (string | number)[], extensions: object = {}) => ({ message: 'down', path, extensions });
    expect(splitResponse({ errors: [failure(['_e1'])] } as FetchResult, parts)).toBeUndefined();
    expect(splitResponse({ errors: [] } as FetchResult, parts)).toBeUndefined();
    expect(splitResponse({} as FetchResult, parts)).toBeUndefined();
    expect(splitResponse({ errors: [failure(['_e1', 0]), failure(['_e2'])] } as FetchResult, parts)).toBeUndefined();
    expect(splitResponse({ errors: [failure(['_e1']), failure(['_e2'], { response: { status: 400 } })] } as FetchResult, parts)).toBeUndefined();
    expect(splitResponse({ errors: [failure(['_e1']), failure(['_e2'])], http: { status: 500 } } as unknown as FetchResult, parts)).toBeUndefined();
  });
});

describe('FetchBatches', () => {
  type Sent = { serviceName: string; query: string; variables: Record<string, unknown> };
  const batches = (answer: (op: MergedOperation) => Promise<FetchResult>) => {
    const sent: Sent[] = [];
    const cache = new Map<string, MergedOperation>();
    const b = new FetchBatches(cache, async (serviceName, operation, variables) => {
      sent.push({ serviceName, query: operation.query, variables });
      return answer(operation);
    });
    return { b, sent, cache };
  };
  const alone = (result: FetchResult) => async () => result;
  const withService = (p: MergePart, serviceName: string): MergePart => ({ ...p, serviceName });

  it('sends fetches queued in one turn to one subgraph as one request, in id order, and caches the operation', async () => {
    const { b, sent, cache } = batches(async () => ({ data: { _e1: ['one'], _e2: ['two'] } }) as FetchResult);
    for (let round = 0; round < 2; round++) {
      const [second, first] = await Promise.all([
        b.fetch(part(2), { representations: [2], unit: 'kg' }, [], alone({ data: { _entities: ['alone'] } } as FetchResult)),
        b.fetch(part(1), { representations: [1] }, [], alone({ data: { _entities: ['alone'] } } as FetchResult)),
      ]);
      expect(first).toEqual({ data: { _entities: ['one'] } });
      expect(second).toEqual({ data: { _entities: ['two'] } });
    }
    expect(sent).toHaveLength(2);
    expect(sent[0]!.variables).toEqual({ _e1_representations: [1], _e2_representations: [2], _e2_unit: 'kg' });
    expect(sent[0]!.query.indexOf('_e1:')).toBeLessThan(sent[0]!.query.indexOf('_e2:'));
    expect([...cache.keys()]).toEqual(['1,2']);
  });

  it('sends a lone fetch, and fetches to different subgraphs, each on its own', async () => {
    const { b, sent } = batches(async () => ({ data: {} }) as FetchResult);
    const [x, y] = await Promise.all([
      b.fetch(part(1), {}, [], alone({ data: { _entities: ['x'] } } as FetchResult)),
      b.fetch(withService(part(2), 'reviews'), {}, [], alone({ data: { _entities: ['y'] } } as FetchResult)),
    ]);
    expect([x, y]).toEqual([{ data: { _entities: ['x'] } }, { data: { _entities: ['y'] } }]);
    expect(sent).toEqual([]);
    // A later turn is a new batch.
    expect(await b.fetch(part(1), {}, [], alone({ data: { _entities: ['z'] } } as FetchResult))).toEqual({ data: { _entities: ['z'] } });
  });

  it('sends each fetch again on its own when the answer cannot be split or the subgraph refused the merged request', async () => {
    for (const answer of [
      async () => ({ data: { _e1: [] } }) as FetchResult,
      async () => {
        throw { message: 'too many aliases', extensions: { response: { status: 400 } } };
      },
    ]) {
      const { b } = batches(answer);
      const results = await Promise.all([1, 2].map((id) => b.fetch(part(id), {}, [], alone({ data: { _entities: [`alone ${id}`] } } as FetchResult))));
      expect(results).toEqual([{ data: { _entities: ['alone 1'] } }, { data: { _entities: ['alone 2'] } }]);
    }
  });

  it('throws a data source’s error to every merged fetch, as each alone would have thrown it', async () => {
    const failure = new Error('socket hang up');
    const { b } = batches(async () => {
      throw failure;
    });
    const results = await Promise.allSettled([1, 2].map((id) => b.fetch(part(id), {}, [], alone({ data: {} } as FetchResult))));
    expect(results).toEqual([
      { status: 'rejected', reason: failure },
      { status: 'rejected', reason: failure },
    ]);
    // A lone fetch's own failure is its own.
    const { b: single } = batches(async () => ({ data: {} }) as FetchResult);
    await expect(single.fetch(part(1), {}, [], () => Promise.reject(failure))).rejects.toBe(failure);
  });
});
