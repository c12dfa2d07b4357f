import { describe, expect, it } from 'vitest';
import { isStreamId, splitStreamId } from './stream-id.ts';

describe('stream ids', () => {
  it('splits into numbers, so ids compare numerically, not as strings', () => {
    expect(splitStreamId('9-0')).toEqual([9, 0]);
    expect(splitStreamId('10-10')).toEqual([10, 10]);
    expect(splitStreamId('1700000000000-2')).toEqual([1700000000000, 2]);
  });

  it('validates the shape', () => {
    expect(isStreamId('1700000000000-0')).toBe(true);
    expect(isStreamId('0-0')).toBe(true);
    expect(isStreamId('17000')).toBe(false);
    expect(isStreamId('a-b')).toBe(false);
    expect(isStreamId('1-2-3')).toBe(false);
  });
});
