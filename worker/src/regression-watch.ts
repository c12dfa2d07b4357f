/**
 * A partition that forwards nothing would never notice Redis going back in time, and its
 * clients would sit on a history that lost entries. So the marks this worker wrote are
 * compared with Redis every `everyMs`; a loss rotates the epoch at once. The partition's next
 * forward then finds the same loss (covered by that rotation) and re-reads the window from
 * Kafka.
 */
import { sleep } from '@orders/contract';
import type { Logger } from 'pino';
import type { Forwarder } from './forward.ts';
import type { WorkerMetrics } from './metrics.ts';

export async function watchRegressions(
  forwarder: Forwarder,
  everyMs: number,
  signal: AbortSignal,
  metrics: WorkerMetrics,
  logger: Logger,
): Promise<void> {
  while (!signal.aborted) {
    await sleep(everyMs, signal).catch(() => {});
    if (signal.aborted) return;
    try {
      for (const regression of await forwarder.checkWritten()) {
        if (!regression.rotated) continue;
        metrics.epochRotations.inc({ topic: regression.topic });
        logger.error(
          { partition: regression.partition, mark: regression.mark },
          'Redis lost writes of this partition: history has a new epoch, subscriptions reset',
        );
      }
    } catch (error) {
      logger.warn({ err: error }, 'comparing written marks with Redis failed; trying again');
    }
  }
}
