// One retry pacing for the whole system; it lives with the worker, which the gateway builds on.
export { backoffDelay, sleep } from '@orders/contract';
