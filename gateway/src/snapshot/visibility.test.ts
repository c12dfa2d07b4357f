import { describe, expect, it } from 'vitest';
import { Visibility } from './visibility.ts';

describe('Visibility', () => {
  it('sees what committed before xmin, and below xmax unless in progress', () => {
    const v = Visibility.parse('100:110:102,105');
    expect(v.sees(99)).toBe(true);
    expect(v.sees(100)).toBe(true);
    expect(v.sees(101)).toBe(true);
    expect(v.sees(102)).toBe(false);
    expect(v.sees(105)).toBe(false);
    expect(v.sees(109)).toBe(true);
    expect(v.sees(110)).toBe(false);
    expect(v.sees(200)).toBe(false);
  });

  it('reads an empty in-progress list', () => {
    const v = Visibility.parse('7:7:');
    expect(v.sees(6)).toBe(true);
    expect(v.sees(7)).toBe(false);
  });

  it('places 32-bit ids in the snapshot epoch, across the wrap', () => {
    const epoch2 = 2n * 0x1_0000_0000n;
    // xmax just after the wrap into epoch 2: 0xfffffff0 is from epoch 1 and committed long ago.
    const v = Visibility.parse(`${epoch2 + 5n}:${epoch2 + 10n}:${epoch2 + 7n}`);
    expect(v.sees(0xffff_fff0)).toBe(true);
    expect(v.sees(6)).toBe(true);
    expect(v.sees(7)).toBe(false);
    expect(v.sees(10)).toBe(false);
    // Full 64-bit ids (Debezium's own snapshot transaction) are taken as they are.
    expect(v.sees(Number(epoch2 + 6n))).toBe(true);
    expect(v.sees(Number(epoch2 + 11n))).toBe(false);
  });

  it('refuses what is not a snapshot', () => {
    expect(() => Visibility.parse('1:2')).toThrow(/not a PostgreSQL snapshot/);
    expect(() => Visibility.parse('a:b:')).toThrow(/not a PostgreSQL snapshot/);
  });
});
