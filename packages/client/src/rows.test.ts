import type { Order } from '@orders/contract';
import { orderAt } from '@orders/contract/testing';
import { describe, expect, it } from 'vitest';
import { applyChange } from './rows.ts';

describe('applyChange', () => {
  it('applies newer versions and ignores duplicates and stale ones', () => {
    const rows = new Map<number, Order>();
    expect(applyChange(rows, 'upsert', orderAt(1, 1))).toBe(true);
    expect(applyChange(rows, 'upsert', orderAt(1, 1))).toBe(false);
    expect(applyChange(rows, 'upsert', orderAt(1, 3))).toBe(true);
    expect(applyChange(rows, 'upsert', orderAt(1, 2))).toBe(false);
    expect(rows.get(1)?.version).toBe(3);
  });

  it('removes on the held or a newer version, not on an older one', () => {
    const rows = new Map<number, Order>([[1, orderAt(1, 3)]]);
    expect(applyChange(rows, 'remove', orderAt(1, 2))).toBe(false);
    expect(rows.has(1)).toBe(true);
    expect(applyChange(rows, 'remove', orderAt(1, 3))).toBe(true);
    expect(rows.has(1)).toBe(false);
    expect(applyChange(rows, 'remove', orderAt(2, 1))).toBe(false);
  });
});
