/**
 * A master of the local cluster killed under a running cluster-mode gateway, then restarted
 * empty (the nodes keep no data): the gateway must stay up, name the node in its errors, report
 * not ready while the master is gone, and once it is back recreate its stream and resync, as it
 * does when a single Redis restarts. Other files' keys on that master are lost too, which is why
 * every file of this suite cleans up its own namespace and none runs beside another.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { newNamespace } from '@orders/drizzle/testing';
import type { RedisClusterType } from 'redis';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { freePort, Service } from '../faults/child-process.ts';
import { clusterScript, connectCluster, dropNamespace, ownerOf, repoRoot } from './local-cluster.ts';

const ns = `cl${newNamespace()}`;
let cluster: RedisClusterType;
let gateway: Service;
let port: number;
let logFile: string;

const readyz = () =>
  fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2000) }).then(
    (r) => r.status,
    () => 0,
  );
const log = () => readFileSync(logFile, 'utf8');

beforeAll(async () => {
  const seeds = inject('redisCluster');
  cluster = await connectCluster(seeds);
  const logDir = join(repoRoot, 'test-artifacts', `cluster-${ns}`);
  mkdirSync(logDir, { recursive: true });
  logFile = join(logDir, 'gateway.log');
  port = await freePort();
  gateway = new Service({
    name: 'gateway',
    command: process.execPath,
    args: ['--import', 'tsx', 'src/main.ts'],
    cwd: join(repoRoot, 'gateway'),
    env: {
      PATH: process.env.PATH,
      GATEWAY_ID: `gw-${ns}`,
      PORT: String(port),
      AUTH_MODE: 'development',
      REDIS_CLUSTER: seeds.join(','),
      REDIS_NS: ns,
      GATEWAY_HEARTBEAT_MS: '500',
      LOG_LEVEL: 'info',
    },
    logFile,
    ready: async () => (await readyz()) === 200,
  });
  await gateway.start();
});

afterAll(async () => {
  await gateway?.close();
  if (cluster !== undefined) {
    await dropNamespace(cluster, ns).catch(() => {});
    await cluster.close();
  }
});

async function until(
  check: () => Promise<boolean> | boolean,
  what: string,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

it('a gateway outlives the loss of the master holding its keys: not ready while it is gone, then resyncs', async () => {
  const owner = await ownerOf(cluster, ns);
  const info = String(await (await cluster.nodeClient(owner)).sendCommand(['INFO', 'server']));
  const pid = Number(/process_id:(\d+)/.exec(info)?.[1]);
  expect(pid).toBeGreaterThan(0);
  process.kill(pid, 'SIGKILL');

  await until(async () => (await readyz()) === 503, '/readyz to answer 503');
  // Errors name the node that is gone, on the shared and on the blocking connection.
  await until(
    () => log().includes(`"node":"${owner.address}"`) && log().includes('blocking redis connection error'),
    'connection errors naming the node',
  );

  await clusterScript('up');
  await until(async () => (await readyz()) === 200, '/readyz to answer 200 again');
  // The node came back empty: the gateway's stream and group are gone, so it recreates them
  // and resyncs its subscriptions from history rather than missing anything silently.
  await until(() => log().includes('gateway stream broken'), 'the stream break to be handled');
  expect(log()).toMatch(/"gap":\{"kind":"recreated"\}/);
  expect(gateway.unexpectedExits).toBe(0);
});
