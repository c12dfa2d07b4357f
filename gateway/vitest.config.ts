import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['src/**/*.test.ts'] } },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          // Every socket the support opens is checked against PROTOCOL.md; see @orders/test-harness's conformance checker.
          setupFiles: ['@orders/test-harness/conformance-setup'],
          // Real Redis, PostgreSQL (and Kafka for end-to-end): suites own their namespaces
          // and databases, but share two cores, and timing assertions suffer from parallelism.
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
