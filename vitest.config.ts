import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Engine logs go to stderr as JSON; tests only want warnings and errors.
    env: { SLUICE_LOG_LEVEL: 'warn' },
  },
});
