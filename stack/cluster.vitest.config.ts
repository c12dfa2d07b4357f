import { defineConfig } from 'vitest/config';

/**
 * The worker and gateways in cluster mode (REDIS_CLUSTER) against the local Redis Cluster,
 * which the global setup starts when it is not running. Kafka, Connect and PostgreSQL are the
 * shared stack's (npm run stack:up); every file uses its own topic, database and namespace.
 */
export default defineConfig({
  test: {
    include: ['stack/test/cluster/**/*.test.ts'],
    globalSetup: ['stack/test/cluster/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    fileParallelism: false,
  },
});
