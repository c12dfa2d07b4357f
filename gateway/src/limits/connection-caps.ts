import type { Principal } from '../auth/principal.ts';

export interface ConnectionCapsOptions {
  /** Open sockets per client address (an IPv6 client per /64). @default 256 */
  perAddress?: number;
  /** Open sockets per principal: one customer, or one member of staff (token `sub`). @default 64 */
  perPrincipal?: number;
  /** Open staff sockets in all, whoever holds them. @default 1024 */
  staffTotal?: number;
}

/** Which cap refused a socket; the 429 says so. */
export type CapExceeded = 'address' | 'principal' | 'staff';

/** A held slot; `release` is idempotent so every path that ends a socket may call it. */
export interface CapLease {
  release(): void;
}

/**
 * The key the per-principal cap counts under: a customer by name, a member of staff by the
 * token's `sub`. Staff tokens without `sub` cannot be told apart, so they share one key.
 */
export function principalKey(principal: Principal): string {
  if (principal.role === 'customer') return `customer:${principal.customer}`;
  return principal.sub === undefined ? 'staff' : `staff:${principal.sub}`;
}

/**
 * Counts open (and opening) sockets per client address and per principal, so one client
 * or one leaked token cannot take a whole gateway. Staff see every order, so all staff
 * sockets together also have a ceiling of their own: a leaked staff token with a made-up
 * `sub` per socket still cannot take more. Slots are taken before the upgrade and given back
 * when the socket ends, whichever way it ends.
 */
export class ConnectionCaps {
  readonly #counts = new CapCounts();
  readonly perAddress: number;
  readonly perPrincipal: number;
  readonly staffTotal: number;

  constructor(options: ConnectionCapsOptions = {}) {
    this.perAddress = options.perAddress ?? 256;
    this.perPrincipal = options.perPrincipal ?? 64;
    this.staffTotal = options.staffTotal ?? 1024;
  }

  /** Cheap check before authentication, so a flood from one address costs no token verification. */
  addressFull(address: string): boolean {
    return (this.#counts.byAddress.get(address) ?? 0) >= this.perAddress;
  }

  /** An undefined address or principal is not counted: a runtime that cannot tell the peer, no authentication. */
  acquire(address: string | undefined, principal: Principal | undefined): CapLease | CapExceeded {
    const key = principal === undefined ? undefined : principalKey(principal);
    const staff = principal?.role === 'staff';
    if (address !== undefined && this.addressFull(address)) return 'address';
    const counts = this.#counts;
    if (key !== undefined && (counts.byPrincipal.get(key) ?? 0) >= this.perPrincipal) return 'principal';
    if (staff && counts.staff >= this.staffTotal) return 'staff';
    const lease = new CountedLease(counts, address, key, staff);
    counts.add(lease);
    return lease;
  }

  /** Sockets counted for an address (metrics and tests). */
  countFor(address: string): number {
    return this.#counts.byAddress.get(address) ?? 0;
  }
}

/** The sockets counted per address, per principal and of staff; shared by the caps and their leases. */
class CapCounts {
  readonly byAddress = new Map<string, number>();
  readonly byPrincipal = new Map<string, number>();
  staff = 0;

  add({ address, key, staff }: CountedLease): void {
    if (address !== undefined) increment(this.byAddress, address);
    if (key !== undefined) increment(this.byPrincipal, key);
    if (staff) this.staff++;
  }

  remove({ address, key, staff }: CountedLease): void {
    if (address !== undefined) decrement(this.byAddress, address);
    if (key !== undefined) decrement(this.byPrincipal, key);
    if (staff) this.staff--;
  }
}

/**
 * One socket's place under the caps, for as long as it is open. An object rather than a
 * closure over what it counts under: an open socket holds it for its whole life.
 */
class CountedLease implements CapLease {
  /** Undefined once released. */
  #counts: CapCounts | undefined;

  constructor(
    counts: CapCounts,
    readonly address: string | undefined,
    readonly key: string | undefined,
    readonly staff: boolean,
  ) {
    this.#counts = counts;
  }

  release(): void {
    this.#counts?.remove(this);
    this.#counts = undefined;
  }
}

function increment(counts: Map<string, number>, key: string): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

// Keys are deleted at zero: the maps hold only clients that have sockets open right now.
function decrement(counts: Map<string, number>, key: string): void {
  const next = (counts.get(key) ?? 0) - 1;
  if (next > 0) counts.set(key, next);
  else counts.delete(key);
}
