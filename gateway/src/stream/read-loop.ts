import { backoffDelay, ORIGIN_ID, sleep } from '@orders/contract';
import { GATEWAY_GROUP, isMarker, parseStreamEntry, type StreamEntry } from '@orders/contract/redis';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics.ts';
import type { GatewayRedis } from './redis-client.ts';
import { observeStages, type ReadClock, readClock } from './stage-latency.ts';
import type { StreamBreak } from './stream-break.ts';

export interface ReadLoopOptions {
  /** Client for acknowledgements and claims (never blocked). */
  redis: GatewayRedis;
  /** Dedicated connection: a blocking read holds its socket until it returns. */
  blocking: GatewayRedis;
  streamKey: string;
  gatewayId: string;
  /** Hands entries to the sockets; synchronous, so acknowledging afterwards is safe. */
  dispatch(entries: StreamEntry[]): void;
  /** Recreates the stream and group after the worker reaped them (NOGROUP). */
  ensureStream(): Promise<void>;
  /**
   * Handles a break of the stream before anything after it is dispatched. `lastRead` is the
   * last entry read before the break (undefined when unknown).
   */
  onBreak(gap: StreamBreak, lastRead: string | undefined): Promise<void>;
  /** A break noticed elsewhere (heartbeat, epoch check), handled before the next dispatch. */
  takeBreak(): StreamBreak | undefined;
  /** Called once the backlog from a previous life has been handed over. */
  onCaughtUp(): void;
  logger: Logger;
  metrics: Metrics;
  signal: AbortSignal;
  /** @default 500 */
  count?: number;
  /** @default 2000 */
  blockMs?: number;
  /** Entries pending this long for another consumer are claimed. @default 30000 */
  claimIdleMs?: number;
}

interface RawMessage {
  id: string;
  message: Record<string, string>;
}

/**
 * Reads this gateway's stream until the signal aborts: first its own pending entries (a
 * restart with the same id), then idle ones of any other consumer, then new ones. New
 * entries are checked against their predecessor: a hole is a break, handled (subscriptions
 * resync from history) before the entry after it is dispatched.
 */
export async function runReadLoop(options: ReadLoopOptions): Promise<void> {
  const { redis, blocking, streamKey, gatewayId, signal, logger } = options;
  const count = options.count ?? 500;
  const blockMs = options.blockMs ?? 2000;
  const claimIdleMs = options.claimIdleMs ?? 30_000;
  // The last entry read from the stream as delivered to the group; entries name theirs.
  let lastRead: string | undefined;

  const dispatch = (entries: StreamEntry[], read: ReadClock): void => {
    if (entries.length === 0) return;
    options.dispatch(entries);
    const now = observeStages(options.metrics, entries, read);
    for (const entry of entries)
      if (!isMarker(entry)) options.metrics.commitToDispatch.observe((now - entry.change.committedAt) / 1000);
  };

  const handleBreak = async (gap: StreamBreak): Promise<void> => {
    options.metrics.streamBreaks.inc({ kind: gap.kind });
    logger.warn({ gap, lastRead }, 'gateway stream broken; subscriptions resync from history');
    await options.onBreak(gap, lastRead);
  };

  /** `live`: entries new to the group, checked against their predecessor. */
  const handOver = async (messages: readonly (RawMessage | null)[], live: boolean): Promise<void> => {
    const read = readClock();
    const flagged = options.takeBreak();
    if (flagged !== undefined) await handleBreak(flagged);
    let entries: StreamEntry[] = [];
    const ids: string[] = [];
    for (const message of messages) {
      if (message === null) continue;
      ids.push(message.id);
      const parsed = parseStreamEntry(message.id, message.message);
      if (live) {
        // Without a predecessor (older workers) there is nothing to check.
        if (parsed.prev !== undefined && lastRead !== undefined && parsed.prev !== lastRead) {
          dispatch(entries, read);
          entries = [];
          await handleBreak({ kind: 'predecessor', expected: lastRead, found: parsed.prev, id: message.id });
        }
        lastRead = message.id;
      }
      if (parsed.ok) {
        entries.push(parsed.entry);
      } else {
        options.metrics.invalidEntries.inc();
        logger.error(
          { id: parsed.id, reason: parsed.reason },
          'invalid stream entry acknowledged and skipped',
        );
      }
    }
    if (ids.length === 0) return;
    options.metrics.eventsRead.inc(ids.length);
    dispatch(entries, read);
    // Not awaited: the next read need not wait for it, and an entry left pending is only
    // re-read by this gateway's next life, where nobody is subscribed yet.
    redis.xAck(streamKey, GATEWAY_GROUP, ids).catch((error: unknown) => {
      logger.warn({ err: error }, 'XACK failed');
    });
  };

  let attempt = 0;
  let caughtUp = false;
  while (!signal.aborted) {
    try {
      if (!caughtUp) {
        await drainPending(options, count, handOver);
        await claimIdle(options, count, claimIdleMs, handOver);
        lastRead = await lastDelivered(redis, streamKey);
        caughtUp = true;
        options.onCaughtUp();
        logger.info('gateway stream caught up; reading live');
      }
      const reply = await blocking.xReadGroup(
        GATEWAY_GROUP,
        gatewayId,
        { key: streamKey, id: '>' },
        { COUNT: count, BLOCK: blockMs },
      );
      attempt = 0;
      if (reply === null) {
        const flagged = options.takeBreak();
        if (flagged !== undefined) await handleBreak(flagged);
        continue;
      }
      for (const stream of reply as unknown as { messages: RawMessage[] }[])
        await handOver(stream.messages, true);
    } catch (error) {
      if (signal.aborted) break;
      // NOGROUP: the stream or group is gone; UNBLOCKED: it was deleted under a blocked read.
      if (error instanceof Error && /NOGROUP|UNBLOCKED/.test(error.message)) {
        logger.warn({ reason: error.message }, 'gateway stream or group missing; recreating');
        try {
          await options.ensureStream();
          // Nothing of the new stream has been read: its first entry names the origin.
          lastRead = ORIGIN_ID;
          await handleBreak({ kind: 'recreated' });
        } catch (e) {
          logger.error({ err: e }, 'recreating stream failed');
        }
      } else {
        logger.error({ err: error }, 'stream read failed');
      }
      await sleep(backoffDelay(attempt++, 100, 5000), signal);
    }
  }
}

/** The group's last delivered id: the predecessor the next new entry names, if nothing was lost. */
async function lastDelivered(redis: GatewayRedis, streamKey: string): Promise<string | undefined> {
  const groups = (await redis.xInfoGroups(streamKey)) as unknown as Record<string, unknown>[];
  const group = groups.find((g) => g.name === GATEWAY_GROUP);
  const id = group?.['last-delivered-id'];
  return typeof id === 'string' ? id : undefined;
}

type HandOver = (messages: readonly (RawMessage | null)[], live: boolean) => Promise<void>;

async function drainPending(options: ReadLoopOptions, count: number, handOver: HandOver): Promise<void> {
  let after = '0';
  for (;;) {
    const reply = await options.redis.xReadGroup(
      GATEWAY_GROUP,
      options.gatewayId,
      { key: options.streamKey, id: after },
      { COUNT: count },
    );
    const messages = ((reply ?? []) as unknown as { messages: RawMessage[] }[]).flatMap((s) => s.messages);
    const last = messages.at(-1);
    if (last === undefined) return;
    options.logger.info({ count: messages.length, from: messages[0]?.id }, 'draining pending entries');
    await handOver(messages, false);
    after = last.id;
  }
}

async function claimIdle(
  options: ReadLoopOptions,
  count: number,
  claimIdleMs: number,
  handOver: HandOver,
): Promise<void> {
  let start = '0-0';
  for (;;) {
    const reply = await options.redis.xAutoClaim(
      options.streamKey,
      GATEWAY_GROUP,
      options.gatewayId,
      claimIdleMs,
      start,
      { COUNT: count },
    );
    await handOver(reply.messages as unknown as (RawMessage | null)[], false);
    if (reply.nextId === '0-0') return;
    start = reply.nextId;
  }
}
