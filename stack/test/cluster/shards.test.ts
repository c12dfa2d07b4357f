/**
 * Shard groups on the Redis Cluster: the real worker and two real gateways as processes with
 * REDIS_CLUSTER and REDIS_SHARDS=3, on this file's own database, connector and topic (3
 * partitions, so one partition per group). The groups' hash tags put their keys on more than
 * one master (checked with CLUSTER KEYSLOT and CLUSTER NODES); clients subscribing while
 * changes flow end equal to PostgreSQL with nothing twice and no reset, and a client of a
 * killed gateway resumes on the other one from its vector cursor, without a snapshot.
 */

import { parseCursor } from '@orders/contract';
import { shardKeys } from '@orders/contract/redis';
import type { RedisClusterType } from 'redis';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  type ClusterSystem,
  joinWhileChangesFlow,
  resumeAfterGatewayKill,
  startClusterSystem,
} from './system.ts';

const SHARDS = 3;

let system: ClusterSystem;

beforeAll(async () => {
  system = await startClusterSystem(inject('redisCluster'), { logName: 'cluster-shards', shards: SHARDS });
});

afterEach(async () => {
  await system?.closeClients();
});

afterAll(async () => {
  // Every group's tag, on every master; the groups' keys on one master may lie in several slots.
  await system?.close(async (cluster, ns) => {
    for (const master of cluster.masters) {
      const node = await cluster.nodeClient(master);
      for await (const batch of node.scanIterator({ MATCH: `{${ns}:*`, COUNT: 1000 }))
        for (const key of batch) await node.del(key);
    }
  });
});

/** Node id → address of every master, from CLUSTER NODES. */
async function mastersByNodeId(cluster: RedisClusterType): Promise<Map<string, string>> {
  const any = cluster.masters[0];
  if (any === undefined) throw new Error('the cluster has no master');
  const text = String(await (await cluster.nodeClient(any)).sendCommand(['CLUSTER', 'NODES']));
  const masters = new Map<string, string>();
  for (const line of text.trim().split('\n')) {
    const [id, address, flags] = line.split(' ');
    if (id !== undefined && address !== undefined && flags?.split(',').includes('master'))
      masters.set(id, address.split('@')[0] ?? address);
  }
  return masters;
}

/** The master (address) serving `slot`, from CLUSTER NODES' slot ranges. */
async function masterOfSlot(cluster: RedisClusterType, slot: number): Promise<string> {
  const any = cluster.masters[0];
  if (any === undefined) throw new Error('the cluster has no master');
  const text = String(await (await cluster.nodeClient(any)).sendCommand(['CLUSTER', 'NODES']));
  const masters = await mastersByNodeId(cluster);
  for (const line of text.trim().split('\n')) {
    const fields = line.split(' ');
    const address = masters.get(fields[0] ?? '');
    if (address === undefined) continue;
    for (const range of fields.slice(8)) {
      if (range.startsWith('[')) continue;
      const [from, to] = range.split('-').map(Number);
      if (from !== undefined && slot >= from && slot <= (to ?? from)) return address;
    }
  }
  throw new Error(`no master serves slot ${slot}`);
}

describe('shard groups on a Redis Cluster (REDIS_CLUSTER, REDIS_SHARDS=3)', () => {
  it('snapshot + live with vector cursors: clients end equal to PostgreSQL, nothing twice, no reset; the groups live on more than one master', async () => {
    const { cluster, pipeline } = system;
    const joined = await joinWhileChangesFlow(system);
    const all = joined.find((c) => c.name === 'all');
    const cursor = parseCursor(all?.cursor ?? '');
    expect(cursor.kind === 'vector' ? cursor.cursors.length : 0).toBe(SHARDS);

    // Each group's keys share one slot; the groups' slots are served by more than one master,
    // and every group's history there holds changes.
    const groups = shardKeys(pipeline.ns, SHARDS);
    const any = cluster.masters[0];
    if (any === undefined) throw new Error('the cluster has no master');
    const node = await cluster.nodeClient(any);
    const owners: string[] = [];
    for (const keys of groups) {
      const slots = new Set<number>();
      for (const key of [keys.history, keys.gateways, keys.highWater, keys.epoch, keys.gatewayStream('x')])
        slots.add(Number(await node.sendCommand(['CLUSTER', 'KEYSLOT', key])));
      expect(slots.size).toBe(1);
      const owner = await masterOfSlot(cluster, [...slots][0] ?? -1);
      owners.push(owner);
      const ownerNode = cluster.masters.find((m) => m.address === owner);
      if (ownerNode === undefined) throw new Error(`${owner} is not a master the client knows`);
      expect(await (await cluster.nodeClient(ownerNode)).xLen(keys.history)).toBeGreaterThan(0);
    }
    expect(new Set(owners).size).toBeGreaterThan(1);
  });

  it('a client of a gateway killed with SIGKILL resumes on the other gateway from its vector cursor, without a snapshot', async () => {
    await resumeAfterGatewayKill(system);
  });
});
