/**
 * The gateway registry is the worker's contract (it decides who is live), so the gateway
 * uses the worker's own helpers: heartbeat on Redis' clock, which also (re)creates this
 * gateway's stream and group, and immediate removal on graceful shutdown.
 */
export {
  type Heartbeat,
  heartbeatGateway as heartbeat,
  unregisterGateway as deregister,
} from '@orders/contract/redis';
