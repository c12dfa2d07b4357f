import { describe, expect, it } from 'vitest';
import { scopeFilter } from './scope.ts';

describe('scopeFilter', () => {
  it('leaves staff filters alone', () => {
    expect(scopeFilter({ role: 'staff' }, { customer: 'Bob' })).toEqual({
      ok: true,
      filter: { customer: 'Bob' },
    });
  });

  it('ANDs the customer into every customer filter and refuses other customers', () => {
    const alice = { role: 'customer', customer: 'Alice' } as const;
    expect(scopeFilter(alice, undefined)).toEqual({ ok: true, filter: { customer: 'Alice' } });
    expect(scopeFilter(alice, { status: ['paid'], ids: [3] })).toEqual({
      ok: true,
      filter: { status: ['paid'], ids: [3], customer: 'Alice' },
    });
    expect(scopeFilter(alice, { customer: 'Alice' })).toMatchObject({ ok: true });
    expect(scopeFilter(alice, { customer: 'Bob' })).toMatchObject({ ok: false });
  });
});
