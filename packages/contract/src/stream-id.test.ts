import { describe, expect, it } from 'vitest';
import { compareStreamIds, isStreamId } from './stream-id.ts';

describe('stream ids', () => {
  it('compares numerically, not as strings', () => {
    expect(compareStreamIds('9-0', '10-0')).toBeLessThan(0);
    expect(compareStreamIds('10-2', '10-10')).toBeLessThan(0);
    expect(compareStreamIds('10-2', '10-2')).toBe(0);
    expect(compareStreamIds('11-0', '10-99')).toBeGreaterThan(0);
  });

  it('validates the shape', () => {
    expect(isStreamId('1700000000000-0')).toBe(true);
    expect(isStreamId('0-0')).toBe(true);
    expect(isStreamId('17000')).toBe(false);
    expect(isStreamId('a-b')).toBe(false);
    expect(isStreamId('1-2-3')).toBe(false);
  });
});
