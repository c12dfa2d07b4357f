/**
 * Makes sure the local Redis Cluster runs (stack/cluster, the same script as
 * `npm run stack:cluster:up`) and hands its seed nodes to the suite. A cluster that already
 * ran is left running; one this run started is stopped again at the end.
 */
import type { TestProject } from 'vitest/node';
import { clusterScript } from './local-cluster.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    redisCluster: string[];
  }
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const running = await clusterScript('status').then(
    () => true,
    () => false,
  );
  if (!running) {
    try {
      // Fails (never skips) when redis-server or redis-cli is missing: the script says which.
      await clusterScript('up');
    } catch (error) {
      // Half-started nodes must not outlive the run.
      await clusterScript('down').catch(() => {});
      throw error;
    }
  }
  project.provide('redisCluster', (await clusterScript('seeds')).trim().split(','));
  if (running) return undefined;
  return async () => {
    await clusterScript('down');
  };
}
