import { z } from 'zod';
import { isCursorText } from '../cursor.ts';
import type { FilterInput } from '../filter.ts';
import { orderStatuses } from '../order.ts';
import type { ErrorCode } from './error-code.ts';
import { nestsDeeperThan } from './json-depth.ts';
import { limits } from './limits.ts';

const subId = z.string().min(1).max(limits.subIdLength);

const filterSchema: z.ZodType<FilterInput> = z.strictObject({
  status: z
    .array(z.enum(orderStatuses))
    .max(orderStatuses.length * 2)
    .optional(),
  customer: z.string().max(limits.customerLength).optional(),
  ids: z.array(z.number().int().positive()).max(limits.filterIds).optional(),
});

const subscribeSchema = z.object({
  type: z.literal('subscribe'),
  sub: subId,
  filter: filterSchema.optional(),
  cursor: z.string().refine(isCursorText, 'cursor is not one this gateway issued').optional(),
});

const unsubscribeSchema = z.object({ type: z.literal('unsubscribe'), sub: subId });
const pingSchema = z.object({ type: z.literal('ping') });
/** Extension: a fresh token for the same principal, sent before the socket's token expires. */
const authSchema = z.object({ type: z.literal('auth'), token: z.string().min(1).max(limits.tokenLength) });

/** Extension: turns on features the `welcome` frame offers; `changes` batches change frames. */
const optionsSchema = z.strictObject({ type: z.literal('options'), changes: z.boolean().optional() });

const clientFrameSchema = z.discriminatedUnion('type', [
  subscribeSchema,
  unsubscribeSchema,
  pingSchema,
  authSchema,
  optionsSchema,
]);

export type ClientFrame = z.infer<typeof clientFrameSchema>;
export type SubscribeFrame = z.infer<typeof subscribeSchema>;
export type AuthFrame = z.infer<typeof authSchema>;
export type OptionsFrame = z.infer<typeof optionsSchema>;

export type ParseResult =
  | { ok: true; frame: ClientFrame }
  /** `code` is set when the answer is not `bad_request`. */
  | { ok: false; message: string; sub?: string; code?: ErrorCode };

/**
 * Parses one text frame. Never throws: a bad frame becomes a message for a `bad_request`
 * error, and the sub id is echoed back when one can be read so the client can attribute it.
 */
export function parseClientFrame(data: unknown): ParseResult {
  if (typeof data !== 'string') return { ok: false, message: 'frames must be JSON text' };
  if (data.length > limits.frameLength) return { ok: false, message: 'frame too long', code: 'too_large' };
  if (nestsDeeperThan(data, limits.jsonDepth)) return { ok: false, message: 'frame nests too deep' };
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch {
    return { ok: false, message: 'invalid JSON' };
  }
  const parsed = clientFrameSchema.safeParse(json);
  if (parsed.success) return { ok: true, frame: parsed.data };
  const sub = readSub(json);
  // The first issue is enough for a client to fix its frame, and much cheaper to word than
  // all of them when a hostile client sends thousands of wrong frames.
  const issue = parsed.error.issues[0];
  const message =
    issue === undefined
      ? 'invalid frame'
      : `${issue.path.join('.') || 'frame'}: ${issue.message}`.slice(0, 200);
  return sub === undefined ? { ok: false, message } : { ok: false, message, sub };
}

function readSub(json: unknown): string | undefined {
  if (typeof json !== 'object' || json === null || !('sub' in json)) return undefined;
  const sub = json.sub;
  return typeof sub === 'string' && sub.length <= limits.subIdLength ? sub : undefined;
}
