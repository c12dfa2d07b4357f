/**
 * Browsers always send `Origin` on a WebSocket upgrade and cannot forge it, so checking it
 * stops other sites from riding a user's token. Non-browser clients send none and are let
 * through: they must still present a token.
 */
export function createOriginCheck(allowed: readonly string[]): (origin: string | undefined) => boolean {
  const any = allowed.includes('*');
  const set = new Set(allowed.map((o) => o.toLowerCase()));
  return (origin) => origin === undefined || any || set.has(origin.toLowerCase());
}
