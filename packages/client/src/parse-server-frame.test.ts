import { errorCodes, orderStatuses, resetReasons, serverFrameSchema } from '@orders/contract';
import { orderAt } from '@orders/contract/testing';
import { describe, expect, it } from 'vitest';
import { parseServerFrame } from './parse-server-frame.ts';

const row = orderAt(7, 3);
const change = {
  type: 'change',
  sub: 's1',
  cursor: '5-0',
  op: 'update',
  effect: 'upsert',
  row,
  before: orderAt(7, 2),
  committedAt: 1764151234567,
};

/** Frames of gateway/PROTOCOL.md, and one way each could be wrong. */
const valid: Record<string, unknown> = {
  welcome: { type: 'welcome', gateway: 'gw-1', protocol: 1, heartbeatMs: 15000 },
  'welcome with features': {
    type: 'welcome',
    gateway: 'gw-1',
    protocol: 1,
    heartbeatMs: 15000,
    features: ['changes'],
  },
  'welcome offering an unknown feature': {
    type: 'welcome',
    gateway: 'gw-1',
    protocol: 1,
    heartbeatMs: 15000,
    features: ['changes', 'teleport'],
  },
  snapshot: { type: 'snapshot', sub: 's1', rows: [row, orderAt(8, 1)], cursor: '5-0', done: false },
  'empty snapshot': { type: 'snapshot', sub: 's1', rows: [], cursor: '5-0', done: true },
  change,
  'change of a remove': { ...change, op: 'delete', effect: 'remove', before: null },
  'conflated change': { ...change, conflated: true },
  'change with a field of a later extension': { ...change, traceId: 'abc' },
  changes: { type: 'changes', changes: [change, { ...change, cursor: '6-0' }] },
  live: { type: 'live', sub: 's1', cursor: '5-0', recovered: true },
  ...Object.fromEntries(
    resetReasons.map((reason) => [`reset ${reason}`, { type: 'reset', sub: 's1', reason }]),
  ),
  ...Object.fromEntries(errorCodes.map((code) => [`error ${code}`, { type: 'error', code, message: 'no' }])),
  'error of a subscription': { type: 'error', code: 'internal', message: 'database', sub: 's1' },
  pong: { type: 'pong' },
  'pong with cursors': { type: 'pong', cursors: { s1: '5-0', s2: '6-0' } },
  unsubscribed: { type: 'unsubscribed', sub: 's1' },
  authed: { type: 'authed', exp: 1764151234 },
  ...Object.fromEntries(
    orderStatuses.map((status) => [
      `snapshot of a ${status} order`,
      { ...validSnapshot(), rows: [{ ...row, status }] },
    ]),
  ),
};

function validSnapshot() {
  return { type: 'snapshot', sub: 's1', rows: [row], cursor: '5-0', done: true };
}

const invalid: Record<string, unknown> = {
  'not an object': 'welcome',
  null: null,
  array: [{ type: 'pong' }],
  'no type': { gateway: 'gw-1' },
  'unknown type': { type: 'teleport', sub: 's1' },
  'welcome of another protocol': { type: 'welcome', gateway: 'gw-1', protocol: 2, heartbeatMs: 15000 },
  'welcome without heartbeat': { type: 'welcome', gateway: 'gw-1', protocol: 1 },
  'welcome with zero heartbeat': { type: 'welcome', gateway: 'gw-1', protocol: 1, heartbeatMs: 0 },
  'welcome with features not a list': {
    type: 'welcome',
    gateway: 'gw-1',
    protocol: 1,
    heartbeatMs: 1,
    features: 'changes',
  },
  'snapshot without done': { type: 'snapshot', sub: 's1', rows: [], cursor: '5-0' },
  'snapshot with a row missing its version': { ...validSnapshot(), rows: [{ ...row, version: undefined }] },
  'snapshot with an unknown status': { ...validSnapshot(), rows: [{ ...row, status: 'lost' }] },
  'snapshot with a fractional id': { ...validSnapshot(), rows: [{ ...row, id: 1.5 }] },
  'snapshot with id 0': { ...validSnapshot(), rows: [{ ...row, id: 0 }] },
  'change without cursor': { ...change, cursor: undefined },
  'change with an unknown op': { ...change, op: 'upsert' },
  'change with an unknown effect': { ...change, effect: 'delete' },
  'change with a string commit time': { ...change, committedAt: '2026-01-01' },
  'change without before': { ...change, before: undefined },
  'change conflated false': { ...change, conflated: false },
  'changes holding a live frame': {
    type: 'changes',
    changes: [change, { type: 'live', sub: 's1', cursor: '5-0', recovered: true }],
  },
  'changes not a list': { type: 'changes', changes: change },
  'live without recovered': { type: 'live', sub: 's1', cursor: '5-0' },
  'reset with an unknown reason': { type: 'reset', sub: 's1', reason: 'bored' },
  'reset without sub': { type: 'reset', reason: 'truncate' },
  'error with an unknown code': { type: 'error', code: 'teapot', message: 'no' },
  'error without message': { type: 'error', code: 'internal' },
  'error with a numeric sub': { type: 'error', code: 'internal', message: 'no', sub: 1 },
  'pong with a numeric cursor': { type: 'pong', cursors: { s1: 5 } },
  'pong with cursors as a list': { type: 'pong', cursors: ['5-0'] },
  'unsubscribed without sub': { type: 'unsubscribed' },
  'authed with a string exp': { type: 'authed', exp: '1764151234' },
};

describe('parseServerFrame', () => {
  it.each(Object.entries(valid))('accepts %s, as the contract schema does', (_, frame) => {
    expect(serverFrameSchema.safeParse(frame).success).toBe(true);
    const parsed = parseServerFrame(JSON.stringify(frame));
    expect(parsed.ok).toBe(true);
  });

  it.each(Object.entries(invalid))('rejects %s, as the contract schema does', (_, frame) => {
    expect(serverFrameSchema.safeParse(frame).success).toBe(false);
    const parsed = parseServerFrame(JSON.stringify(frame));
    expect(parsed.ok).toBe(false);
  });

  it('hands back the frame it read, keeping only the features this client knows', () => {
    expect(parseServerFrame(JSON.stringify(valid.change))).toEqual({ ok: true, frame: change });
    const welcome = parseServerFrame(JSON.stringify(valid['welcome offering an unknown feature']));
    expect(welcome).toEqual({
      ok: true,
      frame: { type: 'welcome', gateway: 'gw-1', protocol: 1, heartbeatMs: 15000, features: ['changes'] },
    });
    expect(welcome).toEqual({
      ok: true,
      frame: serverFrameSchema.parse(valid['welcome offering an unknown feature']),
    });
  });

  it('says what was wrong: no JSON, no text, or which frame', () => {
    expect(parseServerFrame('{"type":')).toEqual({ ok: false, message: 'gateway sent invalid JSON' });
    expect(parseServerFrame(new Uint8Array([1]))).toEqual({
      ok: false,
      message: 'gateway sent a binary frame',
    });
    expect(parseServerFrame('{"type":"live","sub":"s1"}')).toEqual({
      ok: false,
      message: 'gateway sent an invalid live frame',
    });
    expect(parseServerFrame('[]')).toEqual({ ok: false, message: 'gateway sent a frame without type' });
  });
});
