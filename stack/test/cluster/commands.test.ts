/**
 * Every kind of command the worker and the gateways send, through the same clients they build,
 * against the local Redis Cluster: the Lua scripts (EVALSHA falling back to EVAL, keys the
 * forward script discovers itself), the consumer-group reads and acknowledgements, and a
 * blocking XREADGROUP that must not hold up anything else.
 */
import {
  GATEWAY_GROUP,
  heartbeatGateway,
  liveGateways,
  reapGateways,
  redisKeys,
  type StreamChange,
} from '@orders/contract/redis';
import { connectBlocking, createHistoryReader } from '@orders/gateway/testing';
import { newNamespace } from '@orders/test-harness';
import { createForwarder } from '@orders/worker';
import { forwardChanges } from '@orders/worker/testing';
import { pino } from 'pino';
import type { RedisClusterType } from 'redis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { connectCluster, dropNamespace, keysPerMaster, moveSlot, ownerOf } from './local-cluster.ts';

const ns = `cl${newNamespace()}`;
const keys = redisKeys(ns);
let cluster: RedisClusterType;

function change(id: number, version: number): StreamChange {
  const at = new Date().toISOString();
  return {
    op: version === 1 ? 'insert' : 'update',
    row: {
      id,
      customerName: 'Alice',
      productName: 'widget',
      status: 'pending',
      version,
      createdAt: at,
      updatedAt: at,
    },
    before: null,
    committedAt: Date.now(),
    lsn: String(id * 100 + version),
    kafka: { topic: `${ns}.orders`, partition: 0, offset: String(id), timestamp: Date.now() },
  };
}

beforeAll(async () => {
  cluster = await connectCluster(inject('redisCluster'));
});
afterAll(async () => {
  if (cluster === undefined) return;
  await dropNamespace(cluster, ns);
  await cluster.close();
});

describe('the services’ Redis commands on a 3-master cluster', () => {
  it('scripts, stream appends and group reads work, and every key of a namespace lands on one master', async () => {
    expect(cluster.masters.length).toBeGreaterThanOrEqual(3);
    // Registry scripts (EVALSHA, NOSCRIPT → EVAL): ZADD plus XGROUP CREATE MKSTREAM.
    expect((await heartbeatGateway(cluster, keys, 'gw-1')).created).toBe(true);
    expect(await liveGateways(cluster, keys, 10_000)).toEqual(['gw-1']);
    // The forward script appends to history and to gateway streams it finds in the registry.
    const forwarder = createForwarder(
      cluster,
      keys,
      { gatewayTtlMs: 10_000, historyMaxlen: 1000, gatewayMaxlen: 1000 },
      'cluster-test',
    );
    const result = await forwardChanges(forwarder, `${ns}.orders`, 0, '2', [
      change(1, 1),
      change(2, 1),
      change(1, 2),
    ]);
    expect(result.ids).toHaveLength(3);
    expect(result.gateways).toBe(1);
    // The same records again: the mark skips them, as after a Kafka redelivery.
    expect((await forwardChanges(forwarder, `${ns}.orders`, 0, '2', [change(1, 2)])).skipped).toBe(1);

    // The gateway's history page script (XINFO, XRANGE in Lua).
    const history = createHistoryReader(cluster, keys.history, keys.epoch);
    const page = await history.page('0-0', 10);
    expect(page.status).toBe('ok');
    expect(page.entries.map((e) => e.id)).toEqual(result.ids);
    expect(page.lastId).toBe(result.ids[2]);

    // Group reads and acknowledgements on the gateway stream.
    const stream = keys.gatewayStream('gw-1');
    const read = await cluster.xReadGroup(GATEWAY_GROUP, 'gw-1', { key: stream, id: '>' }, { COUNT: 10 });
    const messages = (read as unknown as { messages: { id: string }[] }[] | null)?.[0]?.messages ?? [];
    expect(messages.map((m) => m.id)).toEqual(result.ids);
    const claimed = await cluster.xAutoClaim(stream, GATEWAY_GROUP, 'gw-1', 0, '0-0', { COUNT: 10 });
    expect(claimed.messages).toHaveLength(3);
    expect(await cluster.xAck(stream, GATEWAY_GROUP, result.ids)).toBe(3);
    const groups = (await cluster.xInfoGroups(stream)) as unknown as Record<string, unknown>[];
    expect(groups[0]?.['last-delivered-id']).toBe(result.ids[2]);

    // One hash tag, one slot: all of it sits on the master owning that slot, nowhere else.
    const owner = (await ownerOf(cluster, ns)).address;
    const found = await keysPerMaster(cluster, ns);
    const holders = [...found].filter(([, k]) => k.length > 0).map(([address]) => address);
    expect(holders).toEqual([owner]);
    expect(found.get(owner)?.sort()).toEqual(
      [keys.history, keys.gateways, keys.highWater, keys.epoch, stream].sort(),
    );

    // The reaper's script deletes streams it names by prefix (not in KEYS, same slot).
    expect(await reapGateways(cluster, keys, 0)).toEqual(['gw-1']);
    expect(await cluster.exists(stream)).toBe(0);
  });

  it('a blocking XREADGROUP on the gateway’s blocking connection holds up no command on the shared client', async () => {
    await heartbeatGateway(cluster, keys, 'gw-2');
    const stream = keys.gatewayStream('gw-2');
    const blocking = await connectBlocking(cluster, pino({ level: 'silent' }));
    try {
      let returned = false;
      const read = blocking
        .xReadGroup(GATEWAY_GROUP, 'gw-2', { key: stream, id: '>' }, { COUNT: 10, BLOCK: 20_000 })
        .finally(() => {
          returned = true;
        });
      // Wait until the read is really blocked on the server, then use the shared client.
      const owner = await cluster.nodeClient(await ownerOf(cluster, ns));
      await until(async () => String(await owner.sendCommand(['CLIENT', 'LIST'])).includes('cmd=xreadgroup'));
      for (let i = 0; i < 20; i++) {
        await heartbeatGateway(cluster, keys, 'gw-2');
        await cluster.xRange(keys.history, '-', '+', { COUNT: 1 });
      }
      expect(returned).toBe(false);
      // An entry on the stream ends the read with it.
      const id = await cluster.xAdd(stream, '*', { c: 'x', p: '0-0' });
      const reply = (await read) as unknown as { messages: { id: string }[] }[] | null;
      expect(reply?.[0]?.messages.map((m) => m.id)).toEqual([id]);
    } finally {
      blocking.destroy();
    }
  });

  it('when the slot moves to another master, a blocked read ends with UNBLOCKED and the next one follows MOVED', async () => {
    const moved = `${ns}m`;
    const movedKeys = redisKeys(moved);
    await heartbeatGateway(cluster, movedKeys, 'gw-3');
    const stream = movedKeys.gatewayStream('gw-3');
    const blocking = await connectBlocking(cluster, pino({ level: 'silent' }));
    const readBlocked = () =>
      blocking.xReadGroup(GATEWAY_GROUP, 'gw-3', { key: stream, id: '>' }, { COUNT: 10, BLOCK: 30_000 }).then(
        (reply) => ({
          ids: ((reply ?? []) as unknown as { messages: { id: string }[] }[])[0]?.messages.map((m) => m.id),
        }),
        (error: unknown) => ({ error: String(error) }),
      );
    const blockedOn = async (address: string) => {
      const master = cluster.masters.find((m) => m.address === address);
      if (master === undefined) return false;
      const list = String(await (await cluster.nodeClient(master)).sendCommand(['CLIENT', 'LIST']));
      return list.includes('cmd=xreadgroup');
    };
    try {
      const first = readBlocked();
      const from = (await ownerOf(cluster, moved)).address;
      await until(() => blockedOn(from));
      const to = cluster.masters.find((m) => m.address !== from)?.address ?? '';
      await moveSlot(cluster, moved, to);
      // MIGRATE deletes the key on the old owner, which unblocks its readers with an error the
      // gateway's read loop treats as a broken stream: it resyncs from history, nothing is lost.
      expect(await first).toEqual({ error: expect.stringMatching(/UNBLOCKED/) });
      // The loop's next read meets MOVED on the old owner and blocks on the new one.
      const second = readBlocked();
      await until(() => blockedOn(to));
      // The shared client, too, still routes the slot to the old owner: MOVED, refresh, retry.
      const id = await cluster.xAdd(stream, '*', { c: 'x', p: '0-0' });
      expect(await second).toEqual({ ids: [id] });
      expect((await ownerOf(cluster, moved)).address).toBe(to);
    } finally {
      blocking.destroy();
      await dropNamespace(cluster, moved);
    }
  });
});

async function until(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
