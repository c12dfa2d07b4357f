export interface ConnectionCapsOptions {
  /** Open sockets per client address. @default 256 */
  perAddress?: number;
  /** Open sockets per authenticated principal. @default 64 */
  perPrincipal?: number;
}

/** Which cap refused a socket; the 429 says so. */
export type CapExceeded = 'address' | 'principal';

/** A held slot; `release` is idempotent so every path that ends a socket may call it. */
export interface CapLease {
  release(): void;
}

/**
 * Counts open (and opening) sockets per client address and per principal, so one client
 * or one leaked token cannot take a whole gateway. Slots are taken before the upgrade and
 * given back when the socket ends, whichever way it ends.
 */
export class ConnectionCaps {
  readonly #byAddress = new Map<string, number>();
  readonly #byPrincipal = new Map<string, number>();
  readonly perAddress: number;
  readonly perPrincipal: number;

  constructor(options: ConnectionCapsOptions = {}) {
    this.perAddress = options.perAddress ?? 256;
    this.perPrincipal = options.perPrincipal ?? 64;
  }

  /** Cheap check before authentication, so a flood from one address costs no token verification. */
  addressFull(address: string): boolean {
    return (this.#byAddress.get(address) ?? 0) >= this.perAddress;
  }

  /** An undefined key is not counted: no authentication, or a runtime that cannot tell the peer. */
  acquire(address: string | undefined, principal: string | undefined): CapLease | CapExceeded {
    if (address !== undefined && this.addressFull(address)) return 'address';
    if (principal !== undefined && (this.#byPrincipal.get(principal) ?? 0) >= this.perPrincipal) {
      return 'principal';
    }
    if (address !== undefined) increment(this.#byAddress, address);
    if (principal !== undefined) increment(this.#byPrincipal, principal);
    let held = true;
    return {
      release: () => {
        if (!held) return;
        held = false;
        if (address !== undefined) decrement(this.#byAddress, address);
        if (principal !== undefined) decrement(this.#byPrincipal, principal);
      },
    };
  }

  /** Sockets counted for an address (metrics and tests). */
  countFor(address: string): number {
    return this.#byAddress.get(address) ?? 0;
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
