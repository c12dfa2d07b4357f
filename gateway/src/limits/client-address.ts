/** `::ffff:10.0.0.1` and `10.0.0.1` are one client; counting them apart would double its cap. */
export function normalizeAddress(address: string): string {
  const trimmed = address.trim().toLowerCase();
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(trimmed);
  return mapped?.[1] ?? trimmed;
}

/**
 * The address connection caps count against. `X-Forwarded-For` is believed only when the
 * direct peer is a configured proxy, and then only from the right: each trusted proxy
 * appends the address it saw, so the right-most entry that is not a trusted proxy is the
 * first one a client could not have forged. Anything left of it is the client's own claim.
 */
export function clientAddress(
  peer: string | undefined,
  forwardedFor: string | undefined,
  trustedProxies: ReadonlySet<string>,
): string {
  const direct = peer === undefined ? 'unknown' : normalizeAddress(peer);
  if (forwardedFor === undefined || !trustedProxies.has(direct)) return direct;
  const hops = forwardedFor
    .split(',')
    .map(normalizeAddress)
    .filter((hop) => hop !== '');
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i];
    if (hop !== undefined && !trustedProxies.has(hop)) return hop;
  }
  // Every hop is a proxy of ours: the request started inside, so the left-most one is it.
  return hops[0] ?? direct;
}
