/** Who opened a socket, as proven by its token; decides which rows it may ever see. */
export type Principal =
  /** `sub` is the token's subject, when it has one: staff are counted apart by it (limits). */
  { role: 'staff'; sub?: string } | { role: 'customer'; customer: string };

/** Gateways started without authentication (tests, embedded use) act for staff. */
export const STAFF: Principal = { role: 'staff' };
