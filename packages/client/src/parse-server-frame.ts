import {
  type ChangeFrame,
  errorCodes,
  FEATURES,
  type Feature,
  type Order,
  orderStatuses,
  PROTOCOL_VERSION,
  resetReasons,
  type ServerFrame,
} from '@orders/contract';

/** One message from the gateway, read: a frame of the protocol, or why it is none. */
export type FrameParse = { ok: true; frame: ServerFrame } | { ok: false; message: string };

/**
 * Reads one message from the gateway. Accepts exactly what the contract's `serverFrameSchema`
 * accepts (a test holds the two together) without loading zod into every page: unknown
 * fields are allowed (extensions add fields), unknown features in `welcome` are dropped.
 */
export function parseServerFrame(data: unknown): FrameParse {
  if (typeof data !== 'string') return { ok: false, message: 'gateway sent a binary frame' };
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch {
    return { ok: false, message: 'gateway sent invalid JSON' };
  }
  const frame = readFrame(json);
  if (frame !== undefined) return { ok: true, frame };
  const type = isObject(json) && typeof json.type === 'string' ? json.type.slice(0, 40) : undefined;
  return {
    ok: false,
    message:
      type === undefined ? 'gateway sent a frame without type' : `gateway sent an invalid ${type} frame`,
  };
}

type Json = Record<string, unknown>;

function readFrame(json: unknown): ServerFrame | undefined {
  if (!isObject(json)) return undefined;
  const f = json;
  switch (f.type) {
    case 'welcome':
      return isString(f.gateway) &&
        f.protocol === PROTOCOL_VERSION &&
        isNumber(f.heartbeatMs) &&
        f.heartbeatMs > 0
        ? readWelcome(f)
        : undefined;
    case 'snapshot':
      return isString(f.sub) &&
        Array.isArray(f.rows) &&
        f.rows.every(isOrder) &&
        isString(f.cursor) &&
        isBoolean(f.done)
        ? (f as unknown as ServerFrame)
        : undefined;
    case 'change':
      return isChange(f) ? f : undefined;
    case 'changes':
      return Array.isArray(f.changes) && f.changes.every(isChange)
        ? (f as unknown as ServerFrame)
        : undefined;
    case 'live':
      return isString(f.sub) && isString(f.cursor) && isBoolean(f.recovered)
        ? (f as unknown as ServerFrame)
        : undefined;
    case 'reset':
      return isString(f.sub) && oneOf(resetReasons, f.reason) ? (f as unknown as ServerFrame) : undefined;
    case 'error':
      return oneOf(errorCodes, f.code) && isString(f.message) && (f.sub === undefined || isString(f.sub))
        ? (f as unknown as ServerFrame)
        : undefined;
    case 'pong':
      return f.cursors === undefined || (isObject(f.cursors) && Object.values(f.cursors).every(isString))
        ? (f as unknown as ServerFrame)
        : undefined;
    case 'unsubscribed':
      return isString(f.sub) ? (f as unknown as ServerFrame) : undefined;
    case 'authed':
      return isNumber(f.exp) ? (f as unknown as ServerFrame) : undefined;
    default:
      return undefined;
  }
}

function readWelcome(f: Json): ServerFrame | undefined {
  const base = {
    type: 'welcome',
    gateway: f.gateway as string,
    protocol: PROTOCOL_VERSION,
    heartbeatMs: f.heartbeatMs as number,
  } as const;
  if (f.features === undefined) return base;
  if (!Array.isArray(f.features) || !f.features.every(isString)) return undefined;
  // A newer gateway may offer features this client does not know: they are not asked for.
  return { ...base, features: f.features.filter((name): name is Feature => oneOf(FEATURES, name)) };
}

function isChange(value: unknown): value is ChangeFrame {
  if (!isObject(value)) return false;
  const c = value;
  return (
    c.type === 'change' &&
    isString(c.sub) &&
    isString(c.cursor) &&
    (c.op === 'insert' || c.op === 'update' || c.op === 'delete') &&
    (c.effect === 'upsert' || c.effect === 'remove') &&
    isOrder(c.row) &&
    (c.before === null || isOrder(c.before)) &&
    isNumber(c.committedAt) &&
    (c.conflated === undefined || c.conflated === true)
  );
}

function isOrder(value: unknown): value is Order {
  if (!isObject(value)) return false;
  const o = value;
  return (
    isPositiveInt(o.id) &&
    isString(o.customerName) &&
    isString(o.productName) &&
    oneOf(orderStatuses, o.status) &&
    isPositiveInt(o.version) &&
    isString(o.createdAt) &&
    isString(o.updatedAt)
  );
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isString(value: unknown): value is string {
  return typeof value === 'string';
}

function isNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function isBoolean(value: unknown): value is boolean {
  return typeof value === 'boolean';
}

function isPositiveInt(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) > 0;
}

function oneOf<T extends string>(values: readonly T[], value: unknown): value is T {
  return (values as readonly unknown[]).includes(value);
}
