/** Reading what the worker wrote, and the exactly-once checks every suite shares. */

import {
  CHANGE_FIELD,
  ORIGIN_ID,
  PREV_FIELD,
  type RedisKeys,
  type StreamChange,
} from '@orders/contract/redis';
import type { Admin } from 'kafkajs';
import { expect } from 'vitest';
import type { TestRedis } from './services.ts';

export interface Entry {
  id: string;
  change: StreamChange;
}

export async function readStream(redis: TestRedis, key: string): Promise<Entry[]> {
  const entries: Entry[] = [];
  let start = '-';
  for (;;) {
    const page = (await redis.xRange(key, start, '+', { COUNT: 5_000 })) ?? [];
    for (const { id, message } of page) {
      const raw = message[CHANGE_FIELD];
      if (raw === undefined) throw new Error(`entry ${id} of ${key} has no ${CHANGE_FIELD} field`);
      entries.push({ id, change: JSON.parse(raw) as StreamChange });
    }
    const last = page.at(-1);
    if (page.length < 5_000 || last === undefined) return entries;
    start = `(${last.id}`;
  }
}

export interface RawEntry {
  id: string;
  fields: Record<string, string>;
}

/** Entries from `start` on with their fields as stored: changes, reset markers, predecessor ids. */
export async function readRaw(redis: TestRedis, key: string, start = '-'): Promise<RawEntry[]> {
  const page = (await redis.xRange(key, start, '+')) ?? [];
  return page.map(({ id, message }) => ({ id, fields: { ...message } }));
}

/**
 * Each entry of a gateway stream names the one before it (`p`), the first one `0-0`;
 * from `origin` on when the stream is checked from the middle.
 */
export function expectPredecessorChain(entries: RawEntry[], origin = ORIGIN_ID): void {
  let previous = origin;
  for (const entry of entries) {
    expect(entry.fields[PREV_FIELD], `predecessor of ${entry.id}`).toBe(previous);
    previous = entry.id;
  }
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  timeoutMs = 60_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export async function waitForLength(redis: TestRedis, key: string, length: number, timeoutMs = 120_000) {
  return waitFor(
    `${key} to reach ${length} entries`,
    async () => (await redis.xLen(key)) >= length,
    timeoutMs,
  );
}

/**
 * Waits until the group has committed every record of the topic: each record was forwarded (or
 * found already forwarded) before its offset was committed, so nothing the group still holds
 * can add to the streams after this, and a late duplicate would already be there.
 */
export async function waitForAllCommitted(
  admin: Admin,
  where: { group: string; topic: string },
  what: string,
  timeoutMs = 120_000,
) {
  return waitFor(
    what,
    async () => {
      const ends = await admin.fetchTopicOffsets(where.topic);
      const [committed] = await admin.fetchOffsets({ groupId: where.group, topics: [where.topic] });
      const at = new Map((committed?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
      return ends.every((end) => at.get(end.partition) === BigInt(end.high));
    },
    timeoutMs,
  );
}

const changeKey = (c: StreamChange) => `${c.row.id}:${c.row.version}:${c.op}`;

/**
 * Every expected (order, version, op) exactly once, versions strictly increasing per order,
 * and — when `sameAs` is given — the very same ids and payloads as that stream (history).
 */
export function expectExactlyOnce(entries: Entry[], expected: number, sameAs?: Entry[]): void {
  const seen = new Map<string, number>();
  for (const { change } of entries) seen.set(changeKey(change), (seen.get(changeKey(change)) ?? 0) + 1);
  const duplicates = [...seen].filter(([, n]) => n > 1).map(([k]) => k);
  expect(duplicates, 'duplicated changes').toEqual([]);
  expect(entries.length, 'number of changes').toBe(expected);

  const versions = new Map<number, number>();
  for (const { change } of entries) {
    const previous = versions.get(change.row.id) ?? 0;
    const ok = change.op === 'delete' ? change.row.version >= previous : change.row.version > previous;
    expect(ok, `order ${change.row.id}: version ${change.row.version} after ${previous}`).toBe(true);
    versions.set(change.row.id, change.row.version);
  }

  if (sameAs) {
    expect(entries.map((e) => e.id)).toEqual(sameAs.map((e) => e.id));
    expect(entries.map((e) => changeKey(e.change))).toEqual(sameAs.map((e) => changeKey(e.change)));
  }
}

/** Each gateway's stream holds exactly the history: the same changes under the same ids. */
export async function expectGatewaysMatch(
  redis: TestRedis,
  keys: RedisKeys,
  gateways: string[],
  expected: number,
  history: Entry[],
): Promise<void> {
  for (const gateway of gateways) {
    expectExactlyOnce(await readStream(redis, keys.gatewayStream(gateway)), expected, history);
  }
}
