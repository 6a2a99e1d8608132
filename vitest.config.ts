import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

/** One database server per project run; every test file gets its own databases on it. */
const database = ['test/helpers/globalSetup.ts'];

export default defineConfig({
  resolve: {
    // Apollo's packages load graphql's CommonJS build; our sources must share that instance (as
    // they do under Node and tsx), not the ESM build Vite would pick, or schema objects from one
    // fail `instanceof` checks in the other.
    alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }],
  },
  test: {
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 240_000,
    teardownTimeout: 30_000,
    // `npm run test:unit` (and test:integration, test:e2e) run one tier; `npm test` all three.
    projects: [
      // Modules on their own: no database, no server, no child process; runs in seconds.
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      // The data layer on a real database, and the gateway over subgraphs run in-process from
      // their schemas (the differential suite, resilience, the executor), and the build checks.
      { extends: true, test: { name: 'integration', include: ['test/integration/**/*.test.ts'], globalSetup: database } },
      // The whole system: gateway and subgraphs over HTTP, the browser pages, npm start, the
      // benchmark's smoke run, the Docker files, subscriptions end to end; and the hostile-input
      // suite (test/security/), which attacks that whole system.
      { extends: true, test: { name: 'e2e', include: ['test/e2e/**/*.test.ts', 'test/security/**/*.test.ts'], globalSetup: database } },
      // Scale-out: HAProxy, two gateways and two instances of each subgraph as processes, some
      // killed under load (test/scale/failover.test.ts).
      { extends: true, test: { name: 'scale', include: ['test/scale/**/*.test.ts'], globalSetup: database } },
    ],
  },
});
