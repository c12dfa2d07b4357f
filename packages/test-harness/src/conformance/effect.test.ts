import type { ChangeOp, Order } from '@orders/contract';
import { describe, expect, it } from 'vitest';
import {
  type ExpectedEffect,
  expectedEffect,
  expectedEffectOn,
  inFilter,
  isRedactedMoveAway,
  type ReferenceFilter,
  type Scope,
  scopeFilter,
} from './effect.ts';

// The checker's reference for filters and effects, held against cases written out by hand from
// PROTOCOL.md ("Effects are exact", "Changes without a before image", "Row-level scoping").

const at = (version: number, status: Order['status'] = 'pending', customerName = 'Alice', id = 7): Order => ({
  id,
  customerName,
  productName: 'lamp',
  status,
  version,
  createdAt: '2026-03-01T10:00:00.000Z',
  updatedAt: '2026-03-01T10:00:00.000Z',
});

describe('reference filter', () => {
  const cases: [string, ReferenceFilter, Order, boolean][] = [
    ['no field lets everything through', {}, at(1), true],
    ['a listed status', { status: ['paid', 'pending'] }, at(1), true],
    ['an unlisted status', { status: ['paid'] }, at(1), false],
    ['an empty status list matches nothing', { status: [] }, at(1), false],
    ['the customer', { customer: 'Alice' }, at(1), true],
    ['another customer', { customer: 'Bob' }, at(1), false],
    ['a customer differing in case', { customer: 'alice' }, at(1), false],
    ['a listed id', { ids: [3, 7] }, at(1), true],
    ['an unlisted id', { ids: [3, 8] }, at(1), false],
    ['all fields holding', { status: ['pending'], customer: 'Alice', ids: [7] }, at(1), true],
    ['all but one field holding', { status: ['pending'], customer: 'Alice', ids: [8] }, at(1), false],
  ];
  it.each(cases)('%s', (_what, filter, order, expected) => {
    expect(inFilter(filter, order)).toBe(expected);
  });
});

describe('reference effect', () => {
  const paid: ReferenceFilter = { status: ['paid'] };
  const cases: [string, ReferenceFilter, ChangeOp, Order | null, Order, ExpectedEffect][] = [
    ['an insert inside the filter', paid, 'insert', null, at(1, 'paid'), 'upsert'],
    ['an insert outside the filter', paid, 'insert', null, at(1, 'pending'), 'none'],
    ['an update staying inside', paid, 'update', at(1, 'paid'), at(2, 'paid'), 'upsert'],
    ['an update moving in', paid, 'update', at(1, 'pending'), at(2, 'paid'), 'upsert'],
    ['an update moving out', paid, 'update', at(1, 'paid'), at(2, 'shipped'), 'remove'],
    ['an update staying outside', paid, 'update', at(1, 'pending'), at(2, 'shipped'), 'none'],
    ['a reassignment away', { customer: 'Alice' }, 'update', at(1), at(2, 'pending', 'Bob'), 'remove'],
    ['a reassignment to', { customer: 'Bob' }, 'update', at(1), at(2, 'pending', 'Bob'), 'upsert'],
    ['an update into the ids', { ids: [7] }, 'update', at(1), at(2), 'upsert'],
    ['a delete of a row it had', paid, 'delete', at(3, 'paid'), at(3, 'paid'), 'remove'],
    ['a delete of a row it never had', paid, 'delete', at(3, 'pending'), at(3, 'pending'), 'none'],
    ['a before-less update inside', paid, 'update', null, at(2, 'paid'), 'upsert'],
    ['a before-less update outside', paid, 'update', null, at(2, 'pending'), 'remove-if-held'],
    // Debezium's stand-in for a key-only delete: the key and column defaults, nothing to judge by.
    ['a key-only delete', paid, 'delete', null, at(1, 'pending', ''), 'remove-if-held'],
    ['a key-only delete on an unfiltered view', {}, 'delete', null, at(1, 'pending', ''), 'remove-if-held'],
  ];
  it.each(cases)('%s', (_what, filter, op, before, row, expected) => {
    expect(expectedEffect(filter, { op, row, before })).toBe(expected);
  });
});

describe('reference scoping', () => {
  const alice: Scope = { role: 'customer', customer: 'Alice' };

  it('ANDs the customer into a customer token’s filter and refuses another customer', () => {
    expect(scopeFilter(alice, undefined)).toEqual({ customer: 'Alice' });
    expect(scopeFilter(alice, { status: ['paid'] })).toEqual({ status: ['paid'], customer: 'Alice' });
    expect(scopeFilter(alice, { customer: 'Alice' })).toEqual({ customer: 'Alice' });
    expect(scopeFilter(alice, { customer: 'Bob' })).toBe('forbidden');
    expect(scopeFilter({ role: 'staff' }, { customer: 'Bob' })).toEqual({ customer: 'Bob' });
    expect(scopeFilter({ role: 'staff' }, undefined)).toEqual({});
  });

  it('knows a reassignment away by the row the customer last saw, at the new version', () => {
    const away = { op: 'update' as const, effect: 'remove' as const, before: at(1), row: at(2) };
    expect(isRedactedMoveAway(alice, away)).toBe(true);
    expect(isRedactedMoveAway({ role: 'staff' }, away)).toBe(false);
    expect(isRedactedMoveAway(alice, { ...away, effect: 'upsert' })).toBe(false);
    expect(isRedactedMoveAway(alice, { ...away, row: at(2, 'paid') })).toBe(false);
    expect(isRedactedMoveAway(alice, { ...away, row: at(1) })).toBe(false);
    expect(isRedactedMoveAway(alice, { ...away, row: at(2, 'pending', 'Bob') })).toBe(false);
  });

  it('judges a customer’s before-less remove of an update by the holding rule: its row is a stand-in', () => {
    const standIn = { ...at(2), productName: '' };
    const change = { op: 'update' as const, effect: 'remove' as const, before: null, row: standIn };
    expect(expectedEffectOn(alice, { customer: 'Alice' }, change)).toBe('remove-if-held');
    // Staff see the real row: inside the filter, an update is an upsert.
    expect(expectedEffectOn({ role: 'staff' }, { customer: 'Alice' }, change)).toBe('upsert');
    const away = { ...change, before: at(1) };
    expect(expectedEffectOn(alice, { customer: 'Alice' }, { ...away, row: at(2) })).toBe('remove');
    expect(expectedEffectOn(alice, { customer: 'Alice' }, { ...away, effect: 'upsert', row: at(2) })).toBe(
      'upsert',
    );
  });
});
