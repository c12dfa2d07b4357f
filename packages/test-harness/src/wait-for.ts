import { setTimeout as sleep } from 'node:timers/promises';

export interface WaitForOptions {
  /** What is awaited, for the timeout message. */
  description: string;
  /** @default 60000 */
  timeoutMs?: number;
  /** @default 250 */
  intervalMs?: number;
}

/**
 * Polls `check` until it returns a value other than undefined. Errors thrown by `check` end
 * the wait at once: they mean something broke, not that it is still coming.
 */
export async function waitFor<T>(check: () => Promise<T | undefined>, options: WaitForOptions): Promise<T> {
  const { description, timeoutMs = 60_000, intervalMs = 250 } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() >= deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${description}`);
    await sleep(intervalMs);
  }
}
