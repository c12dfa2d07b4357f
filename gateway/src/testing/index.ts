/**
 * `@orders/gateway/testing`: the gateway's Redis side for suites outside this package that hold
 * it against other Redis deployments (the cluster suite); nothing the gateway itself runs on.
 */
export { createHistoryReader } from '../stream/history.ts';
export { connectBlocking } from '../stream/redis-client.ts';
