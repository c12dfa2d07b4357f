/** Claims the client reads from its own token to know when to replace it; never verified here. */
export interface TokenTimes {
  /** Seconds since the epoch. */
  exp: number;
  iat?: number;
}

/** Refresh this long before `exp` at most; short tokens refresh at 80 % of their lifetime instead. */
const MARGIN_MS = 60_000;
/** A token that seems already due is not asked for again more often than this. */
const MIN_DELAY_MS = 500;

/**
 * Reads `exp` (and `iat`) from a JWT's payload without verifying it: the gateway does that.
 * Plain base64url and TextDecoder, so it runs in browsers as well as in Node.
 */
export function readTokenTimes(token: string): TokenTimes | undefined {
  const payload = token.split('.')[1];
  if (payload === undefined || payload === '') return undefined;
  try {
    const binary = atob(payload.replaceAll('-', '+').replaceAll('_', '/'));
    const json: unknown = JSON.parse(
      new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0))),
    );
    if (typeof json !== 'object' || json === null || !('exp' in json) || typeof json.exp !== 'number')
      return undefined;
    const iat = 'iat' in json && typeof json.iat === 'number' ? json.iat : undefined;
    return iat === undefined ? { exp: json.exp } : { exp: json.exp, iat };
  } catch {
    return undefined;
  }
}

/**
 * How long to wait before fetching the next token: a minute before `exp`, or at 80 % of the
 * time left when that is later (a 3-second token is refreshed after 2.4 s, not never). When
 * the time left looks used up although the gateway has just accepted the token, this clock is
 * off from the issuer's; the token's own lifetime (`exp - iat`) is the better guide then.
 */
export function refreshDelayMs(times: TokenTimes, nowMs: number): number {
  let left = times.exp * 1000 - nowMs;
  if (left <= 0 && times.iat !== undefined) left = (times.exp - times.iat) * 1000;
  return Math.max(MIN_DELAY_MS, left - MARGIN_MS, left * 0.8);
}
