/** Who opened a socket, as proven by its token; decides which rows it may ever see. */
export type Principal = { role: 'staff' } | { role: 'customer'; customer: string };

/** Gateways started without authentication (tests, embedded use) act for staff. */
export const STAFF: Principal = { role: 'staff' };
