import { describe, expect, it } from 'vitest';
import { parseClientFrame } from './client-frame.ts';
import { limits } from './limits.ts';

describe('parseClientFrame', () => {
  it('accepts the v1 messages', () => {
    expect(parseClientFrame('{"type":"ping"}')).toEqual({ ok: true, frame: { type: 'ping' } });
    expect(parseClientFrame('{"type":"unsubscribe","sub":"s1"}')).toMatchObject({ ok: true });
    const sub = parseClientFrame(
      JSON.stringify({
        type: 'subscribe',
        sub: 's1',
        filter: { status: ['pending'], customer: 'Alice', ids: [1, 2] },
        cursor: '1700000000000-3',
      }),
    );
    expect(sub).toMatchObject({ ok: true, frame: { filter: { ids: [1, 2] }, cursor: '1700000000000-3' } });
  });

  it('accepts an auth frame with a token of bounded length and nothing else', () => {
    expect(parseClientFrame('{"type":"auth","token":"a.b.c"}')).toEqual({
      ok: true,
      frame: { type: 'auth', token: 'a.b.c' },
    });
    expect(parseClientFrame('{"type":"auth"}')).toMatchObject({ ok: false, message: /token/ });
    expect(parseClientFrame('{"type":"auth","token":""}')).toMatchObject({ ok: false });
    expect(parseClientFrame('{"type":"auth","token":42}')).toMatchObject({ ok: false });
    const long = JSON.stringify({ type: 'auth', token: 'x'.repeat(limits.tokenLength + 1) });
    expect(parseClientFrame(long)).toMatchObject({ ok: false, message: /token/ });
  });

  it('rejects what is not JSON text', () => {
    expect(parseClientFrame(new ArrayBuffer(3))).toMatchObject({ ok: false });
    expect(parseClientFrame('{nope')).toEqual({ ok: false, message: 'invalid JSON' });
    expect(parseClientFrame('x'.repeat(limits.frameLength + 1))).toMatchObject({ ok: false });
  });

  it('rejects unknown types and wrong field types, echoing a readable sub id', () => {
    expect(parseClientFrame('{"type":"hack"}')).toMatchObject({ ok: false });
    expect(parseClientFrame('[]')).toMatchObject({ ok: false });
    expect(parseClientFrame('null')).toMatchObject({ ok: false });
    expect(parseClientFrame('{"type":"subscribe","sub":"s1","filter":{"status":["lost"]}}')).toMatchObject({
      ok: false,
      sub: 's1',
    });
    expect(parseClientFrame('{"type":"subscribe","sub":"s1","filter":{"ids":[-1]}}')).toMatchObject({
      ok: false,
    });
    expect(parseClientFrame('{"type":"subscribe","sub":"s1","filter":{"colour":"red"}}')).toMatchObject({
      ok: false,
    });
    expect(parseClientFrame('{"type":"subscribe","sub":"s1","cursor":"abc"}')).toMatchObject({ ok: false });
    expect(parseClientFrame('{"type":"subscribe","sub":""}')).toMatchObject({ ok: false });
    expect(parseClientFrame('{"type":"subscribe","sub":7}')).toEqual(expect.objectContaining({ ok: false }));
  });

  it('caps filter sizes', () => {
    const ids = Array.from({ length: limits.filterIds + 1 }, (_, i) => i + 1);
    expect(parseClientFrame(JSON.stringify({ type: 'subscribe', sub: 's', filter: { ids } }))).toMatchObject({
      ok: false,
    });
  });
});
