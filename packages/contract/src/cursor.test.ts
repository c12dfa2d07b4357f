import { describe, expect, it } from 'vitest';
import {
  CURSOR_SEPARATOR,
  cursorPositions,
  fenceCursor,
  formatCursor,
  formatCursorVector,
  isCursorText,
  isEpoch,
  parseCursor,
  UNBOUNDED_FENCE,
} from './cursor.ts';

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

describe('vector cursors (shard groups)', () => {
  const positions = [
    { epoch: 'a1', id: '1700000000000-4' },
    { epoch: 'b.2', id: '0-0' },
    { epoch: 'c3', id: '17-1' },
  ];

  it('round-trips one position per group, in group order', () => {
    const text = formatCursorVector(positions);
    expect(text).toBe('a1.1700000000000-4~b.2.0-0~c3.17-1');
    expect(parseCursor(text)).toEqual({ kind: 'vector', cursors: positions });
  });

  it('writes one group as the plain cursor', () => {
    const text = formatCursorVector([{ epoch: 'e', id: '5-0' }]);
    expect(text).toBe(formatCursor('e', '5-0'));
    expect(parseCursor(text)).toEqual({ kind: 'cursor', cursor: { epoch: 'e', id: '5-0' } });
    expect(() => formatCursorVector([])).toThrow();
  });

  it('keeps the separator out of epochs', () => {
    expect(isEpoch('a~b')).toBe(false);
    expect(isEpoch('a.b-c_d')).toBe(true);
    expect(parseCursor('a~b.5-0')).toEqual({ kind: 'invalid' });
  });

  it('rejects a vector with any malformed or empty part', () => {
    for (const bad of ['a.1-0~', '~a.1-0', 'a.1-0~~b.1-0', 'a.1-0~5-0', 'a.1-0~b.5', 'a.1-0~b c.1-0']) {
      expect(parseCursor(bad)).toEqual({ kind: 'invalid' });
      expect(isCursorText(bad)).toBe(false);
    }
    expect(parseCursor(Array(300).fill('e.1-0').join(CURSOR_SEPARATOR))).toEqual({ kind: 'invalid' });
  });

  it('gives the positions only when the arity matches the groups', () => {
    const vector = parseCursor(formatCursorVector(positions));
    const plain = parseCursor('e.5-0');
    expect(cursorPositions(vector, 3)).toEqual(positions);
    expect(cursorPositions(vector, 2)).toBeUndefined();
    expect(cursorPositions(vector, 1)).toBeUndefined();
    expect(cursorPositions(plain, 1)).toEqual([{ epoch: 'e', id: '5-0' }]);
    expect(cursorPositions(plain, 3)).toBeUndefined();
    expect(cursorPositions(parseCursor('5-0'), 1)).toBeUndefined();
    expect(cursorPositions(parseCursor('x'), 1)).toBeUndefined();
  });
});

describe('fences', () => {
  it('round-trips a fence on a plain cursor and on a vector', () => {
    expect(fenceCursor('e.5-0', 123456789n)).toBe('e.5-0@123456789');
    expect(parseCursor('e.5-0@123456789')).toEqual({
      kind: 'cursor',
      cursor: { epoch: 'e', id: '5-0' },
      fence: 123456789n,
    });
    expect(parseCursor('a.1-0~b.2-0@7')).toEqual({
      kind: 'vector',
      cursors: [
        { epoch: 'a', id: '1-0' },
        { epoch: 'b', id: '2-0' },
      ],
      fence: 7n,
    });
    expect(fenceCursor('e.5-0', undefined)).toBe('e.5-0');
    expect(parseCursor(fenceCursor('e.5-0', UNBOUNDED_FENCE))).toMatchObject({ fence: UNBOUNDED_FENCE });
  });

  it('leaves an epoch holding the separator alone', () => {
    expect(parseCursor('a@1.5-0')).toEqual({ kind: 'cursor', cursor: { epoch: 'a@1', id: '5-0' } });
    expect(parseCursor('a@1.5-0@9')).toMatchObject({ cursor: { epoch: 'a@1', id: '5-0' }, fence: 9n });
  });

  it('rejects a fence on anything but positions, and one past the highest WAL position', () => {
    for (const bad of [
      '5-0@1',
      'e.5-0@',
      'e.5-0@x',
      'e.5-0@1@2',
      '@1',
      `e.5-0@${UNBOUNDED_FENCE + 1n}`,
      'e.5-0@123456789012345678901',
    ]) {
      expect(parseCursor(bad), bad).toEqual({ kind: 'invalid' });
    }
  });
});
