/**
 * The start-up check of gateway/apollo/internals.ts, the one module that reads what Apollo's
 * packages do not publish: an installation it was not written for is refused with a message that
 * says what to re-check, and the private fields it reads are those a real ApolloGateway has,
 * before and after loading a supergraph.
 */
import { composeServices } from '@apollo/composition';
import { ApolloGateway } from '@apollo/gateway';
import { parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import {
  ApolloInternalsError,
  apolloInternalsProblems,
  checkApolloInternals,
  gatewayInternals,
  installedApollo,
  WRITTEN_FOR,
  type InstalledApollo,
} from '../../gateway/apollo/internals.ts';

const asWritten: InstalledApollo = { versions: { ...WRITTEN_FOR }, ownCopies: [], missing: [] };

function thrown(run: () => unknown): Error {
  try {
    run();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected it to throw');
}

describe('installed versions', () => {
  it('passes the installation it was written for (the one installed: the module loaded)', () => {
    expect(apolloInternalsProblems(asWritten)).toEqual([]);
    expect(() => checkApolloInternals(asWritten)).not.toThrow();
  });

  // Scenario: an upgrade of any Apollo package (the query planner's @apollo/query-graphs included)
  // fails here, naming what is installed, until this module is re-checked against it.
  it('finds installed exactly the versions it was checked against, one copy each, every deep export replaceable', () => {
    expect(installedApollo()).toEqual({ versions: { ...WRITTEN_FOR }, ownCopies: [], missing: [] });
    expect(Object.keys(WRITTEN_FOR)).toContain('@apollo/query-graphs');
  });

  it('refuses an @apollo/gateway it was not written for, saying what to re-check', () => {
    const err = thrown(() => checkApolloInternals({ ...asWritten, versions: { ...WRITTEN_FOR, '@apollo/gateway': '2.15.0' } }));
    expect(err).toBeInstanceOf(ApolloInternalsError);
    expect(err.message).toContain('gateway/apollo/internals.ts');
    expect(err.message).toContain(`@apollo/gateway 2.15.0 is installed; this module was written for ${WRITTEN_FOR['@apollo/gateway']}`);
    for (const recheck of ['GatewayInternals', 'DEEP_IMPORTS', 'dist/executeQueryPlan.js', 'dist/resultShaping.js', 'gateway/apollo/planner.ts', 'getLocallySatisfiableKey', 'test/integration/differential', 'WRITTEN_FOR']) {
      expect(err.message).toContain(recheck);
    }
  });

  it('names every package that differs, a missing one, a second copy and a missing or unreplaceable deep export', () => {
    const problems = apolloInternalsProblems({
      versions: {
        '@apollo/gateway': WRITTEN_FOR['@apollo/gateway'],
        '@apollo/query-planner': '2.15.1',
        '@apollo/query-graphs': '2.15.1',
        '@apollo/federation-internals': undefined,
      },
      ownCopies: ['/app/node_modules/@apollo/gateway/node_modules/@apollo/query-planner'],
      missing: [
        '@apollo/gateway/dist/dataRewrites.js#applyRewrites',
        '@apollo/query-graphs/dist/graphPath.js#getLocallySatisfiableKey as a writable export read through @apollo/query-graphs',
      ],
    });
    expect(problems).toEqual([
      `@apollo/query-planner 2.15.1 is installed; this module was written for ${WRITTEN_FOR['@apollo/query-planner']}`,
      `@apollo/query-graphs 2.15.1 is installed; this module was written for ${WRITTEN_FOR['@apollo/query-graphs']}`,
      `@apollo/federation-internals (not found) is installed; this module was written for ${WRITTEN_FOR['@apollo/federation-internals']}`,
      "Apollo's packages use their own copy of /app/node_modules/@apollo/gateway/node_modules/@apollo/query-planner, not the one this module imports",
      '@apollo/gateway/dist/dataRewrites.js#applyRewrites is missing',
      '@apollo/query-graphs/dist/graphPath.js#getLocallySatisfiableKey as a writable export read through @apollo/query-graphs is missing',
    ]);
  });
});

describe('private fields of ApolloGateway', () => {
  const constructed = {
    queryPlanStore: {},
    serviceMap: {},
    config: {},
    logger: {},
    recursiveSelectionsLimitDisabled: false,
    nonLocalSelectionsLimitDisabled: false,
    experimental_didResolveQueryPlan: undefined,
  };

  it('refuses a gateway without a field the constructor should have set', () => {
    const { queryPlanStore: _, ...withoutStore } = constructed;
    const err = thrown(() => gatewayInternals({ ...withoutStore, onSchemaLoadOrUpdate: () => () => {} } as unknown as ApolloGateway));
    expect(err).toBeInstanceOf(ApolloInternalsError);
    expect(err.message).toMatch(/ApolloGateway has no private field queryPlanStore after construction/);
    expect(err.message).toContain('WRITTEN_FOR');
  });

  it('reports the fields a supergraph load should have set when it did not', () => {
    const listeners: (() => void)[] = [];
    const gateway = { ...constructed, onSchemaLoadOrUpdate: (listener: () => void) => listeners.push(listener) } as unknown as ApolloGateway;
    gatewayInternals(gateway);
    expect(listeners).toHaveLength(1);
    expect(() => listeners[0]!()).toThrow(/no private field schema, apiSchema, supergraphSchema, queryPlanner after loading a supergraph/);
  });

  it('finds them all on a real gateway, before and after it loads a supergraph', async () => {
    process.env.APOLLO_TELEMETRY_DISABLED = 'true';
    const composed = composeServices([
      { name: 'greetings', url: 'http://127.0.0.1:1/graphql', typeDefs: parse('extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"]) type Query { hello: String }') },
    ]);
    if (composed.errors) throw new Error(composed.errors.map((e) => e.message).join('\n'));
    const errors: string[] = [];
    const logger = { debug() {}, info() {}, warn() {}, error: (message: string) => errors.push(message) };
    const gateway = new ApolloGateway({ supergraphSdl: composed.supergraphSdl, logger });
    const internals = gatewayInternals(gateway);
    expect(gatewayInternals(gateway)).toBe(internals); // checked once per gateway
    await gateway.load();
    try {
      expect(errors).toEqual([]);
      expect(internals.schema?.getQueryType()?.name).toBe('Query');
      expect(internals.apiSchema).toBeDefined();
      expect(internals.supergraphSchema).toBeDefined();
      expect(internals.queryPlanner).toBeDefined();
      expect(Object.keys(internals.serviceMap)).toEqual(['greetings']);
    } finally {
      await gateway.stop();
    }
  });
});
