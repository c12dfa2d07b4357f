import { describe, expect, it } from 'vitest';
import { isTerminal, nextStatus } from './transitions.ts';

const never = () => 0.99;
const always = () => 0;

describe('nextStatus', () => {
  it('follows the happy path when no cancellation is drawn', () => {
    expect(nextStatus('pending', never)).toBe('paid');
    expect(nextStatus('paid', never)).toBe('shipped');
    expect(nextStatus('shipped', never)).toBe('delivered');
  });

  it('cancels only before shipping', () => {
    expect(nextStatus('pending', always)).toBe('cancelled');
    expect(nextStatus('paid', always)).toBe('cancelled');
    expect(nextStatus('shipped', always)).toBe('delivered');
  });

  it('ends at delivered and cancelled', () => {
    expect(nextStatus('delivered', always)).toBeNull();
    expect(nextStatus('cancelled', never)).toBeNull();
    expect(isTerminal('delivered')).toBe(true);
    expect(isTerminal('cancelled')).toBe(true);
    expect(isTerminal('shipped')).toBe(false);
  });
});
