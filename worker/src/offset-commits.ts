/**
 * Kafka commits of what the partitions resolved: at most every `intervalMs`, always before a
 * graceful stop and when a rebalance starts, and with replicas required, only once they hold
 * the writes.
 */
import type { EachBatchPayload } from 'kafkajs';
import type { Logger } from 'pino';
import type { WorkerMetrics } from './metrics.ts';

export interface Replicas {
  count: number;
  timeoutMs: number;
  /** Runs `WAIT` on the connection the scripts use; returns how many replicas acknowledged. */
  wait(count: number, timeoutMs: number): Promise<number>;
}

export interface OffsetCommits {
  /** The batch now being processed: kafkajs' resolved offsets are read through it at the end. */
  track(payload: EachBatchPayload): void;
  /** Commits the batch's resolved offsets now. */
  commit(payload: EachBatchPayload): Promise<void>;
  /** Commits when the interval has passed since the last commit. */
  commitIfDue(payload: EachBatchPayload): Promise<void>;
  /** Heartbeats; when that fails (a rebalance is starting) commits first, then rethrows. */
  heartbeat(payload: EachBatchPayload): Promise<void>;
  /** Commits through the latest batch seen: the final commit of a graceful stop. */
  commitLatest(): Promise<void>;
}

export function createOffsetCommits(options: {
  replicas: Replicas | undefined;
  metrics: WorkerMetrics;
  logger: Logger;
  /** 0: after every chunk. */
  intervalMs: number;
}): OffsetCommits {
  const { replicas, metrics, logger } = options;
  let lastCommitAt = Date.now();
  // The latest batch's handle on kafkajs' resolved-offset bookkeeping, for the final commit.
  let latest: EachBatchPayload | undefined;

  /*
   * With replicas required, a commit waits for them: an offset committed for a write only the
   * primary holds is lost for good if a replica that lacks it is promoted (the worker would
   * still notice and reset every subscription, but could not forward the window again). Too
   * few replicas put the commit off, never the forwarding: the offsets stay uncommitted, so a
   * crash redelivers more records, which the marks skip.
   */
  async function replicated(): Promise<boolean> {
    if (replicas === undefined || replicas.count === 0) return true;
    const acked = await replicas.wait(replicas.count, replicas.timeoutMs);
    if (acked >= replicas.count) return true;
    metrics.commitsDeferred.inc();
    logger.warn({ acked, required: replicas.count }, 'Redis replicas behind: Kafka commit put off');
    return false;
  }

  async function commit(payload: EachBatchPayload): Promise<void> {
    lastCommitAt = Date.now();
    if (!(await replicated())) return;
    await payload.commitOffsetsIfNecessary(payload.uncommittedOffsets());
  }

  return {
    commit,
    track(payload) {
      latest = payload;
    },
    async commitIfDue(payload) {
      if (Date.now() - lastCommitAt >= options.intervalMs) await commit(payload);
    },
    async heartbeat(payload) {
      try {
        await payload.heartbeat();
      } catch (error) {
        // A rebalance is starting: hand over what is done so the next owner redelivers less.
        await commit(payload).catch(() => {});
        throw error;
      }
    },
    commitLatest: () => (latest === undefined ? Promise.resolve() : commit(latest)),
  };
}
