import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['stack/test/**/*.test.ts'],
    // The fault-injection and cluster suites have their own configs (faults.vitest.config.ts,
    // cluster.vitest.config.ts).
    exclude: ['stack/test/faults/**', 'stack/test/cluster/**', '**/node_modules/**'],
    // Two JVMs start (and Maven may run) on shared cores: minutes, not seconds, when busy.
    testTimeout: 600_000,
    hookTimeout: 180_000,
    fileParallelism: false,
  },
});
