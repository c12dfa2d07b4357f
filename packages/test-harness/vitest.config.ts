import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts'],
          // The checker's own sockets are checked like every other test's.
          setupFiles: ['src/conformance/setup.ts'],
        },
      },
      {
        test: {
          name: 'stack',
          include: ['test/**/*.test.ts'],
          // Integration suites start connectors and wait on Debezium; seconds are normal, minutes are not.
          testTimeout: 120_000,
          hookTimeout: 120_000,
          // They share one PostgreSQL, broker and Connect worker; running them side by side only adds noise.
          fileParallelism: false,
        },
      },
    ],
  },
});
