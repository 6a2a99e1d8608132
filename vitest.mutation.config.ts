/**
 * The tests StrykerJS runs against each mutant of the lean executor (stryker.config.mjs,
 * `npm run test:mutation`): the executor's own tests against stock @apollo/gateway and the
 * differential suite's edge-case supergraphs, all in-process. Not the generated corpus, which
 * needs the whole stack on a database for every run.
 */
import { defineConfig } from 'vitest/config';
import base from './vitest.config.ts';

export default defineConfig({
  resolve: base.resolve,
  test: {
    // A mutant that makes a request hang fails its test after 10 s (Stryker would otherwise time
    // it out and restart its worker, database and all).
    testTimeout: 10_000,
    hookTimeout: 60_000,
    teardownTimeout: 30_000,
    include: [
      'test/integration/gateway/executor.test.ts',
      'test/integration/gateway/executorParity.test.ts',
      'test/integration/differential/differential.test.ts',
    ],
    // The database server: the differential suite's mutations case calls ours with an API key.
    globalSetup: ['test/helpers/globalSetup.ts'],
  },
});
