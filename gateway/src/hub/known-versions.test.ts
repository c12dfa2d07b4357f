import type { StreamChange } from '@orders/contract/redis';
import { orderAt } from '@orders/contract/testing';
import { describe, expect, it } from 'vitest';
import { RowVersions } from '../snapshot/row-versions.ts';
import { Visibility } from '../snapshot/visibility.ts';
import { KnownVersions } from './known-versions.ts';

const row = orderAt;

const update = (id: number, version: number, txId: number, partition = 0, lsn = ''): StreamChange => ({
  op: 'update',
  row: row(id, version),
  before: row(id, version - 1),
  committedAt: 9_900,
  txId,
  lsn,
  kafka: { topic: 't', partition, offset: '0', timestamp: 0 },
});

describe('KnownVersions', () => {
  it('remembers shared snapshot pages within `cap`, a page whole or not at all', () => {
    const known = new KnownVersions(4);
    expect(known.rememberPage(RowVersions.of([row(1, 2), row(3, 5)]))).toBe(true);
    // Taking the page would pass the cap: none of its rows are remembered.
    expect(known.rememberPage(RowVersions.of([row(4, 1), row(6, 1), row(8, 1)]))).toBe(false);
    expect(known.size).toBe(2);
    expect(known.rememberPage(RowVersions.of([row(4, 1), row(6, 1)]))).toBe(true);
    // Replayed versions the pages hold are dropped; a newer one passes, and then the row is forgotten.
    const stale = { ...update(3, 5, 1), committedAt: 20_000 };
    expect(known.admit(stale)).toBe(false);
    expect(known.admit({ ...update(3, 6, 1), committedAt: 20_000 })).toBe(true);
    expect(known.admit(stale)).toBe(true);
    expect(known.admit({ ...update(6, 1, 1), committedAt: 20_000 })).toBe(false);
    expect(known.admit({ ...update(5, 1, 1), committedAt: 20_000 })).toBe(true);
  });

  it('takes pages again after clear: a new snapshot starts from nothing', () => {
    const known = new KnownVersions(3);
    expect(known.rememberPage(RowVersions.of([row(1, 1), row(2, 1), row(3, 1)]))).toBe(true);
    expect(known.rememberPage(RowVersions.of([row(4, 1)]))).toBe(false);
    expect(known.size).toBe(3);
    // A change to a row it could not hold is not taken for one the snapshot showed.
    expect(known.admit(update(4, 2, 1))).toBe(true);
    known.clear();
    expect(known.rememberPage(RowVersions.of([row(4, 1)]))).toBe(true);
  });

  it('has a default cap', () => {
    expect(new KnownVersions().cap).toBe(1_000_000);
  });

  it('stops asking the pages about a partition once it delivered a change they do not see', () => {
    const known = new KnownVersions();
    known.pageRead(0, Visibility.parse('100:103:101'));
    known.pageRead(500, Visibility.parse('104:106:'));
    // Partition 0 passes page 1 (tx 101 was in flight), page 2 still decides for it.
    expect(known.admit(update(7, 2, 101))).toBe(true);
    expect(known.admit(update(600, 2, 103))).toBe(false);
    expect(known.passed(0)).toBe(0);
    expect(known.admit(update(600, 3, 107))).toBe(true);
    expect(known.passed(0)).toBe(1);
    // Partition 1 has passed nothing: what page 1 saw is dropped there.
    expect(known.admit(update(8, 2, 99, 1))).toBe(false);
    expect(known.passed(1)).toBe(-1);
    // Past every page, partition 0 no longer consults them, whatever the 32-bit id reads as.
    expect(known.admit(update(9, 2, 99))).toBe(true);
  });
  it('answers alike whether its maps were never made, cleared or retired', () => {
    const admitted = (known: KnownVersions) => [
      known.size,
      known.passed(0),
      known.admit(update(1, 2, 50)),
      known.admit(update(1, 1, 50)),
    ];
    const fresh = admitted(new KnownVersions());
    expect(fresh).toEqual([0, -1, true, true]);

    const cleared = new KnownVersions();
    cleared.rememberPage(RowVersions.of([row(1, 5)]));
    cleared.pageRead(0, Visibility.parse('100:103:101'));
    expect(cleared.admit(update(7, 2, 101))).toBe(true);
    expect(cleared.passed(0)).toBe(0);
    cleared.clear();
    expect(admitted(cleared)).toEqual(fresh);

    const retired = new KnownVersions();
    retired.rememberPage(RowVersions.of([row(1, 5)]));
    retired.sealed(1_000);
    expect(retired.admit(update(1, 5, 50))).toBe(false);
    retired.retireBefore(100_000, 60_000);
    expect(admitted(retired)).toEqual(fresh);
  });

  it('judges with the pages it read once the snapshot is sealed, as before', () => {
    const known = new KnownVersions();
    known.pageRead(0, Visibility.parse('100:103:101'));
    known.pageRead(500, Visibility.parse('104:106:'));
    known.sealed(1_000);
    expect(known.admit(update(7, 2, 102))).toBe(false);
    expect(known.admit(update(600, 2, 105))).toBe(false);
    expect(known.admit(update(600, 3, 107))).toBe(true);
    expect(known.passed(0)).toBe(1);
  });
});
