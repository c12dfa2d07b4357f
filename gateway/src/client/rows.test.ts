import type { Order } from '@orders/drizzle';
import { describe, expect, it } from 'vitest';
import { applyChange } from './rows.ts';

const order = (id: number, version: number): Order => ({
  id,
  customerName: 'Alice',
  productName: 'widget',
  status: 'pending',
  version,
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
});

describe('applyChange', () => {
  it('applies newer versions and ignores duplicates and stale ones', () => {
    const rows = new Map<number, Order>();
    expect(applyChange(rows, 'upsert', order(1, 1))).toBe(true);
    expect(applyChange(rows, 'upsert', order(1, 1))).toBe(false);
    expect(applyChange(rows, 'upsert', order(1, 3))).toBe(true);
    expect(applyChange(rows, 'upsert', order(1, 2))).toBe(false);
    expect(rows.get(1)?.version).toBe(3);
  });

  it('removes on the held or a newer version, not on an older one', () => {
    const rows = new Map<number, Order>([[1, order(1, 3)]]);
    expect(applyChange(rows, 'remove', order(1, 2))).toBe(false);
    expect(rows.has(1)).toBe(true);
    expect(applyChange(rows, 'remove', order(1, 3))).toBe(true);
    expect(rows.has(1)).toBe(false);
    expect(applyChange(rows, 'remove', order(2, 1))).toBe(false);
  });
});
