import { assertAllClean } from '@orders/test-harness';

/** Polls until `check` returns true; the message names what never happened. */
export async function until(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    // A socket that broke the protocol fails the wait at once, with its frames.
    assertAllClean();
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
