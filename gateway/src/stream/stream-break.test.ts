import { describe, expect, it } from 'vitest';
import { breakAction } from './stream-break.ts';

describe('breakAction', () => {
  it('resyncs from history after lost entries that lie ahead of every position', () => {
    expect(breakAction({ kind: 'predecessor', expected: '5-0', found: '7-0', id: '8-0' }, '5-0')).toBe(
      'resync',
    );
    expect(breakAction({ kind: 'recreated' }, '5-0')).toBe('resync');
    expect(breakAction({ kind: 'epoch' }, undefined)).toBe('resync');
  });

  it('resyncs after a lapse when nothing read can be newer than the heartbeat that ended it', () => {
    expect(breakAction({ kind: 'lapse', at: 2000 }, '1999-5')).toBe('resync');
    expect(breakAction({ kind: 'lapse', at: 2000 }, undefined)).toBe('resync');
  });

  it('resets after a lapse when an entry read may already lie beyond the hole', () => {
    expect(breakAction({ kind: 'lapse', at: 2000 }, '2000-0')).toBe('reset');
    expect(breakAction({ kind: 'lapse', at: 2000 }, '2500-1')).toBe('reset');
  });
});
