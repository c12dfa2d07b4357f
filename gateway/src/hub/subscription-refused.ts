import type { ErrorCode } from '@orders/contract';

/**
 * A subscription this gateway will not serve as asked; loading it again would fail the same
 * way. The session drops it and answers with an `error` frame carrying `code` and its id.
 */
export class SubscriptionRefused extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'SubscriptionRefused';
  }
}
