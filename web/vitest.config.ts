import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    environment: 'node',
    // The suite starts a CDC pipeline, a worker, two gateways and a browser: minutes, not seconds.
    testTimeout: 180_000,
    hookTimeout: 240_000,
    // One real stack at a time; two suites side by side would only measure each other.
    fileParallelism: false,
  },
});
