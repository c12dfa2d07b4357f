import type { Principal } from './principal.ts';

/** What a verified token lets a socket do, and until when. */
export interface Grant {
  principal: Principal;
  /** The token's `exp` in seconds since the epoch; absent for sockets admitted without a token. */
  exp?: number;
  /** Seconds past `exp` the socket is still served (clock skew). @default 0 */
  leewayS?: number;
}

/** A socket's principal is fixed at the upgrade: a refreshed token must name the same one. */
export function samePrincipal(a: Principal, b: Principal): boolean {
  if (a.role === 'staff' || b.role === 'staff') return a.role === b.role;
  return a.customer === b.customer;
}
