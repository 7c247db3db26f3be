import { availableParallelism } from 'node:os';
import { defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';

// Tests import `sluice` from the sources, as the CLI of a checkout does (bin/sluice.js): the
// package's "sluice-source" export condition points at src/, its default at the built dist/.
const conditions = ['sluice-source', ...defaultServerConditions];

export default defineConfig({
  ssr: { resolve: { conditions } },
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // One worker more than cores (vitest's default is one fewer): many test files mostly wait for
    // the TaskManager and CLI processes they start, so a core left to them alone would sit idle.
    maxWorkers: availableParallelism() + 1,
    // Engine logs (failovers injected on purpose, expected job failures) would drown the report;
    // tests that check logging inject their own sinks.
    env: { SLUICE_LOG_LEVEL: 'silent' },
  },
});
