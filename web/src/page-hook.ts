import type { Order } from './order.ts';

/**
 * A read-only view of the page for browser tests: what is on screen, not the client's state,
 * so a test sees exactly what a person would.
 */
export interface OrdersPageHook {
  rows(): Order[];
  /** connecting | connected | reconnecting | closed */
  state(): string;
  /** Id of the gateway the page is connected to, or '' when it is not connected. */
  gateway(): string;
  /** fresh | resumed | reset, for the current connection. */
  recovery(): string;
  /** Changes rendered since the page loaded. */
  rendered(): number;
}

declare global {
  interface Window {
    __ordersPage?: OrdersPageHook;
  }
}

export function exposeHook(hook: OrdersPageHook): void {
  Object.defineProperty(window, '__ordersPage', { value: Object.freeze(hook), configurable: false });
}
