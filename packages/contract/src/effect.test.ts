import { describe, expect, it } from 'vitest';
import { computeEffect } from './effect.ts';
import { toFilter } from './filter.ts';
import { order } from './testing/index.ts';

describe('computeEffect', () => {
  const pending = toFilter({ status: ['pending'] });
  const alice = toFilter({ customer: 'Alice' });
  const ids = toFilter({ ids: [1, 2] });
  const all = toFilter(undefined);

  it('upserts inserts that match and ignores the rest', () => {
    expect(computeEffect(pending, { op: 'insert', row: order(), before: null })).toBe('upsert');
    expect(computeEffect(pending, { op: 'insert', row: order({ status: 'paid' }), before: null })).toBeNull();
    expect(computeEffect(all, { op: 'insert', row: order({ status: 'paid' }), before: null })).toBe('upsert');
    expect(computeEffect(ids, { op: 'insert', row: order({ id: 3 }), before: null })).toBeNull();
  });

  it('turns a move into the filter into an upsert and a move out into a remove', () => {
    const paid = order({ status: 'paid', version: 2 });
    expect(computeEffect(pending, { op: 'update', row: paid, before: order() })).toBe('remove');
    expect(computeEffect(pending, { op: 'update', row: order({ version: 3 }), before: paid })).toBe('upsert');
    expect(
      computeEffect(pending, { op: 'update', row: order({ status: 'shipped' }), before: paid }),
    ).toBeNull();
  });

  it('upserts updates inside the filter', () => {
    const renamed = order({ productName: 'gadget', version: 2 });
    expect(computeEffect(alice, { op: 'update', row: renamed, before: order() })).toBe('upsert');
  });

  it('follows reassignments between customers', () => {
    const toBob = { op: 'update' as const, row: order({ customerName: 'Bob', version: 2 }), before: order() };
    expect(computeEffect(alice, toBob)).toBe('remove');
    expect(computeEffect(toFilter({ customer: 'Bob' }), toBob)).toBe('upsert');
    expect(computeEffect(toFilter({ customer: 'Carol' }), toBob)).toBeNull();
  });

  it('removes deletes only for subscribers who had the row', () => {
    const deleted = order({ version: 4 });
    expect(computeEffect(alice, { op: 'delete', row: deleted, before: deleted })).toBe('remove');
    expect(
      computeEffect(toFilter({ customer: 'Bob' }), { op: 'delete', row: deleted, before: deleted }),
    ).toBeNull();
    expect(
      computeEffect(toFilter({ status: ['paid'] }), { op: 'delete', row: deleted, before: deleted }),
    ).toBeNull();
  });

  it('removes conservatively when an update has no before image', () => {
    expect(computeEffect(pending, { op: 'update', row: order({ status: 'paid' }), before: null })).toBe(
      'remove',
    );
  });

  it('ANDs every filter field', () => {
    const both = toFilter({ status: ['pending', 'paid'], customer: 'Alice', ids: [1] });
    expect(computeEffect(both, { op: 'insert', row: order({ status: 'paid' }), before: null })).toBe(
      'upsert',
    );
    expect(computeEffect(both, { op: 'insert', row: order({ id: 2 }), before: null })).toBeNull();
    expect(
      computeEffect(both, { op: 'insert', row: order({ customerName: 'Bob' }), before: null }),
    ).toBeNull();
  });
});
