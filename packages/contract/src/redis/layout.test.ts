import { describe, expect, it } from 'vitest';
import { MAX_SHARDS, parseShardCount, redisKeys, shardKeys, shardOf } from './layout.ts';

/** Redis Cluster's key slot: CRC16 (XMODEM) of the hash tag, modulo 16384. */
function keySlot(key: string): number {
  const open = key.indexOf('{');
  const close = open < 0 ? -1 : key.indexOf('}', open + 1);
  const hashed = close > open + 1 ? key.slice(open + 1, close) : key;
  let crc = 0;
  for (const byte of Buffer.from(hashed)) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}

function allKeys(keys: ReturnType<typeof redisKeys>): string[] {
  return [keys.history, keys.gateways, keys.highWater, keys.sourceMark, keys.epoch, keys.gatewayStream('g1')];
}

describe('shard groups', () => {
  it('one group is exactly the unsharded layout', () => {
    const [only, ...rest] = shardKeys('orders', 1);
    expect(rest).toEqual([]);
    expect(allKeys(only as ReturnType<typeof redisKeys>)).toEqual(allKeys(redisKeys('orders')));
    expect(redisKeys('orders').history).toBe('{orders}:history');
  });

  it('gives every group its own hash tag and every key of a group one slot', () => {
    const groups = shardKeys('orders', 3);
    expect(groups.map((k) => k.history)).toEqual([
      '{orders:0}:history',
      '{orders:1}:history',
      '{orders:2}:history',
    ]);
    const slots = groups.map((keys) => {
      const inGroup = new Set(allKeys(keys).map(keySlot));
      expect(inGroup.size).toBe(1);
      return [...inGroup][0];
    });
    expect(new Set(slots).size).toBe(3);
    // The default 3-master split (0-5460, 5461-10922, 10923-16383) puts them on more than one master.
    const master = (slot: number | undefined) => Math.floor((slot ?? 0) / 5461.34);
    expect(new Set(slots.map(master)).size).toBeGreaterThan(1);
  });

  it('maps partition p to group p mod S', () => {
    expect([0, 1, 2, 3, 4, 5].map((p) => shardOf(p, 3))).toEqual([0, 1, 2, 0, 1, 2]);
    expect([0, 1, 5].map((p) => shardOf(p, 1))).toEqual([0, 0, 0]);
  });

  it('reads REDIS_SHARDS as a positive integer, default 1', () => {
    expect(parseShardCount(undefined)).toBe(1);
    expect(parseShardCount('')).toBe(1);
    expect(parseShardCount('3')).toBe(3);
    expect(parseShardCount(String(MAX_SHARDS))).toBe(MAX_SHARDS);
    for (const bad of ['0', '-1', '1.5', 'two', '3x', '1e2', String(MAX_SHARDS + 1)]) {
      expect(() => parseShardCount(bad)).toThrow(/REDIS_SHARDS must be a positive integer/);
    }
    expect(() => shardKeys('orders', 0)).toThrow();
  });
});
