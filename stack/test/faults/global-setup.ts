/**
 * Starts the suite's private Kafka broker and Kafka Connect once for every file, and stops
 * them (purging their data) at the end. Logs stay in the stack home for post-mortems.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { stack } from './private-stack.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    stackHome: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const home = mkdtempSync(join(tmpdir(), 'orders-faults-'));
  const teardown = async () => {
    await stack(home, 'down', '--purge');
    console.log(`fault suite: private stack logs kept in ${join(home, 'logs')}`);
  };
  try {
    await stack(home, 'up');
  } catch (error) {
    // A half-started stack (the broker up, Connect not) must not outlive the run.
    await teardown().catch(() => {});
    throw error;
  }
  project.provide('stackHome', home);
  return teardown;
}
