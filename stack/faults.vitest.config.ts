import { defineConfig } from 'vitest/config';
import { CONNECT_URL, KAFKA_BROKERS } from './test/faults/private-stack.ts';

/**
 * End-to-end fault injection against a private stack (own broker, Connect, Redis, database,
 * worker and gateways). Files run one after another: they share the private broker and Connect.
 */
export default defineConfig({
  test: {
    include: ['stack/test/faults/**/*.test.ts'],
    globalSetup: ['stack/test/faults/global-setup.ts'],
    // The drizzle test helpers read these: connectors and topics go to the private stack.
    env: { KAFKA_BROKERS, CONNECT_URL },
    testTimeout: 300_000,
    hookTimeout: 300_000,
    fileParallelism: false,
    sequence: { concurrent: false },
  },
});
