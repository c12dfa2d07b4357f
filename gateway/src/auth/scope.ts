import type { FilterInput } from '@orders/contract';
import type { Principal } from './principal.ts';

export type ScopeResult = { ok: true; filter: FilterInput | undefined } | { ok: false; message: string };

/**
 * ANDs a customer's identity into the filter they asked for. Asking for another customer is
 * refused rather than narrowed to nothing, so a misconfigured page fails visibly.
 */
export function scopeFilter(principal: Principal, input: FilterInput | undefined): ScopeResult {
  if (principal.role === 'staff') return { ok: true, filter: input };
  if (input?.customer !== undefined && input.customer !== principal.customer) {
    return { ok: false, message: 'customer tokens may only subscribe to their own orders' };
  }
  return { ok: true, filter: { ...input, customer: principal.customer } };
}
