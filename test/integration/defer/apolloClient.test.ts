/**
 * A real Apollo Client 4 (HttpLink, InMemoryCache) with each of its incremental handlers against
 * the gateway: the query's primary data reaches the application (`dataState: 'streaming'`) while
 * the deferred subgraph still holds its answer, and the complete data is the answer without @defer.
 */
import { readFileSync } from 'node:fs';
import { ApolloClient, gql, HttpLink, InMemoryCache, type ObservableQuery } from '@apollo/client';
import { Defer20220824Handler, GraphQL17Alpha9Handler } from '@apollo/client/incremental';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDeferFixture, type DeferFixture } from './fixtures.ts';

const operation = (name: string) => readFileSync(new URL(`./operations/${name}.graphql`, import.meta.url), 'utf8');

let fx: DeferFixture;
beforeAll(async () => {
  fx = await startDeferFixture();
});
afterAll(() => fx?.stop());

type Result = ObservableQuery.Result<Record<string, any>>;

/** The results the query's observer gets until the complete one, as they come (errors kept with the data: Ossola's audit fails). */
function watch(client: ApolloClient, onResult: (result: Result) => void): Promise<Result[]> {
  return new Promise((resolve, reject) => {
    const results: Result[] = [];
    const subscription = client.watchQuery<Record<string, any>>({ query: gql(operation('allianceFunding')), errorPolicy: 'all' }).subscribe({
      next: (result) => {
        results.push(result);
        onResult(result);
        if (result.dataState === 'complete') {
          subscription.unsubscribe();
          resolve(results);
        }
      },
      error: reject,
    });
  });
}

const strip = (value: unknown): unknown => JSON.parse(JSON.stringify(value, (k, v: unknown) => (k === '__typename' ? undefined : v)));

describe.each([
  ['Defer20220824Handler (deferSpec=20220824)', () => new Defer20220824Handler()],
  ['GraphQL17Alpha9Handler (incrementalSpec=v0.2)', () => new GraphQL17Alpha9Handler()],
])('Apollo Client 4 with %s', (_name, handler) => {
  it('shows the primary data before the deferred subgraph answers, then the whole answer', async () => {
    const plain = (await (
      await fetch(fx.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: operation('allianceFundingPlain') }) })
    ).json()) as { data: unknown };
    const client = new ApolloClient({ link: new HttpLink({ uri: fx.url }), cache: new InMemoryCache(), incrementalHandler: handler() });
    const release = fx.hold();
    let releasedAfter: Result | undefined;
    try {
      const results = await watch(client, (result) => {
        // The first data the application sees arrives while funding is held; only then is it let go.
        if (result.dataState === 'streaming' && !releasedAfter) {
          releasedAfter = result;
          release();
        }
      });
      expect(releasedAfter?.data?.['alliances'].map((a: Record<string, unknown>) => [a['id'], a['name'], 'fundingTotal' in a])).toEqual([
        ['a1', 'ALI Torino Nord', false],
        ['a2', 'ALI Langhe', false],
        ['a3', 'ALI Ossola', false],
      ]);
      const last = results.at(-1)!;
      expect(last.dataState).toBe('complete');
      expect(strip(last.data)).toEqual(plain.data);
      expect(last.error?.message).toMatch(/audit of a3 is unavailable/);
    } finally {
      release();
      client.stop();
    }
  });
});
