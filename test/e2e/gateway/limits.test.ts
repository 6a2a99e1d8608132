/**
 * Operation limits through a real gateway over HTTP: for every limit, an operation
 * exactly at it is answered and one a step over it is refused with HTTP 400 and an
 * OPERATION_LIMIT_EXCEEDED error naming the limit, before anything reaches a subgraph. One gateway
 * serves every case; each test tightens one limit and leaves the others wide open.
 *
 * Then, without a server: the default limits let the explorer's and dashboard's examples, the
 * analytics reports and GraphiQL's introspection query through for anonymous callers.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Supergraph } from '@apollo/federation-internals';
import { getIntrospectionQuery, parse, validate } from 'graphql';
import { readCostDirectives, type CostOptions } from '../../../gateway/cost/index.ts';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ROLES } from '../../../lib/access.ts';
import { loadConfig } from '../../../lib/config.ts';
import {
  DEFAULT_OPERATION_LIMITS as DEFAULT_LIMITS,
  measureOperation,
  OPERATION_LIMIT_EXCEEDED,
  operationLimitsPlugin,
  resolveOperationLimits as resolveLimits,
  type LimitName,
  type OperationLimits,
} from '../../../gateway/operationLimits.ts';
import type { RunningGateway } from '../../../gateway/runtime.ts';
import { GRAPHQL_ACCEPT, startStack, type QueryResult, type Stack } from '../../helpers/stack.ts';

const root = path.resolve(import.meta.dirname, '..', '..', '..');

/** The cost model of the committed supergraph, with the default list and page sizes. */
const COST: CostOptions = { directives: readCostDirectives(readFileSync(path.join(root, 'schema/supergraph.graphql'), 'utf8')), listSize: 20, pageSize: 20 };

const OPEN: OperationLimits = { maxDepth: 100, maxAliases: 100, maxRootFields: 100, maxDirectives: 100, maxTokens: 10_000, maxCost: 1_000_000 };

describe('operation limits over HTTP', () => {
  let stack: Stack;
  let gateway: RunningGateway;
  let limits: OperationLimits = OPEN;
  const calls: string[] = [];

  beforeAll(async () => {
    stack = await startStack();
    gateway = await stack.startGateway({
      plugins: [operationLimitsPlugin(() => limits, { cost: () => COST })],
      onSubgraphRequest: (subgraph) => void calls.push(subgraph),
    });
  });
  afterAll(async () => {
    await stack?.stop();
  });
  beforeEach(() => {
    limits = OPEN;
  });

  async function send<T = any>(query: string, variables?: Record<string, unknown>): Promise<QueryResult<T> & { calls: number }> {
    calls.length = 0;
    const res = await fetch(`${gateway.url}graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: GRAPHQL_ACCEPT },
      body: JSON.stringify({ query, variables }),
    });
    return { status: res.status, body: (await res.json()) as QueryResult<T>['body'], calls: calls.length };
  }

  async function expectAnswered(query: string, variables?: Record<string, unknown>) {
    const r = await send(query, variables);
    expect(r.body.errors).toBeUndefined();
    expect(r.status).toBe(200);
    expect(r.body.data).toBeTruthy();
    expect(r.calls).toBeGreaterThan(0);
  }

  async function expectRefused(query: string, limit: LimitName, max: number, actual: number, variables?: Record<string, unknown>) {
    const r = await send(query, variables);
    expect(r.status).toBe(400);
    expect(r.body.data).toBeUndefined();
    expect(r.body.errors).toHaveLength(1);
    const error = r.body.errors![0]!;
    expect(error.extensions).toMatchObject({ code: OPERATION_LIMIT_EXCEEDED, limit, max, actual });
    expect(error.message).toContain(limit);
    expect(error.message).toContain(String(actual));
    expect(r.calls).toBe(0);
  }

  it('maxDepth: nesting up to the limit passes, one level more is refused; fragments add no level', async () => {
    limits = { ...OPEN, maxDepth: 3 };
    await expectAnswered('{ provinces { alliance { name } } }');
    await expectAnswered('{ provinces { ...P } } fragment P on Province { alliance { ... on Alliance { name } } }');
    await expectRefused('{ provinces { alliance { province { name } } } }', 'maxDepth', 3, 4);
  });

  it('maxAliases: counts aliases in fragments too; aliasing __typename is free', async () => {
    limits = { ...OPEN, maxAliases: 2 };
    await expectAnswered('{ a: provinces { code t: __typename } b: provinces { code } }');
    await expectRefused('{ a: provinces { ...P } b: provinces { code } } fragment P on Province { c: code }', 'maxAliases', 2, 3);
  });

  it('maxRootFields: distinct root fields, fragments expanded, __typename free', async () => {
    limits = { ...OPEN, maxRootFields: 2 };
    await expectAnswered('{ __typename provinces { code } networkSummary { allianceCount } }');
    await expectRefused(
      '{ provinces { code } ...Q } fragment Q on Query { networkSummary { allianceCount } alliances { id } }',
      'maxRootFields',
      2,
      3,
    );
  });

  it('maxDirectives: every directive use counts', async () => {
    limits = { ...OPEN, maxDirectives: 2 };
    await expectAnswered('query ($yes: Boolean = true) { provinces @include(if: $yes) { code @skip(if: false) } }', { yes: true });
    await expectRefused(
      'query ($yes: Boolean = true) { provinces @include(if: $yes) { code @skip(if: false) name @include(if: true) } }',
      'maxDirectives',
      2,
      3,
    );
  });

  it('maxTokens: lexical tokens of the document, comments not counted', async () => {
    limits = { ...OPEN, maxTokens: 6 };
    await expectAnswered('# the six tokens: { provinces { code } }\n{ provinces { code } }');
    await expectRefused('{ provinces { code name } }', 'maxTokens', 6, 7);
  });

  it('maxCost: a paginated selection costs its page size times its fields', async () => {
    // 1 (municipalities) + 3 × (nodes + istatCode + name) = 10
    limits = { ...OPEN, maxCost: 10 };
    await expectAnswered('{ municipalities(first: 3) { nodes { istatCode name } } }');
    await expectRefused('{ municipalities(first: 4) { nodes { istatCode name } } }', 'maxCost', 10, 13);
    // Without `first`, the default page size (20): 1 + 20 × 3.
    await expectRefused('{ municipalities { nodes { istatCode name } } }', 'maxCost', 10, 61);
  });

  it('maxCost: page sizes multiply through nested connections', async () => {
    // inner: 1 + 3 × (nodes + name) = 7; province: 1 + 7; nodes: 1 + 8; outer: 1 + 2 × 9 = 19
    const nested = (outer: number) =>
      `{ municipalities(first: ${outer}) { nodes { province { municipalities(first: 3) { nodes { name } } } } } }`;
    limits = { ...OPEN, maxCost: 19 };
    await expectAnswered(nested(2));
    await expectRefused(nested(3), 'maxCost', 19, 28);
  });

  it('maxCost: page sizes given as variables count, each request with its own values', async () => {
    const query = 'query Page($n: Int) { municipalities(first: $n) { nodes { istatCode name } } }';
    limits = { ...OPEN, maxCost: 10 };
    await expectAnswered(query, { n: 3 });
    await expectRefused(query, 'maxCost', 10, 13, { n: 4 });
    await expectAnswered(query, { n: 3 });
    await expectRefused(query, 'maxCost', 10, 61, {});
    await expectRefused(query, 'maxCost', 10, 61, { n: null });
    // The same document under another caller's limits.
    limits = { ...OPEN, maxCost: 13 };
    await expectAnswered(query, { n: 4 });
  });

  it('a variable default page size counts when the variable is absent', async () => {
    const query = 'query Page($n: Int = 2) { municipalities(first: $n) { nodes { istatCode name } } }';
    limits = { ...OPEN, maxCost: 7 };
    await expectAnswered(query, {});
    await expectRefused(query, 'maxCost', 7, 10, { n: 3 });
  });

  it('bad variables still get the ordinary BAD_USER_INPUT, not a limit error or a 500', async () => {
    limits = { ...OPEN, maxCost: 10 };
    const r = await send('query Page($n: Int) { municipalities(first: $n) { nodes { name } } }', { n: 'many' });
    expect(r.status).toBe(400);
    expect(r.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(r.calls).toBe(0);
  });

  it('the first limit exceeded is reported when several are', async () => {
    limits = { ...OPEN, maxDepth: 1, maxCost: 1 };
    await expectRefused('{ provinces { code } }', 'maxDepth', 1, 2);
  });
});

describe('default limits', () => {
  // As the gateway validates: its API schema with @defer (gateway/executor/deferDirective.ts).
  const schema = Supergraph.build(readFileSync(path.join(root, 'schema/supergraph.graphql'), 'utf8')).apiSchema().toGraphQLJSSchema({ includeDefer: true });
  const fragments = readFileSync(path.join(root, 'gateway/analytics/_fragments.graphql'), 'utf8');
  const graphqlFiles = (dir: string) =>
    readdirSync(path.join(root, dir))
      .filter((f) => f.endsWith('.graphql') && !f.startsWith('_'))
      .map((f) => path.join(dir, f));

  const operations: [string, string, Record<string, unknown>][] = [
    ...[...graphqlFiles('ui/explorer/examples'), ...graphqlFiles('ui/dashboard/queries')].map(
      (f): [string, string, Record<string, unknown>] => [f, readFileSync(path.join(root, f), 'utf8'), {}],
    ),
    // Reports spread fragments of _fragments.graphql (gateway/routes/analytics.ts adds the ones they use).
    ...graphqlFiles('gateway/analytics').map((f): [string, string, Record<string, unknown>] => {
      const report = readFileSync(path.join(root, f), 'utf8');
      const used = parse(fragments).definitions.filter((d) => d.kind === 'FragmentDefinition' && report.includes(`...${d.name.value}`));
      return [f, `${report}\n${used.map((d) => fragments.slice(d.loc!.start, d.loc!.end)).join('\n')}`, {}];
    }),
    ['test/e2e/operations/batching/dashboard.graphql', readFileSync(path.join(root, 'test/e2e/operations/batching/dashboard.graphql'), 'utf8'), { first: 20 }],
    ['GraphiQL introspection', getIntrospectionQuery({ inputValueDeprecation: true, schemaDescription: true }), {}],
  ];

  it.each(operations)('%s passes for anonymous callers', (_name, source, variables) => {
    const document = parse(source);
    expect(validate(schema, document)).toEqual([]);
    const measures = measureOperation(schema, document, source, undefined, variables, COST);
    for (const limit of Object.keys(DEFAULT_LIMITS.anonymous) as LimitName[]) {
      expect(measures[limit], limit).not.toBeNull();
      expect(measures[limit]!, limit).toBeLessThanOrEqual(DEFAULT_LIMITS.anonymous[limit]);
    }
  });

  it('no role has tighter limits than anonymous callers', () => {
    for (const role of ROLES) {
      for (const limit of Object.keys(DEFAULT_LIMITS.anonymous) as LimitName[]) {
        expect(DEFAULT_LIMITS[role][limit]).toBeGreaterThanOrEqual(DEFAULT_LIMITS.anonymous[limit]);
      }
    }
  });

  it('OPERATION_LIMITS overrides single limits of single roles', () => {
    const cfg = loadConfig({ OPERATION_LIMITS: '{"anonymous":{"maxDepth":4,"maxCost":500},"admin":{"maxTokens":20000}}' });
    const limits = resolveLimits(cfg.OPERATION_LIMITS);
    expect(limits.anonymous).toEqual({ ...DEFAULT_LIMITS.anonymous, maxDepth: 4, maxCost: 500 });
    expect(limits.admin).toEqual({ ...DEFAULT_LIMITS.admin, maxTokens: 20_000 });
    expect(limits.analyst).toEqual(DEFAULT_LIMITS.analyst);
    expect(resolveLimits({})).toEqual(DEFAULT_LIMITS);
  });
});
