/**
 * The local Redis Cluster from the suite's side: its seed nodes, the stack script that runs
 * it, a cluster client, and key clean-up, which must visit every master (a SCAN only ever
 * sees the keys of the node it runs on).
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createRedisConnection, isCluster } from '@orders/redis';
import { pino } from 'pino';
import type { RedisClusterType } from 'redis';

const run = promisify(execFile);
export const repoRoot = join(import.meta.dirname, '..', '..', '..');

export async function clusterScript(command: 'up' | 'down' | 'status' | 'seeds'): Promise<string> {
  try {
    const r = await run('bash', [join(repoRoot, 'stack', 'cluster'), command], { cwd: repoRoot });
    return r.stdout + r.stderr;
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`stack/cluster ${command} failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}

/** A connected cluster client, built the way the worker and the gateways build theirs. */
export async function connectCluster(seeds: string[]): Promise<RedisClusterType> {
  const redis = createRedisConnection(
    { kind: 'cluster', seeds },
    { logger: pino({ level: 'silent' }), message: 'redis error' },
  );
  if (!isCluster(redis)) throw new Error('expected a cluster client');
  try {
    await redis.connect();
  } catch (error) {
    throw new Error(`the Redis Cluster at ${seeds.join(',')} is required (npm run stack:cluster:up)`, {
      cause: error,
    });
  }
  return redis;
}

/** Per master, the keys of namespace `ns` it holds. */
export async function keysPerMaster(cluster: RedisClusterType, ns: string): Promise<Map<string, string[]>> {
  const found = new Map<string, string[]>();
  for (const master of cluster.masters) {
    const node = await cluster.nodeClient(master);
    const keys: string[] = [];
    for await (const batch of node.scanIterator({ MATCH: `{${ns}}*`, COUNT: 1000 })) keys.push(...batch);
    found.set(master.address, keys);
  }
  return found;
}

/** Deletes every key of namespace `ns` on every master. */
export async function dropNamespace(cluster: RedisClusterType, ns: string): Promise<void> {
  for (const master of cluster.masters) {
    const node = await cluster.nodeClient(master);
    for await (const batch of node.scanIterator({ MATCH: `{${ns}}*`, COUNT: 1000 }))
      if (batch.length > 0) await node.del(batch);
  }
}

/** The master owning the slot of namespace `ns` (its `{ns}` hash tag). */
export async function ownerOf(cluster: RedisClusterType, ns: string) {
  const any = cluster.masters[0];
  if (any === undefined) throw new Error('the cluster has no master');
  const slot = Number(await (await cluster.nodeClient(any)).sendCommand(['CLUSTER', 'KEYSLOT', `{${ns}}`]));
  const owner = cluster.slots[slot]?.master;
  if (owner === undefined) throw new Error(`slot ${slot} has no master`);
  return owner;
}

/**
 * Moves the slot of namespace `ns`, with its keys, to master `to`: the way a resharding moves
 * it (IMPORTING / MIGRATING, MIGRATE, SETSLOT NODE on every master).
 */
export async function moveSlot(cluster: RedisClusterType, ns: string, to: string): Promise<void> {
  const from = await ownerOf(cluster, ns);
  const target = cluster.masters.find((m) => m.address === to);
  if (target === undefined || target.address === from.address) throw new Error(`cannot move to ${to}`);
  const source = await cluster.nodeClient(from);
  const destination = await cluster.nodeClient(target);
  const slot = String(await source.sendCommand(['CLUSTER', 'KEYSLOT', `{${ns}}`]));
  await destination.sendCommand(['CLUSTER', 'SETSLOT', slot, 'IMPORTING', from.id]);
  await source.sendCommand(['CLUSTER', 'SETSLOT', slot, 'MIGRATING', target.id]);
  for (;;) {
    const keys = (await source.sendCommand(['CLUSTER', 'GETKEYSINSLOT', slot, '100'])) as string[];
    if (keys.length === 0) break;
    await source.sendCommand(['MIGRATE', target.host, String(target.port), '', '0', '5000', 'KEYS', ...keys]);
  }
  for (const node of [destination, source])
    await node.sendCommand(['CLUSTER', 'SETSLOT', slot, 'NODE', target.id]);
  for (const master of cluster.masters)
    await (await cluster.nodeClient(master)).sendCommand(['CLUSTER', 'SETSLOT', slot, 'NODE', target.id]);
}
