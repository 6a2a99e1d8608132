/**
 * The tests StrykerJS runs against each mutant of the lean executor (stryker.config.mjs,
 * `npm run test:mutation`): the executor's own tests against stock @apollo/gateway (its results,
 * merging, @requires, ceilings, @defer, its incremental formats, its spans and Apollo Client
 * reading it) and the differential suite's edge-case supergraphs, all in-process. Not the
 * generated corpus, which needs the whole stack on a database for every run.
 */
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';
import base from './vitest.config.ts';

/** The test files, in the order they run: quickest first, so that a mutant they kill stops the run early (Stryker bails at the first failure). */
const FILES = [
  'test/unit/executor*.test.ts',
  'test/unit/ceilings.test.ts',
  'test/unit/incrementalDelivery.test.ts',
  'test/integration/gateway/executor.test.ts',
  'test/integration/gateway/executorParity.test.ts',
  'test/integration/differential/plannerCorrections.test.ts',
  'test/integration/defer/defer.test.ts',
  'test/integration/defer/tracing.test.ts',
  'test/integration/defer/apolloClient.test.ts',
  'test/integration/differential/differential.test.ts',
];

class QuickestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (spec: TestSpecification) => {
      const i = FILES.findIndex((pattern) => new RegExp(`${pattern.replace(/\./g, '\\.').replace('*', '[^/]*')}$`).test(spec.moduleId));
      return i === -1 ? FILES.length : i;
    };
    return [...files].sort((a, b) => rank(a) - rank(b));
  }
}

export default defineConfig({
  resolve: base.resolve,
  test: {
    // A mutant that makes a request hang fails its test after 10 s (Stryker would otherwise time
    // it out and restart its worker, database and all).
    testTimeout: 10_000,
    hookTimeout: 60_000,
    teardownTimeout: 30_000,
    include: FILES,
    sequence: { sequencer: QuickestFirst },
    // The database server: the differential suite's mutations case calls ours with an API key.
    globalSetup: ['test/helpers/globalSetup.ts'],
  },
});
