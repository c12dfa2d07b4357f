/**
 * The contract every process shares and the browser can load: orders, the wire protocol,
 * filters and their effect, cursors, and retry pacing. The Redis side lives in `./redis`.
 */
export { backoffDelay, sleep } from './backoff.ts';
export {
  CURSOR_SEPARATOR,
  type Cursor,
  type CursorParse,
  cursorPositions,
  FENCE_SEPARATOR,
  fenceCursor,
  formatCursor,
  formatCursorVector,
  isCursorText,
  isEpoch,
  MAX_CURSOR_GROUPS,
  parseCursor,
  UNBOUNDED_FENCE,
} from './cursor.ts';
export { computeEffect, type Effect, type EffectInput } from './effect.ts';
export { type Filter, type FilterInput, matches, toFilter } from './filter.ts';
export { type Order, orderSchema } from './order.ts';
export { type OrderStatus, orderStatuses } from './order-status.ts';
export {
  type AuthFrame,
  type ClientFrame,
  type ParseResult,
  parseClientFrame,
  type SubscribeFrame,
} from './protocol/client-frame.ts';
export {
  closeCodes,
  type ErrorCode,
  type ErrorPolicy,
  errorCodes,
  errorPolicy,
} from './protocol/error-code.ts';
export { nestsDeeperThan } from './protocol/json-depth.ts';
export { limits } from './protocol/limits.ts';
export * from './protocol/server-frame.ts';
export { serverFrameSchema } from './protocol/server-frame-schema.ts';
export type { ChangeOp } from './redis/layout.ts';
export { isStreamId, ORIGIN_ID, splitStreamId } from './stream-id.ts';
