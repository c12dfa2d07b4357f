import { backoffDelay, type ResetReason, sleep } from '@orders/contract';
import {
  heartbeatGateway as heartbeat,
  type RedisKeys,
  readPartitionCount,
  type StreamEntry,
} from '@orders/contract/redis';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics.ts';
import type { HistoryReader } from './history.ts';
import { runReadLoop } from './read-loop.ts';
import { connectBlocking, type GatewayRedis } from './redis-client.ts';
import { breakAction, type StreamBreak } from './stream-break.ts';

/** Where the supervised streams deliver: the gateway's hub, seen from the stream's side. */
export interface StreamTarget {
  /** Per shard group, the epoch of the history the group's stream belongs to. */
  readonly epochs: string[];
  dispatch(entries: readonly StreamEntry[], group: number): void;
  /** The stream lost entries that history can refill: every subscription replays from its position. */
  resyncAll(): void;
  /** The stream lost entries that cannot be placed: every subscription starts over. */
  resetAll(reason: ResetReason): void;
  /** The Kafka topic's partition count as the worker published it (0: unknown). */
  partitionsKnown(count: number): void;
}

export interface SupervisorOptions {
  redis: GatewayRedis;
  /** Every shard group's keys, in group order. */
  groups: readonly RedisKeys[];
  gatewayId: string;
  history: HistoryReader;
  target: StreamTarget;
  metrics: Metrics;
  logger: Logger;
  signal: AbortSignal;
  /** @default 1000 */
  heartbeatIntervalMs?: number | undefined;
  /** The worker's gateway TTL; heartbeats half of it apart count as a lapse. @default 10000 */
  gatewayTtlMs?: number | undefined;
  /** Entries per stream read. */
  readCount?: number | undefined;
  /** How long one stream read blocks. */
  readBlockMs?: number | undefined;
}

export interface StreamSupervisor {
  /** True once every group's stream has handed over what an earlier life left pending. */
  caughtUp(): boolean;
  /** Ends every blocked read at once (their connections are destroyed) and waits for the loops. */
  stop(): Promise<void>;
}

/**
 * Keeps the gateway registered and its streams read: one read loop per shard group (each on a
 * blocking connection of its own) and the heartbeats that tell the worker this gateway is alive.
 * A heartbeat also notices what a read cannot: the stream recreated after a reap, a lapse long
 * enough for the worker to skip this gateway, an epoch changed under it. Those are flagged, and
 * the group's read loop handles them (resync or reset) before it dispatches anything newer.
 */
export async function startStreamSupervisor(options: SupervisorOptions): Promise<StreamSupervisor> {
  const { redis, groups, gatewayId, history, target, logger, signal } = options;
  const [firstGroup] = groups;
  if (firstGroup === undefined) throw new Error('a gateway reads at least one stream');
  const streamKeys = groups.map((keys) => keys.gatewayStream(gatewayId));
  // Per group: the last heartbeat's Redis time, and the break its heartbeat noticed.
  const lastBeat: number[] = [];
  for (const keys of groups) lastBeat.push((await heartbeat(redis, keys, gatewayId)).at);
  for (let group = 0; group < groups.length; group++) target.epochs[group] = await history.epoch(group);
  // The worker writes the same count into every group; until it has, fences stay on cursors.
  target.partitionsKnown(await readPartitionCount(redis, firstGroup));
  const lapseMs = (options.gatewayTtlMs ?? 10_000) / 2;
  const flagged: (StreamBreak | undefined)[] = groups.map(() => undefined);
  const flag = (group: number, gap: StreamBreak): void => {
    if (flagged[group]?.kind !== 'lapse') flagged[group] = gap;
  };
  // A blocking read holds its connection: one per group.
  const blocking: GatewayRedis[] = [];
  for (const _ of groups) blocking.push(await connectBlocking(redis, logger));

  let caughtUp = 0;
  const readLoops = groups.map((keys, group) =>
    runReadLoop({
      ...(options.readCount === undefined ? {} : { count: options.readCount }),
      ...(options.readBlockMs === undefined ? {} : { blockMs: options.readBlockMs }),
      redis,
      blocking: blocking[group] as GatewayRedis,
      streamKey: streamKeys[group] as string,
      gatewayId,
      dispatch: (entries) => target.dispatch(entries, group),
      ensureStream: async () => {
        lastBeat[group] = (await heartbeat(redis, keys, gatewayId)).at;
      },
      onBreak: async (gap, lastRead) => {
        // Every subscription has a position in every group, so a break of one group's
        // stream concerns all of them; the other groups' positions stay as they are.
        if (breakAction(gap, lastRead) === 'reset') target.resetAll('stream_gap');
        else target.resyncAll();
        // An epoch only changes with lost data, and lost data breaks the stream: look now.
        try {
          const epoch = await history.epoch(group);
          if (epoch !== target.epochs[group])
            logger.warn(
              { group, epoch, previous: target.epochs[group] },
              'stream now serves a new history epoch',
            );
          target.epochs[group] = epoch;
        } catch (error) {
          logger.warn({ err: error, group }, 'epoch check failed; the next heartbeat checks again');
        }
      },
      takeBreak: () => {
        const gap = flagged[group];
        flagged[group] = undefined;
        return gap;
      },
      onCaughtUp: () => {
        caughtUp++;
      },
      logger: groups.length === 1 ? logger : logger.child({ group }),
      metrics: options.metrics,
      signal,
    }),
  );

  const heartbeats = (async () => {
    let failures = 0;
    while (!signal.aborted) {
      await sleep(options.heartbeatIntervalMs ?? 1000, signal);
      if (signal.aborted) break;
      try {
        for (const [group, keys] of groups.entries()) {
          const beat = await heartbeat(redis, keys, gatewayId);
          // Reaped while silent, or silent long enough to be skipped: the worker wrote
          // entries to history only. Subscriptions are positioned by stream id, so replaying
          // history from there closes the gap.
          if (beat.created) flag(group, { kind: 'recreated' });
          else if (beat.at - (lastBeat[group] ?? beat.at) >= lapseMs)
            flag(group, { kind: 'lapse', at: beat.at });
          lastBeat[group] = beat.at;
          if ((await history.epoch(group)) !== target.epochs[group]) flag(group, { kind: 'epoch' });
        }
        target.partitionsKnown(await readPartitionCount(redis, firstGroup));
        failures = 0;
        await updateLag(redis, streamKeys, options.metrics);
      } catch (error) {
        logger.warn({ err: error }, 'heartbeat failed');
        await sleep(backoffDelay(failures++, 100, 2000), signal);
      }
    }
  })();

  return {
    caughtUp: () => caughtUp === groups.length,
    async stop() {
      // A blocked XREADGROUP holds its connection; destroying it ends the read at once.
      for (const connection of blocking) connection.destroy();
      await Promise.allSettled([...readLoops, heartbeats]);
    },
  };
}

/** Lag and pending entries of this gateway's streams (summed over shard groups). */
async function updateLag(redis: GatewayRedis, streamKeys: readonly string[], metrics: Metrics) {
  let lag = 0;
  let pending = 0;
  let seen = false;
  for (const streamKey of streamKeys) {
    const groups = (await redis.xInfoGroups(streamKey)) as unknown as Record<string, unknown>[];
    const group = groups[0];
    if (group === undefined) continue;
    seen = true;
    lag += Number(group.lag);
    pending += Number(group.pending);
  }
  if (!seen) return;
  if (Number.isFinite(lag)) metrics.streamLag.set(lag);
  if (Number.isFinite(pending)) metrics.streamPending.set(pending);
}
