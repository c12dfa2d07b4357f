import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    // The checker's own sockets are checked like every other test's.
    setupFiles: ['src/conformance/setup.ts'],
  },
});
