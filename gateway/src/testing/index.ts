/**
 * `@orders/gateway/testing`: the gateway's Redis side for suites outside this package that hold
 * it against other Redis deployments (the cluster suite), and its change-frame encoder for
 * benchmarks whose bare baseline must send the very bytes a gateway sends; nothing the
 * gateway itself runs on.
 */

export { changeBody, changeFrame } from '../protocol/change-frame.ts';
export { createHistoryReader } from '../stream/history.ts';
export { connectBlocking } from '../stream/redis-client.ts';
