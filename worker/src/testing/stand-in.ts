/**
 * The worker's real forward step with no Kafka behind it, for suites and benchmarks that feed
 * the streams themselves.
 */
import type { RedisClient, ShardedKeys, StreamChange } from '@orders/contract/redis';
import { createForwarder, type Forwarder, type ForwardRecord, type ForwardResult } from '../forward.ts';

/** The Redis connection the worker writes through (a gateway's client fits it too). */
export type WorkerRedis = RedisClient;

/**
 * Forwards changes that carry no source position, each as the Kafka record its `kafka.offset`
 * names: only the offset mark can skip them.
 */
export function forwardChanges(
  forwarder: Forwarder,
  topic: string,
  partition: number,
  throughOffset: string,
  changes: readonly StreamChange[],
): Promise<ForwardResult> {
  const records = changes.map(
    (change): ForwardRecord => ({
      offset: change.kafka.offset,
      change,
      position: null,
      snapshotRead: false,
      reset: null,
    }),
  );
  return forwarder.forwardRecords(topic, partition, throughOffset, records);
}

export interface StandInForwarder extends Forwarder {
  /** {@link forwardChanges} through this forwarder. */
  forward(
    topic: string,
    partition: number,
    throughOffset: string,
    changes: readonly StreamChange[],
  ): Promise<ForwardResult>;
}

/**
 * `source` names the stand-in, and since there is no cluster its marks get a cluster id of
 * their own. Gateways count as live for 10 s after a heartbeat, as with the worker's default.
 */
export function createStandInForwarder(
  redis: WorkerRedis,
  keys: ShardedKeys,
  source: string,
  maxlen: number,
): StandInForwarder {
  const forwarder = createForwarder(
    redis,
    keys,
    { gatewayTtlMs: 10_000, historyMaxlen: maxlen, gatewayMaxlen: maxlen },
    `${source}-cluster`,
  );
  return {
    ...forwarder,
    forward: (topic, partition, throughOffset, changes) =>
      forwardChanges(forwarder, topic, partition, throughOffset, changes),
  };
}
