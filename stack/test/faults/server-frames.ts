/**
 * Wire protocol v1 frames as this suite reads them, written from gateway/PROTOCOL.md and
 * validated at the socket, so a malformed frame fails the case instead of confusing a check.
 */
import { orderSchema, orderStatuses } from '@orders/drizzle';
import { z } from 'zod';

const snapshot = z.object({
  type: z.literal('snapshot'),
  sub: z.string(),
  rows: z.array(orderSchema),
  cursor: z.string(),
  done: z.boolean(),
});
const change = z.object({
  type: z.literal('change'),
  sub: z.string(),
  cursor: z.string(),
  op: z.enum(['insert', 'update', 'delete']),
  effect: z.enum(['upsert', 'remove']),
  row: orderSchema,
  before: orderSchema.nullable(),
  committedAt: z.number(),
  conflated: z.literal(true).optional(),
});
const live = z.object({ type: z.literal('live'), sub: z.string(), cursor: z.string() });
// Reasons are open: a gateway may name new causes (a lost history, a truncate).
const reset = z.object({ type: z.literal('reset'), sub: z.string(), reason: z.string() });
const error = z.object({
  type: z.literal('error'),
  code: z.string(),
  message: z.string(),
  sub: z.string().optional(),
});
const welcome = z.object({ type: z.literal('welcome'), gateway: z.string(), protocol: z.literal(1) });
const other = z.object({ type: z.enum(['pong', 'unsubscribed']) });

export const serverFrameSchema = z.discriminatedUnion('type', [
  snapshot,
  change,
  live,
  reset,
  error,
  welcome,
  other,
]);
export type ServerFrame = z.infer<typeof serverFrameSchema>;
export type ChangeFrame = z.infer<typeof change>;

export const filterSchema = z.object({
  status: z.array(z.enum(orderStatuses)).optional(),
  customer: z.string().optional(),
});
export type Filter = z.infer<typeof filterSchema>;
