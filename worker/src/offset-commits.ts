/**
 * Kafka commits of what the partitions resolved: at most every `intervalMs`, always before a
 * graceful stop and when a rebalance starts, and with replicas required, only once they hold
 * the writes. A topic gone quiet has its last records committed one interval after they were
 * resolved, so the group's lag reads zero when everything is forwarded.
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
  /**
   * Commits when the interval has passed since the last commit; otherwise one interval later,
   * unless another batch arrives first.
   */
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
  let idle: NodeJS.Timeout | undefined;

  /*
   * Without more batches nothing would commit what the last one resolved: the offsets stay
   * uncommitted until the next record or a stop, and the group shows lag that is not there.
   * A commit that loses to a rebalance is refused by the broker (old generation) and harmless.
   */
  function commitWhenIdle(): void {
    clearTimeout(idle);
    if (options.intervalMs <= 0) return;
    idle = setTimeout(() => {
      if (latest === undefined || Date.now() - lastCommitAt < options.intervalMs) return;
      commit(latest).catch((error: unknown) =>
        logger.debug({ err: error }, 'commit of a quiet topic failed; the next batch commits'),
      );
    }, options.intervalMs);
    idle.unref();
  }

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
      commitWhenIdle();
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
    commitLatest() {
      clearTimeout(idle);
      return latest === undefined ? Promise.resolve() : commit(latest);
    },
  };
}
