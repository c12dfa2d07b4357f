import { describe, expect, it } from 'vitest';
import type { Principal } from '../auth/principal.ts';
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
    const first = caps.acquire('10.0.0.1', alice);
    expect(caps.acquire('10.0.0.2', alice)).toBe('principal');
    expect(caps.countFor('10.0.0.2')).toBe(0);
    expect(typeof caps.acquire('10.0.0.2', customer('bob'))).toBe('object');
    if (typeof first === 'string') throw new Error('expected a lease');
    first.release();
    expect(typeof caps.acquire('10.0.0.2', alice)).toBe('object');
  });

  it('[P78] counts staff per token subject, under a larger ceiling shared by all staff', () => {
    const caps = new ConnectionCaps({ perAddress: 100, perPrincipal: 2, staffTotal: 5 });
    const ann = { role: 'staff', sub: 'ann' } as const;
    const leases = [caps.acquire('10.0.0.1', ann), caps.acquire('10.0.0.2', ann)];
    expect(caps.acquire('10.0.0.3', ann)).toBe('principal');
    // One busy member of staff locks nobody else out.
    leases.push(caps.acquire('10.0.0.3', { role: 'staff', sub: 'ben' }));
    leases.push(caps.acquire('10.0.0.4', { role: 'staff', sub: 'cid' }));
    // Staff tokens without a subject cannot be told apart: they share one key.
    leases.push(caps.acquire('10.0.0.5', STAFF_NO_SUB));
    expect(leases.every((l) => typeof l === 'object')).toBe(true);
    expect(caps.acquire('10.0.0.6', { role: 'staff', sub: 'dee' })).toBe('staff');
    // Customers are not staff: the ceiling does not apply to them.
    expect(typeof caps.acquire('10.0.0.6', alice)).toBe('object');
    const first = leases[0];
    if (typeof first !== 'object') throw new Error('expected a lease');
    first.release();
    expect(typeof caps.acquire('10.0.0.6', { role: 'staff', sub: 'dee' })).toBe('object');
  });

  it('gives back every count a lease took (address, principal, staff), once however often it is released', () => {
    const caps = new ConnectionCaps({ perAddress: 1, perPrincipal: 1, staffTotal: 1 });
    const ann = { role: 'staff', sub: 'ann' } as const;
    const lease = caps.acquire('10.0.0.1', ann);
    if (typeof lease === 'string') throw new Error('expected a lease');
    expect(caps.acquire('10.0.0.1', undefined)).toBe('address');
    expect(caps.acquire('10.0.0.2', ann)).toBe('principal');
    expect(caps.acquire('10.0.0.2', { role: 'staff', sub: 'ben' })).toBe('staff');
    lease.release();
    lease.release();
    expect(caps.countFor('10.0.0.1')).toBe(0);
    const again = caps.acquire('10.0.0.1', ann);
    expect(typeof again).toBe('object');
    // Released twice, the first lease did not give back the count of the one that replaced it.
    expect(caps.acquire('10.0.0.2', { role: 'staff', sub: 'ben' })).toBe('staff');
  });

  it('lets staff without a subject share the per-principal cap', () => {
    const caps = new ConnectionCaps({ perAddress: 100, perPrincipal: 1, staffTotal: 10 });
    expect(typeof caps.acquire('10.0.0.1', STAFF_NO_SUB)).toBe('object');
    expect(caps.acquire('10.0.0.2', STAFF_NO_SUB)).toBe('principal');
  });
});

const customer = (name: string): Principal => ({ role: 'customer', customer: name });
const alice = customer('alice');
const STAFF_NO_SUB: Principal = { role: 'staff' };

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

  it('drops the port a proxy wrote into X-Forwarded-For, so a client is one key on every connection', () => {
    for (const [hops, expected] of [
      ['198.51.100.7:4711', '198.51.100.7'],
      ['198.51.100.7:61000, 10.0.0.9:443', '198.51.100.7'],
      ['[2001:db8:1:2::7]:4711', clientAddress('2001:db8:1:2::7', undefined, proxies)],
      ['[2001:db8:1:2::7]', clientAddress('2001:db8:1:2::7', undefined, proxies)],
    ] as const)
      expect(clientAddress('127.0.0.1', hops, proxies), hops).toBe(expected);
  });

  it('counts an IPv6 client by its /64, the block one subscriber gets', () => {
    const none = new Set<string>();
    const key = (a: string) => clientAddress(a, undefined, none);
    expect(key('2001:db8:1:2::1')).toBe(key('2001:db8:1:2:ffff:ffff:ffff:fffe'));
    expect(key('2001:DB8:1:2:0:0:0:9')).toBe(key('2001:db8:1:2::1'));
    expect(key('2001:db8:1:2::1')).toBe('2001:db8:1:2::/64');
    expect(key('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(key('2001:db8:1:3::1')).not.toBe(key('2001:db8:1:2::1'));
    expect(key('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(key('::ffff:203.0.113.9')).toBe('203.0.113.9');
    expect(key('203.0.113.9')).toBe('203.0.113.9');
    // Behind a trusted proxy too.
    expect(clientAddress('127.0.0.1', '2001:db8:1:2::abcd', proxies)).toBe('2001:db8:1:2::/64');
  });
});
