// Mutation testing of the lean executor (gateway/executor/) with StrykerJS: `npm run test:mutation`.
// Each mutant is run against the tests of vitest.mutation.config.ts that cover it; docs/testing.md
// has the score, the run time and the mutants left alive on purpose.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

// Stryker runs the tests in a copy of the project (.stryker-tmp/), where the test set-up would
// build FerretDB again: point it at this checkout's build (lib/dbServer.ts), when there is one.
const version = /FERRETDB_VERSION = '([^']+)'/.exec(readFileSync('lib/dbServer.ts', 'utf8'))?.[1];
const ferretdb = path.resolve('.cache', 'ferretdb', version ?? '', 'ferretdb');
if (!process.env.FERRETDB_BIN && !process.env.MONGODB_URI && existsSync(ferretdb)) process.env.FERRETDB_BIN = ferretdb;

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutation.config.ts', related: false },
  mutate: ['gateway/executor/**/*.ts'],
  coverageAnalysis: 'perTest',
  // Mutants whose code and covering tests did not change keep their result from the last run.
  incremental: true,
  incrementalFile: 'reports/mutation/stryker-incremental.json',
  // The machine's two cores; each worker runs one test file at a time.
  concurrency: 2,
  timeoutMS: 15_000,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  // What the tests above do not read: pages, documents, deployment, the benchmark, caches.
  ignorePatterns: ['/ui', '/docs/screenshots', '/deploy', '/bench', '/.cache', '/.data', '/dist', '/test/e2e', '/test/security', '/test/artifacts', '/reports'],
  thresholds: { high: 90, low: 80, break: 80 },
};
