import { describe, expect, it } from 'vitest';
import { clientAddress } from './client-address.ts';
import { ConnectionCaps } from './connection-caps.ts';

describe('ConnectionCaps', () => {
  it('refuses past the address cap and frees a slot on release', () => {
    const caps = new ConnectionCaps({ perAddress: 2, perPrincipal: 10 });
    const a = caps.acquire('10.0.0.1', undefined);
    const b = caps.acquire('10.0.0.1', undefined);
    expect(caps.acquire('10.0.0.1', undefined)).toBe('address');
    expect(typeof caps.acquire('10.0.0.2', undefined)).toBe('object');
    if (typeof a === 'string' || typeof b === 'string') throw new Error('expected leases');
    a.release();
    a.release();
    expect(caps.countFor('10.0.0.1')).toBe(1);
    expect(typeof caps.acquire('10.0.0.1', undefined)).toBe('object');
  });

  it('refuses past the principal cap across addresses', () => {
    const caps = new ConnectionCaps({ perAddress: 10, perPrincipal: 1 });
    const first = caps.acquire('10.0.0.1', 'customer:alice');
    expect(caps.acquire('10.0.0.2', 'customer:alice')).toBe('principal');
    expect(caps.countFor('10.0.0.2')).toBe(0);
    expect(typeof caps.acquire('10.0.0.2', 'customer:bob')).toBe('object');
    if (typeof first === 'string') throw new Error('expected a lease');
    first.release();
    expect(typeof caps.acquire('10.0.0.2', 'customer:alice')).toBe('object');
  });
});

describe('clientAddress', () => {
  const proxies = new Set(['127.0.0.1', '10.0.0.9']);

  it('ignores X-Forwarded-For from a peer that is not a trusted proxy', () => {
    expect(clientAddress('203.0.113.5', '1.2.3.4', proxies)).toBe('203.0.113.5');
  });

  it('takes the right-most untrusted hop behind trusted proxies', () => {
    expect(clientAddress('::ffff:127.0.0.1', 'forged, 198.51.100.7, 10.0.0.9', proxies)).toBe('198.51.100.7');
  });

  it('falls back to the left-most hop when every hop is trusted', () => {
    expect(clientAddress('127.0.0.1', '10.0.0.9', proxies)).toBe('10.0.0.9');
    expect(clientAddress('127.0.0.1', undefined, proxies)).toBe('127.0.0.1');
  });
});
