/** Test helpers of the contract's types, for this package's tests and every other suite's. */
export { order, orderAt } from './order-fixture.ts';
