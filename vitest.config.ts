import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Engine logs (failovers injected on purpose, expected job failures) would drown the report;
    // tests that check logging inject their own sinks.
    env: { SLUICE_LOG_LEVEL: 'silent' },
  },
});
