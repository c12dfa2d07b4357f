export {
  type ClientEvents,
  createOrdersClient,
  OrdersClient,
  type OrdersClientOptions,
} from './orders-client.ts';
export { applyChange } from './rows.ts';
export { Subscription, type SubscriptionEvents } from './subscription.ts';
export type {
  SubscriptionError,
  SubscriptionPhase,
  SubscriptionState,
} from './subscription-state.ts';
export { readTokenTimes, type TokenTimes } from './token-refresh.ts';
export type * from './types.ts';
export type { WebSocketConstructor, WebSocketLike } from './web-socket-like.ts';
