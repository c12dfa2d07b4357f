export { createWorker, type Worker, type WorkerConfig, type WorkerDeps } from './consumer.ts';
export { createDeadLetterSink, type DeadLetter, type DeadLetterSink, DLQ_HEADERS } from './dead-letter.ts';
export {
  type DecodeResult,
  decodeRecord,
  type IgnoreReason,
  type KafkaCoordinates,
  type PoisonReason,
  type SourceInfo,
} from './decode.ts';
export { type Env, loadEnv, parseEnv } from './env.ts';
export {
  createForwarder,
  type Forwarder,
  type ForwardOptions,
  type ForwardRecord,
  type ForwardResult,
} from './forward.ts';
export { createHttpApp } from './http.ts';
export { createKafka } from './kafka.ts';
export { createLogger } from './logger.ts';
export { dropStaleMark, readMark } from './mark-store.ts';
export { markField, topicMarkPrefix } from './marks.ts';
export { createMetrics, type WorkerMetrics } from './metrics.ts';
export { runGatewayReaper } from './reaper.ts';
export { type SourcePosition, sourcePosition } from './source-position.ts';
