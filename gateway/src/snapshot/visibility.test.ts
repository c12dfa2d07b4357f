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

describe('Visibility with the WAL position of its page', () => {
  it('takes a change written at or past the position as unseen, whatever its 32-bit id', () => {
    const epoch = 5n * 0x1_0000_0000n;
    const v = Visibility.parse(`${epoch + 100n}:${epoch + 110n}:${epoch + 105n}`, '7000');
    // 2^31 + 120 ids later the 32-bit id 120 wraps to read as 110 - 2^31 + 10: below xmin.
    const far = Number((epoch + 110n + 0x8000_0000n + 10n) % 0x1_0000_0000n);
    expect(v.sees(far)).toBe(true);
    expect(v.sees(far, '7000')).toBe(false);
    expect(v.sees(far, '123456789')).toBe(false);
    // Written before the page was read: the snapshot decides, the 32-bit id placed near xmax.
    expect(v.sees(101, '6999')).toBe(true);
    expect(v.sees(105, '6999')).toBe(false);
    // No position to compare: the id alone.
    expect(v.sees(101, '')).toBe(true);
  });

  it('keeps the snapshot text as its identity, the position aside', () => {
    expect(Visibility.parse('7:9:', '10').text).toBe('7:9:');
  });

  it('refuses a position that is not a decimal WAL offset', () => {
    expect(() => Visibility.parse('7:9:', '0/16B3748')).toThrow(/not a WAL position/);
  });
});
