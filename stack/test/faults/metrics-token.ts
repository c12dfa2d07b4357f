/**
 * The bearer token the suites' gateways require on `/metrics` (production mode serves it only
 * with one). The end-of-case checks read the gateways' conflation counter with it: a counter
 * they could not read would switch the silent-gap check on for a gateway that conflated.
 */
import { randomBytes } from 'node:crypto';

export const METRICS_TOKEN = randomBytes(24).toString('hex');
