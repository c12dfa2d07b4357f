import type { Context, MiddlewareHandler } from 'hono';
import type { Authorize } from './auth/authorize.ts';
import type { Grant } from './auth/grant.ts';
import type { Principal } from './auth/principal.ts';
import { STAFF } from './auth/principal.ts';
import { clientAddress } from './limits/client-address.ts';
import type { CapLease, ConnectionCaps } from './limits/connection-caps.ts';
import type { ConnectionSlots } from './limits/connection-slots.ts';

/** What the guards hand on to the upgrade, and to each other. */
export interface UpgradeVariables {
  /** The client's address for the per-address cap; undefined when the runtime cannot name the peer. */
  address: string | undefined;
  /** The upgrade's share of MAX_CONNECTIONS until its socket is open. */
  slot: CapLease;
  /** Who the authorize hook identified; undefined without one. */
  principal: Principal | undefined;
  grant: Grant;
  /** The socket's place under its address and principal caps, for as long as it is open. */
  lease: CapLease;
  /** Set by the last guard: the request goes on to the upgrade, which takes over the slot. */
  upgrading: boolean;
  /**
   * Set by the last guard: gives the slot and the lease back should the socket never open. The
   * socket clears it as it opens; from then on it gives them back itself.
   */
  abandoned: ReturnType<typeof setTimeout>;
}

export type UpgradeEnv = { Variables: UpgradeVariables };

export interface UpgradeGuardDeps {
  isDraining(): boolean;
  remoteAddress?: ((c: Context) => string | undefined) | undefined;
  trustedProxies: ReadonlySet<string>;
  caps: ConnectionCaps;
  slots: ConnectionSlots;
  authorize?: Authorize | undefined;
}

/** The guards by name, to be chained in this order before the upgrade. */
export interface UpgradeGuards {
  refuseWhileDraining: MiddlewareHandler<UpgradeEnv>;
  addressCap: MiddlewareHandler<UpgradeEnv>;
  gatewaySlot: MiddlewareHandler<UpgradeEnv>;
  authenticate: MiddlewareHandler<UpgradeEnv>;
  principalCap: MiddlewareHandler<UpgradeEnv>;
  releaseIfAbandoned: MiddlewareHandler<UpgradeEnv>;
}

/** Seconds a client refused by a connection cap should wait: slots free only as sockets close. */
const CAP_RETRY_AFTER_S = 10;

/** How long an admitted upgrade may take to open its socket before its slots are given back. */
const ABANDONED_AFTER_MS = 10_000;

const capRefusal = (c: Context, which: string) =>
  c.json({ error: `too many connections for this ${which}` }, 429, {
    'retry-after': String(CAP_RETRY_AFTER_S),
  });

/**
 * The checks an upgrade passes before its socket opens, in order, each a middleware of its
 * own: draining, the per-address cap, a slot under MAX_CONNECTIONS, authentication, the
 * per-principal caps, and the release of an upgrade that never opens. Each refuses with its own
 * answer; a refusal after the slot was taken gives the slot back.
 */
export function upgradeGuards(deps: UpgradeGuardDeps): UpgradeGuards {
  // Another gateway can take the client at once; the header tells it not to wait long.
  const refuseWhileDraining: MiddlewareHandler<UpgradeEnv> = async (c, next) => {
    if (deps.isDraining()) return c.json({ error: 'draining' }, 503, { 'retry-after': '1' });
    await next();
  };

  // A runtime that cannot name the peer gets no address cap rather than one shared by everyone.
  const addressCap: MiddlewareHandler<UpgradeEnv> = async (c, next) => {
    const address =
      deps.remoteAddress === undefined
        ? undefined
        : clientAddress(deps.remoteAddress(c), c.req.header('x-forwarded-for'), deps.trustedProxies);
    if (address !== undefined && deps.caps.addressFull(address)) return capRefusal(c, 'address');
    c.set('address', address);
    await next();
  };

  // Taken before authentication: upgrades waiting on it count towards MAX_CONNECTIONS.
  const gatewaySlot: MiddlewareHandler<UpgradeEnv> = async (c, next) => {
    const slot = deps.slots.take();
    if (slot === undefined)
      return c.json({ error: 'gateway full, try another' }, 503, { 'retry-after': '1' });
    c.set('slot', slot);
    try {
      await next();
    } finally {
      if (c.get('upgrading') !== true) slot.release();
    }
  };

  const authenticate: MiddlewareHandler<UpgradeEnv> = async (c, next) => {
    const verdict = await deps.authorize?.upgrade(c.req.raw);
    if (verdict instanceof Response) return verdict;
    // Without an authorize hook nobody is identified: staff for good, under the address cap only.
    c.set('principal', verdict?.principal);
    c.set('grant', verdict ?? { principal: STAFF });
    await next();
  };

  const principalCap: MiddlewareHandler<UpgradeEnv> = async (c, next) => {
    const lease = deps.caps.acquire(c.get('address'), c.get('principal'));
    if (typeof lease === 'string') return capRefusal(c, lease);
    c.set('lease', lease);
    await next();
  };

  // An upgrade that never opens (the client vanished mid-handshake) must not keep its slots.
  // The socket clears the timer as it opens, so an open socket holds none (and nothing it keeps).
  const releaseIfAbandoned: MiddlewareHandler<UpgradeEnv> = async (c, next) => {
    const lease = c.get('lease');
    const slot = c.get('slot');
    c.set('upgrading', true);
    const abandoned = setTimeout(() => {
      lease.release();
      slot.release();
    }, ABANDONED_AFTER_MS);
    abandoned.unref?.();
    c.set('abandoned', abandoned);
    await next();
  };

  return { refuseWhileDraining, addressCap, gatewaySlot, authenticate, principalCap, releaseIfAbandoned };
}
