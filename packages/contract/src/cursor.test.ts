import { describe, expect, it } from 'vitest';
import { formatCursor, isCursorText, parseCursor } from './cursor.ts';

describe('cursors', () => {
  it('round-trips epoch and stream id', () => {
    const text = formatCursor('a1b2c3', '1700000000000-4');
    expect(parseCursor(text)).toEqual({ kind: 'cursor', cursor: { epoch: 'a1b2c3', id: '1700000000000-4' } });
  });

  it('splits at the last dot, so epochs may contain dots', () => {
    expect(parseCursor('1700.42.5-0')).toEqual({ kind: 'cursor', cursor: { epoch: '1700.42', id: '5-0' } });
  });

  it('recognises bare stream ids from before epochs', () => {
    expect(parseCursor('1700000000000-0')).toEqual({ kind: 'legacy', id: '1700000000000-0' });
    expect(isCursorText('5-0')).toBe(true);
  });

  it('rejects anything else', () => {
    for (const bad of ['garbage', '', '.5-0', 'e.', 'e.5', 'e p.5-0', 'e.5-0-1']) {
      expect(parseCursor(bad)).toEqual({ kind: 'invalid' });
    }
  });
});
