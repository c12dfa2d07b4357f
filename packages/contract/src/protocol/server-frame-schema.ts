import { z } from 'zod';
import { orderSchema } from '../order.ts';
import { errorCodes } from './error-code.ts';
import { FEATURES, type Feature, PROTOCOL_VERSION, resetReasons, type ServerFrame } from './server-frame.ts';

/**
 * The gateway's frames as gateway/PROTOCOL.md defines them, for whoever wants to check what a
 * gateway sends. Fields a frame does not define are allowed (and dropped): extensions add
 * fields. `welcome.features` keeps the features this contract knows and drops the others.
 */
const sub = z.string();

const welcome = z.object({
  type: z.literal('welcome'),
  gateway: z.string(),
  protocol: z.literal(PROTOCOL_VERSION),
  heartbeatMs: z.number().positive(),
  features: z
    .array(z.string())
    .transform((offered) => offered.filter((f): f is Feature => (FEATURES as readonly string[]).includes(f)))
    .optional(),
});

const snapshot = z.object({
  type: z.literal('snapshot'),
  sub,
  rows: z.array(orderSchema),
  cursor: z.string(),
  done: z.boolean(),
});

const change = z.object({
  type: z.literal('change'),
  sub,
  cursor: z.string(),
  op: z.enum(['insert', 'update', 'delete']),
  effect: z.enum(['upsert', 'remove']),
  row: orderSchema,
  before: orderSchema.nullable(),
  committedAt: z.number(),
  conflated: z.literal(true).optional(),
});

const changes = z.object({ type: z.literal('changes'), changes: z.array(change) });
const live = z.object({ type: z.literal('live'), sub, cursor: z.string(), recovered: z.boolean() });
const reset = z.object({ type: z.literal('reset'), sub, reason: z.enum(resetReasons) });
const error = z.object({
  type: z.literal('error'),
  code: z.enum(errorCodes),
  message: z.string(),
  sub: sub.optional(),
});
const pong = z.object({ type: z.literal('pong'), cursors: z.record(z.string(), z.string()).optional() });
const unsubscribed = z.object({ type: z.literal('unsubscribed'), sub });
const authed = z.object({ type: z.literal('authed'), exp: z.number() });

export const serverFrameSchema: z.ZodType<ServerFrame, unknown> = z.discriminatedUnion('type', [
  welcome,
  snapshot,
  change,
  changes,
  live,
  reset,
  error,
  pong,
  unsubscribed,
  authed,
]);
