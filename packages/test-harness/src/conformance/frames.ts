import { parseCursor } from '@orders/contract';
import { everyResetReason } from './faults.ts';

/**
 * The shape of every server frame, field by field, as PROTOCOL.md writes it: checked here by
 * hand rather than with the contract's types or schemas, so a frame the gateway builds wrongly
 * is caught even where the contract shares the mistake. Returns the first problem found.
 */

const frameFields: Record<string, { required: readonly string[]; optional: readonly string[] }> = {
  welcome: { required: ['gateway', 'protocol', 'heartbeatMs'], optional: ['features'] },
  snapshot: { required: ['sub', 'rows', 'cursor', 'done'], optional: [] },
  change: {
    required: ['sub', 'cursor', 'op', 'effect', 'row', 'before', 'committedAt'],
    optional: ['conflated'],
  },
  changes: { required: ['changes'], optional: [] },
  live: { required: ['sub', 'cursor', 'recovered'], optional: [] },
  reset: { required: ['sub', 'reason'], optional: [] },
  unsubscribed: { required: ['sub'], optional: [] },
  pong: { required: [], optional: ['cursors'] },
  authed: { required: ['exp'], optional: [] },
  error: { required: ['code', 'message'], optional: ['sub'] },
};

const orderFields = ['id', 'customerName', 'productName', 'status', 'version', 'createdAt', 'updatedAt'];
const statuses = ['pending', 'paid', 'shipped', 'delivered', 'cancelled'];
const errorCodes = [
  'bad_request',
  'unauthorized',
  'forbidden',
  'too_large',
  'rate_limited',
  'slow_consumer',
  'internal',
];
const features = ['changes'];

/** Commit times before this (2000-01-01) are not PostgreSQL commit times of this system. */
const EARLIEST_MS = Date.UTC(2000, 0, 1);
/** Clocks differ, but not by a day. */
const CLOCK_SLACK_MS = 24 * 3600 * 1000;
/** `YYYY-MM-DDTHH:MM:SS.mmmZ`: ISO-8601, UTC, millisecond precision [P11]. */
const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

type Fields = Record<string, unknown>;

const isObject = (value: unknown): value is Fields =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const isPositiveInteger = (value: unknown): boolean =>
  typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
const show = (value: unknown): string => JSON.stringify(value) ?? String(value);

/** Whether `value` is one of the protocol's sub ids: 1–64 characters. */
function isSubId(value: unknown): boolean {
  return typeof value === 'string' && value.length >= 1 && value.length <= 64;
}

export function isIsoMillis(value: unknown): boolean {
  if (typeof value !== 'string' || !ISO_MS.test(value)) return false;
  const ms = Date.parse(value);
  return Number.isFinite(ms) && new Date(ms).toISOString() === value;
}

/** A commit time in epoch milliseconds: an integer, after 2000, not in the future beyond skew. */
export function isCommitMillis(value: unknown, now = Date.now()): boolean {
  return (
    typeof value === 'number' &&
    Number.isSafeInteger(value) &&
    value >= EARLIEST_MS &&
    value <= now + CLOCK_SLACK_MS
  );
}

function fieldsProblem(
  where: string,
  value: Fields,
  required: readonly string[],
  optional: readonly string[],
) {
  for (const key of required) if (!(key in value)) return `${where} lacks ${key}`;
  for (const key of Object.keys(value))
    if (key !== 'type' && !required.includes(key) && !optional.includes(key))
      return `${where} has a field the protocol does not define: ${key}`;
  return undefined;
}

export function orderProblem(where: string, order: unknown): string | undefined {
  if (!isObject(order)) return `${where} is not an order object: ${show(order)}`;
  const fields = fieldsProblem(where, order, orderFields, []);
  if (fields !== undefined) return fields;
  if (!isPositiveInteger(order.id)) return `${where} has id ${show(order.id)}, not a positive integer`;
  if (typeof order.customerName !== 'string') return `${where} has a customerName that is not a string`;
  if (typeof order.productName !== 'string') return `${where} has a productName that is not a string`;
  if (typeof order.status !== 'string' || !statuses.includes(order.status))
    return `${where} has status ${show(order.status)}`;
  if (!isPositiveInteger(order.version))
    return `${where} has version ${show(order.version)}, not a positive integer`;
  for (const key of ['createdAt', 'updatedAt'] as const)
    if (!isIsoMillis(order[key]))
      return `${where} has ${key} ${show(order[key])}, not an ISO-8601 UTC time with milliseconds`;
  return undefined;
}

function cursorProblem(where: string, cursor: unknown): string | undefined {
  if (typeof cursor !== 'string') return `${where} has a cursor that is not a string: ${show(cursor)}`;
  const parsed = parseCursor(cursor);
  if (parsed.kind !== 'cursor' && parsed.kind !== 'vector')
    return `${where} has cursor ${cursor}, not <epoch>.<stream id> (one per shard group, optional @fence)`;
  return undefined;
}

function changeProblem(where: string, frame: Fields, now: number): string | undefined {
  if (frame.op !== 'insert' && frame.op !== 'update' && frame.op !== 'delete')
    return `${where} has op ${show(frame.op)}`;
  if (frame.effect !== 'upsert' && frame.effect !== 'remove')
    return `${where} has effect ${show(frame.effect)}`;
  const row = orderProblem(`${where} row`, frame.row);
  if (row !== undefined) return row;
  if (frame.before !== null) {
    const before = orderProblem(`${where} before`, frame.before);
    if (before !== undefined) return before;
    if (frame.op === 'insert') return `${where} is an insert with a before image`;
    if ((frame.before as Fields).id !== (frame.row as Fields).id)
      return `${where} has a before image of another order`;
  }
  if (!isCommitMillis(frame.committedAt, now))
    return `${where} has committedAt ${show(frame.committedAt)}, not an epoch-millisecond integer of a plausible time`;
  if ('conflated' in frame && frame.conflated !== true)
    return `${where} has conflated ${show(frame.conflated)}: only true is sent`;
  return undefined;
}

/** The first way `frame` departs from the documented fields and formats, or undefined. */
export function frameProblem(frame: unknown, now = Date.now()): string | undefined {
  if (!isObject(frame)) return `a frame that is not a JSON object: ${show(frame)}`;
  const { type } = frame;
  const spec = typeof type === 'string' ? frameFields[type] : undefined;
  if (spec === undefined) return `unknown frame type ${show(type)}`;
  const where = `a ${type} frame`;
  const fields = fieldsProblem(where, frame, spec.required, spec.optional);
  if (fields !== undefined) return fields;
  // An error may name the id of a subscribe it refuses, whatever the client wrote there.
  if ('sub' in frame && (type === 'error' ? typeof frame.sub !== 'string' : !isSubId(frame.sub)))
    return `${where} has sub ${show(frame.sub)}`;
  if ('cursor' in frame) {
    const cursor = cursorProblem(where, frame.cursor);
    if (cursor !== undefined) return cursor;
  }
  switch (type) {
    case 'welcome':
      if (typeof frame.gateway !== 'string' || frame.gateway.length === 0)
        return `${where} has gateway ${show(frame.gateway)}`;
      if (frame.protocol !== 1) return `${where} has protocol ${show(frame.protocol)}, not 1`;
      if (!isPositiveInteger(frame.heartbeatMs)) return `${where} has heartbeatMs ${show(frame.heartbeatMs)}`;
      if (
        'features' in frame &&
        (!Array.isArray(frame.features) ||
          frame.features.some((f) => typeof f !== 'string' || !features.includes(f)) ||
          new Set(frame.features).size !== frame.features.length)
      )
        return `${where} has features ${show(frame.features)}`;
      return undefined;
    case 'snapshot':
      if (typeof frame.done !== 'boolean') return `${where} has done ${show(frame.done)}`;
      if (!Array.isArray(frame.rows)) return `${where} has rows that are not an array`;
      for (const [i, row] of frame.rows.entries()) {
        const problem = orderProblem(`${where} row ${i}`, row);
        if (problem !== undefined) return problem;
      }
      return undefined;
    case 'change':
      return changeProblem(where, frame, now);
    case 'changes':
      if (!Array.isArray(frame.changes)) return `${where} has changes that are not an array`;
      for (const [i, change] of frame.changes.entries()) {
        if (!isObject(change) || change.type !== 'change')
          return `${where} holds ${show(isObject(change) ? change.type : change)} at ${i}, not a change`;
        const problem = frameProblem(change, now);
        if (problem !== undefined) return `${problem} (inside changes, at ${i})`;
      }
      return undefined;
    case 'live':
      return typeof frame.recovered === 'boolean'
        ? undefined
        : `${where} has recovered ${show(frame.recovered)}`;
    case 'reset':
      return everyResetReason.some((reason) => reason === frame.reason)
        ? undefined
        : `${where} has reason ${show(frame.reason)}, not one of the documented reasons`;
    case 'unsubscribed':
      return undefined;
    case 'pong': {
      if (!('cursors' in frame)) return undefined;
      if (!isObject(frame.cursors)) return `${where} has cursors ${show(frame.cursors)}`;
      for (const [sub, cursor] of Object.entries(frame.cursors)) {
        if (!isSubId(sub)) return `${where} names sub ${show(sub)}`;
        const problem = cursorProblem(`${where} (${sub})`, cursor);
        if (problem !== undefined) return problem;
      }
      return undefined;
    }
    case 'authed':
      // Seconds since the epoch: an integer after 2000 and far below a millisecond count.
      return isPositiveInteger(frame.exp) &&
        (frame.exp as number) * 1000 >= EARLIEST_MS &&
        (frame.exp as number) < 1e11
        ? undefined
        : `${where} has exp ${show(frame.exp)}, not seconds since the epoch`;
    case 'error':
      if (typeof frame.code !== 'string' || !errorCodes.includes(frame.code))
        return `${where} has code ${show(frame.code)}, not one of the documented codes`;
      if (typeof frame.message !== 'string' || frame.message.length === 0)
        return `${where} has message ${show(frame.message)}`;
      return undefined;
  }
  return undefined;
}
