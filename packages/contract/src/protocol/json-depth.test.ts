import { describe, expect, it } from 'vitest';
import { nestsDeeperThan } from './json-depth.ts';

describe('nestsDeeperThan', () => {
  it('measures nesting outside strings only', () => {
    const frame = JSON.stringify({ type: 'subscribe', sub: '[[[[', filter: { ids: [1, 2] } });
    expect(nestsDeeperThan(frame, 3)).toBe(false);
    expect(nestsDeeperThan(frame, 2)).toBe(true);
    expect(nestsDeeperThan(JSON.stringify({ s: '\\"[[[[[[' }), 1)).toBe(false);
    expect(nestsDeeperThan('['.repeat(50_000), 8)).toBe(true);
    expect(nestsDeeperThan('[[[]]]', 3)).toBe(false);
  });
});
