import { GATEWAY_GROUP } from '@orders/worker/contract';
import type { Logger } from 'pino';
import { backoffDelay, sleep } from '../backoff.ts';
import type { Metrics } from '../metrics.ts';
import { type ChangeEntry, parseChangeEntry } from './change-entry.ts';
import type { RedisClient } from './redis-client.ts';

export interface ReadLoopOptions {
  /** Client for acknowledgements and claims (never blocked). */
  redis: RedisClient;
  /** Dedicated connection: a blocking read holds its socket until it returns. */
  blocking: RedisClient;
  streamKey: string;
  gatewayId: string;
  /** Hands entries to the sockets; synchronous, so acknowledging afterwards is safe. */
  dispatch(entries: ChangeEntry[]): void;
  /** Recreates the stream and group after the worker reaped them (NOGROUP). */
  ensureStream(): Promise<void>;
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
 * restart with the same id), then idle ones of any other consumer, then new ones.
 */
export async function runReadLoop(options: ReadLoopOptions): Promise<void> {
  const { redis, blocking, streamKey, gatewayId, signal, logger } = options;
  const count = options.count ?? 500;
  const blockMs = options.blockMs ?? 2000;
  const claimIdleMs = options.claimIdleMs ?? 30_000;

  const handOver = (messages: readonly (RawMessage | null)[]): void => {
    const entries: ChangeEntry[] = [];
    const ids: string[] = [];
    for (const message of messages) {
      if (message === null) continue;
      ids.push(message.id);
      const parsed = parseChangeEntry(message.id, message.message);
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
    options.dispatch(entries);
    const now = Date.now();
    for (const entry of entries)
      options.metrics.commitToDispatch.observe((now - entry.change.committedAt) / 1000);
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
      if (reply === null) continue;
      for (const stream of reply as unknown as { messages: RawMessage[] }[]) handOver(stream.messages);
    } catch (error) {
      if (signal.aborted) break;
      if (error instanceof Error && error.message.includes('NOGROUP')) {
        logger.warn('gateway stream or group missing; recreating');
        await options
          .ensureStream()
          .catch((e: unknown) => logger.error({ err: e }, 'recreating stream failed'));
      } else {
        logger.error({ err: error }, 'stream read failed');
      }
      await sleep(backoffDelay(attempt++, 100, 5000), signal);
    }
  }
}

async function drainPending(
  options: ReadLoopOptions,
  count: number,
  handOver: (messages: readonly (RawMessage | null)[]) => void,
): Promise<void> {
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
    handOver(messages);
    after = last.id;
  }
}

async function claimIdle(
  options: ReadLoopOptions,
  count: number,
  claimIdleMs: number,
  handOver: (messages: readonly (RawMessage | null)[]) => void,
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
    handOver(reply.messages as unknown as (RawMessage | null)[]);
    if (reply.nextId === '0-0') return;
    start = reply.nextId;
  }
}
