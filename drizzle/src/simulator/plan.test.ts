import { describe, expect, it } from 'vitest';
import { customerNames } from './names.ts';
import { planBatch, type TrackedOrder } from './plan.ts';

/** Deterministic PRNG (mulberry32) so the statistics below are stable. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function poolOf(orders: TrackedOrder[]): Map<number, TrackedOrder> {
  return new Map(orders.map((order) => [order.id, order]));
}

const customers = customerNames(5);

describe('planBatch', () => {
  it('only inserts into an empty pool', () => {
    const actions = planBatch(new Map(), 10, { customers, poolSize: 50, random: seeded(1) });
    expect(actions).toHaveLength(10);
    expect(actions.every((action) => action.kind === 'insert')).toBe(true);
  });

  it('never touches one order twice in a batch, and only moves orders forward', () => {
    const orders: TrackedOrder[] = Array.from({ length: 40 }, (_, i) => ({
      id: i + 1,
      status: (['pending', 'paid', 'shipped', 'delivered', 'cancelled'] as const)[i % 5] ?? 'pending',
      customerName: customers[i % customers.length] ?? 'x',
    }));
    const actions = planBatch(poolOf(orders), 60, { customers, poolSize: 40, random: seeded(7) });
    const touched = actions.flatMap((action) => (action.kind === 'insert' ? [] : [action.id]));
    expect(new Set(touched).size).toBe(touched.length);
    for (const action of actions) {
      if (action.kind === 'advance') {
        expect(['delivered', 'cancelled']).not.toContain(action.from);
      }
      if (action.kind === 'delete') {
        expect(['delivered', 'cancelled']).toContain(orders[action.id - 1]?.status);
      }
      if (action.kind === 'reassign') {
        expect(action.customerName).not.toBe(orders[action.id - 1]?.customerName);
      }
    }
  });

  it('mixes every kind of change over a busy pool', () => {
    const orders: TrackedOrder[] = Array.from({ length: 500 }, (_, i) => ({
      id: i + 1,
      status: i % 4 === 0 ? 'delivered' : 'pending',
      customerName: 'Alice Martin',
    }));
    const actions = planBatch(poolOf(orders), 400, { customers, poolSize: 500, random: seeded(42) });
    const kinds = new Set(actions.map((action) => action.kind));
    expect(kinds).toEqual(new Set(['insert', 'advance', 'reassign', 'delete']));
  });
});

describe('customerNames', () => {
  it('gives distinct names, even beyond the name lists', () => {
    expect(customerNames(3)).toEqual(['Alice Martin', 'Bob Martin', 'Chiara Martin']);
    const many = customerNames(1000);
    expect(new Set(many).size).toBe(1000);
  });
});
