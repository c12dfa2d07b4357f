import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration suites start connectors and wait on Debezium; seconds are normal, minutes are not.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // They share one PostgreSQL, broker and Connect worker; running them side by side only adds noise.
    fileParallelism: false,
  },
});
