/**
 * One spelling per address: `::ffff:10.0.0.1` and `10.0.0.1` are one client, and so are
 * `198.51.100.7:4711` and `[2001:db8::7]:443` with and without the port some proxies write into
 * `X-Forwarded-For` (a source port changes with every connection, so keeping it would make
 * every socket a new client).
 */
export function normalizeAddress(address: string): string {
  let a = address.trim().toLowerCase();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(a);
  if (bracketed?.[1] !== undefined) a = bracketed[1];
  const v4WithPort = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(a);
  if (v4WithPort?.[1] !== undefined) a = v4WithPort[1];
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(a);
  return mapped?.[1] ?? a;
}

/**
 * The key an address is counted under: an IPv4 address itself, an IPv6 address by its /64
 * (`2001:db8:1:2::/64`). A single subscriber or host is routinely given a whole /64, so
 * counting each of its 2^64 addresses apart would give it no cap at all.
 */
export function capKeyOfAddress(address: string): string {
  const prefix = ipv6Prefix64(address);
  return prefix === undefined ? address : `${prefix}::/64`;
}

/** The first four groups of an IPv6 address, without leading zeros; undefined for anything else. */
function ipv6Prefix64(address: string): string | undefined {
  const bare = address.replace(/%.*$/, ''); // zone id (fe80::1%eth0)
  if (!bare.includes(':') || !/^[0-9a-f:.]+$/.test(bare)) return undefined;
  const halves = bare.split('::');
  if (halves.length > 2) return undefined;
  const groups = (s: string | undefined) =>
    s === undefined || s === '' ? [] : s.split(':').flatMap((g) => (g.includes('.') ? ['0', '0'] : [g]));
  const head = groups(halves[0]);
  const tail = groups(halves[1]);
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const all = [...head, ...Array<string>(halves.length === 1 ? 0 : missing).fill('0'), ...tail];
  if (!all.every((g) => /^[0-9a-f]{1,4}$/.test(g))) return undefined;
  return all
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':');
}

/**
 * The key connection caps count a client under (see {@link capKeyOfAddress}).
 * `X-Forwarded-For` is believed only when the direct peer is a configured proxy, and then only
 * from the right: each trusted proxy appends the address it saw, so the right-most entry that
 * is not a trusted proxy is the first one a client could not have forged. Anything left of it
 * is the client's own claim.
 */
export function clientAddress(
  peer: string | undefined,
  forwardedFor: string | undefined,
  trustedProxies: ReadonlySet<string>,
): string {
  return capKeyOfAddress(forwardedClient(peer, forwardedFor, trustedProxies));
}

function forwardedClient(
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
