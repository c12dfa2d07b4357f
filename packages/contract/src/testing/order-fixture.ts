/** One order row for unit tests, with every field but the one under test fixed. */
import type { Order } from '../order.ts';

export const order = (over: Partial<Order> = {}): Order => ({
  id: 1,
  customerName: 'Alice',
  productName: 'widget',
  status: 'pending',
  version: 1,
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
  ...over,
});

/** The same row at a given id and version: what version-ordering tests vary. */
export const orderAt = (id: number, version: number): Order => order({ id, version });
