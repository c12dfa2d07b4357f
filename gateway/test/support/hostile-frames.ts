import { limits } from '@orders/contract';

/** Small seeded PRNG, so a failing fuzz run can be replayed with the same seed. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type HostileFrame = { data: string | Buffer; binary: boolean; expect: 'bad_request' | 'too_large' };

const wrongTypes: unknown[] = [
  { type: 'subscribe', sub: 123 },
  { type: 'subscribe', sub: '' },
  { type: 'subscribe', sub: 'x', filter: { ids: 'all' } },
  { type: 'subscribe', sub: 'x', filter: { ids: [-1, 0, 1.5] } },
  { type: 'subscribe', sub: 'x', filter: { status: ['lost'] } },
  { type: 'subscribe', sub: 'x', filter: { customer: { $ne: null } } },
  { type: 'subscribe', sub: 'x', filter: { colour: 'red' } },
  { type: 'subscribe', sub: 'x', filter: [] },
  { type: 'subscribe', sub: 'x', cursor: { gt: 0 } },
  { type: 'subscribe', sub: 'x', cursor: '../../etc/passwd' },
  { type: 'unsubscribe' },
  { type: 'unsubscribe', sub: 'never-subscribed' },
  { type: 42 },
  { type: 'admin', command: 'flushall' },
  { type: ['ping'] },
  { __proto__: { type: 'ping' } },
  JSON.parse('{"__proto__":{"type":"ping"}}'),
  [1, 2, 3],
  null,
  'ping',
  12345,
  true,
];

/**
 * One frame the gateway must answer with exactly one error frame (and keep the socket):
 * random bytes, random text, broken JSON, well-formed JSON of the wrong shape, too-long text.
 */
export function hostileFrame(random: () => number): HostileFrame {
  const roll = random();
  const int = (n: number) => Math.floor(random() * n);
  if (roll < 0.2) {
    const bytes = Buffer.alloc(1 + int(512));
    for (let i = 0; i < bytes.length; i++) bytes[i] = int(256);
    return { data: bytes, binary: true, expect: 'bad_request' };
  }
  if (roll < 0.4) {
    // Random BMP characters outside the surrogate range: valid UTF-8, almost never JSON.
    let text = '{';
    for (let i = int(300); i > 0; i--) text += String.fromCharCode(0x20 + int(0xd7ff - 0x20));
    return { data: text, binary: false, expect: 'bad_request' };
  }
  if (roll < 0.6) {
    const valid = JSON.stringify({
      type: 'subscribe',
      sub: 's',
      filter: { status: ['pending'], ids: [1, 2] },
    });
    return { data: valid.slice(0, int(valid.length - 1)), binary: false, expect: 'bad_request' };
  }
  if (roll < 0.75) {
    let nested = '';
    const depth = 1 + int(2000);
    nested = `${'['.repeat(depth)}${']'.repeat(depth)}`;
    return { data: nested, binary: false, expect: 'bad_request' };
  }
  if (roll < 0.97) {
    return { data: JSON.stringify(wrongTypes[int(wrongTypes.length)]), binary: false, expect: 'bad_request' };
  }
  const long = limits.frameLength + 1 + int(100_000);
  return {
    data: JSON.stringify({ type: 'ping', pad: 'x'.repeat(long) }),
    binary: false,
    expect: 'too_large',
  };
}
