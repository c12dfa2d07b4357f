/**
 * The whole path in cluster mode: PostgreSQL → Debezium → Kafka (the shared stack, this file's
 * own database, connector and topic) → the real worker and two real gateways as processes,
 * configured with REDIS_CLUSTER only → protocol clients. Every client must end equal to the
 * database, with nothing twice, nothing out of order, no silent gap and no reset. The last case
 * kills the master holding the namespace and restarts it empty, so it runs last and this file
 * runs alone (the suite's files never run side by side).
 */
import { readFileSync } from 'node:fs';
import { parseCursor } from '@orders/contract';
import { redisKeys } from '@orders/contract/redis';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { expectDelivered } from '../faults/checks.ts';
import type { Service } from '../faults/child-process.ts';
import { startTraffic } from '../faults/traffic.ts';
import { clusterScript, dropNamespace, ownerOf } from './local-cluster.ts';
import {
  type ClusterSystem,
  httpUrl,
  joinWhileChangesFlow,
  resumeAfterGatewayKill,
  startClusterSystem,
  until,
  wsUrl,
} from './system.ts';

let system: ClusterSystem;

beforeAll(async () => {
  system = await startClusterSystem(inject('redisCluster'), { logName: 'cluster' });
});

afterEach(async () => {
  await system?.closeClients();
});

afterAll(async () => {
  await system?.close(dropNamespace);
});

const readyz = (gateway: Service) =>
  fetch(`${httpUrl(gateway)}/readyz`, { signal: AbortSignal.timeout(2000) }).then(
    (r) => r.status,
    () => 0,
  );
const log = (service: Service) => readFileSync(service.spec.logFile, 'utf8');

/** The history epochs `gateway`'s stream adopted after breaks, in order (its log). */
function adoptedEpochs(gateway: Service): string[] {
  return log(gateway)
    .split('\n')
    .filter((line) => line.startsWith('{') && line.includes('stream now serves a new history epoch'))
    .map((line) => (JSON.parse(line) as { epoch: string }).epoch);
}

/** The epoch of the cursor a fresh subscription on `gateway` is given. */
async function epochServed(gateway: Service): Promise<string | undefined> {
  const probe = system.client(`probe-${++probes}`, () => [wsUrl(gateway)]);
  try {
    await probe.connect();
    await until(() => probe.cursor !== undefined, 'a probe cursor', 10_000);
    const parsed = parseCursor(probe.cursor ?? '');
    return parsed.kind === 'cursor' ? parsed.cursor.epoch : undefined;
  } finally {
    await probe.close();
  }
}
let probes = 0;

describe('worker and gateways on a Redis Cluster (REDIS_CLUSTER only)', () => {
  it('snapshot + live: clients subscribing while changes flow end equal to PostgreSQL, nothing twice, no reset', async () => {
    await joinWhileChangesFlow(system);
    // The changes went through the cluster: history lives on the master owning the namespace.
    const { cluster, pipeline } = system;
    const owner = await cluster.nodeClient(await ownerOf(cluster, pipeline.ns));
    expect(await owner.xLen(redisKeys(pipeline.ns).history)).toBeGreaterThan(100);
  });

  it('a client of a gateway killed with SIGKILL resumes on the other gateway from its cursor, without a snapshot', async () => {
    await resumeAfterGatewayKill(system);
  });

  it('the worker and a gateway outlive the loss of the master holding their keys; then changes flow again', async () => {
    const { cluster, pipeline, worker } = system;
    const b = system.gateways[1];
    const owner = await ownerOf(cluster, pipeline.ns);
    const info = String(await (await cluster.nodeClient(owner)).sendCommand(['INFO', 'server']));
    process.kill(Number(/process_id:(\d+)/.exec(info)?.[1]), 'SIGKILL');

    await until(async () => (await readyz(b)) === 503, 'the gateway to report not ready');
    // Both name the node that is gone, the gateway on its shared and its blocking connection.
    const named = `"node":"${owner.address}"`;
    await until(
      () =>
        log(worker).includes(named) &&
        log(b).includes(named) &&
        log(b).includes('blocking redis connection error'),
      'connection errors naming the node',
    );

    // The node comes back empty (no persistence): a new epoch, no streams, no marks.
    await clusterScript('up');
    await until(async () => (await readyz(b)) === 200, 'the gateway to be ready again');
    await until(
      () => log(b).includes('gateway stream broken'),
      'the gateway to resync from its broken stream',
    );

    // The worker finds its writes gone and rotates the epoch, on its own schedule, and the
    // gateway's stream adopts the new epoch at its next break or heartbeat: a client subscribing
    // before that is reset when it does (the loss is still being found). One subscribing once
    // the stream serves the epoch Redis holds has nothing to be reset for.
    await until(() => log(worker).includes('history has a new epoch'), 'the worker to rotate the epoch');
    const epoch = await cluster.get(redisKeys(pipeline.ns).epoch);
    expect(epoch).toBeTruthy();
    await until(() => adoptedEpochs(b).at(-1) === epoch, 'the gateway stream to serve the epoch Redis holds');
    expect(await epochServed(b)).toBe(epoch);

    const after = system.client('after', () => [`ws://127.0.0.1:${b.spec.env.PORT}/ws`]);
    await after.connect();
    await until(() => after.cursor !== undefined, 'a snapshot after the outage');
    const traffic = startTraffic(pipeline.sql, { concurrency: 2, pauseMs: 5 });
    try {
      await traffic.after(40);
    } finally {
      await traffic.stop();
    }
    await expectDelivered([after], pipeline.sql, {
      resets: () => 'none',
      gatewayHttpUrls: [httpUrl(b)],
      timeoutMs: 60_000,
    });
    expect(after.changeFrames().length).toBeGreaterThan(0);
    expect(worker.unexpectedExits + b.unexpectedExits).toBe(0);
  });
});
