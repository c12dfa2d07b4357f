import type { ServerFrame } from '@orders/contract';
import type { Order } from '@orders/drizzle';
import { describe, expect, it } from 'vitest';
import { ConformanceChecker, type Scope } from './support/conformance.ts';

// The checker judges every integration socket; these feed it hand-written frames so each of
// its rules is seen to fire (and a correct sequence to pass).

const order = (
  id: number,
  version: number,
  customerName = 'Alice',
  status: Order['status'] = 'pending',
): Order => ({
  id,
  customerName,
  productName: 'widget',
  status,
  version,
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
});
const welcome: ServerFrame = { type: 'welcome', gateway: 'g', protocol: 1, heartbeatMs: 15_000 };
const snapshot = (rows: Order[], done = true, cursor = 'e.5-0'): ServerFrame => ({
  type: 'snapshot',
  sub: 's',
  rows,
  cursor,
  done,
});
const live = (cursor: string, recovered = false): ServerFrame => ({
  type: 'live',
  sub: 's',
  cursor,
  recovered,
});
const change = (
  cursor: string,
  row: Order,
  extra: Partial<Extract<ServerFrame, { type: 'change' }>> = {},
): ServerFrame => ({
  type: 'change',
  sub: 's',
  cursor,
  op: 'update',
  effect: 'upsert',
  row,
  before: null,
  committedAt: 0,
  ...extra,
});

/** The first violation of a sequence: client frames are objects with `send`, server frames plain. */
function judge(frames: (ServerFrame | { send: unknown })[], scope: Scope = { role: 'staff' }) {
  const checker = new ConformanceChecker('test', scope);
  for (const frame of frames) {
    if ('send' in frame) checker.onClientText(JSON.stringify(frame.send));
    else checker.onServerText(JSON.stringify(frame));
  }
  return checker.violation?.split('\n')[0];
}
const subscribe = (filter?: object, cursor?: string) => ({
  send: { type: 'subscribe', sub: 's', filter, cursor },
});

describe('conformance checker', () => {
  it('keeps a loading subscription when a second subscribe under its id is refused', () => {
    const duplicate: ServerFrame = { type: 'error', code: 'bad_request', message: 'exists', sub: 's' };
    expect(judge([welcome, subscribe(), subscribe(), duplicate, snapshot([order(1, 1)])])).toBeUndefined();
    // Without the duplicate, the same refusal ends the subscription before any data.
    expect(judge([welcome, subscribe(), duplicate, snapshot([order(1, 1)])])).toMatch(/after it ended/);
  });

  it('passes a correct sequence', () => {
    expect(
      judge([
        welcome,
        subscribe(),
        snapshot([order(1, 1)], false),
        snapshot([order(2, 1)]),
        change('e.6-0', order(1, 2)),
        live('e.6-0'),
        change('e.7-0', order(1, 3)),
        change('e.8-0', order(1, 3), { op: 'delete', effect: 'remove' }),
        { send: { type: 'ping' } },
        { type: 'pong', cursors: { s: 'e.8-0' } },
        { send: { type: 'unsubscribe', sub: 's' } },
        { type: 'unsubscribed', sub: 's' },
      ]),
    ).toBeUndefined();
  });

  it.each([
    ['a frame before welcome', [subscribe(), snapshot([]), welcome], 'snapshot before welcome'],
    [
      'a change before the snapshot is done',
      [welcome, subscribe(), snapshot([order(1, 1)], false), change('e.6-0', order(2, 1))],
      'before its snapshot was done',
    ],
    [
      'a version that does not rise',
      [welcome, subscribe(), snapshot([order(1, 2)]), change('e.6-0', order(1, 2))],
      'versions must rise',
    ],
    [
      'a change sent twice',
      [
        welcome,
        subscribe(),
        snapshot([]),
        change('e.6-0', order(1, 1), { op: 'delete', effect: 'remove' }),
        change('e.7-0', order(1, 1), { op: 'delete', effect: 'remove' }),
      ],
      'sent twice',
    ],
    [
      'a cursor going back',
      [welcome, subscribe(), snapshot([]), change('e.6-0', order(1, 1)), live('e.5-9')],
      'cursor of s went',
    ],
    [
      'a change replayed from before the cursor the client resumed from',
      [welcome, subscribe(undefined, 'e.6-0'), change('e.5-0', order(1, 2)), live('e.6-0', true)],
      'cursor of s went from 6-0 to 5-0',
    ],
    [
      'a snapshot after a cursor without reset',
      [welcome, subscribe(undefined, 'e.1-0'), snapshot([])],
      'snapshot for s while replay',
    ],
    [
      'live recovered:true after a snapshot',
      [welcome, subscribe(), snapshot([]), live('e.5-0', true)],
      'recovered:true',
    ],
    [
      'an effect the filter contradicts',
      [
        welcome,
        subscribe({ status: ['paid'] }),
        snapshot([]),
        change('e.6-0', order(1, 1, 'Alice', 'pending')),
      ],
      'its filter says remove',
    ],
    [
      'a row twice in one snapshot',
      [welcome, subscribe(), snapshot([order(1, 1)], false), snapshot([order(1, 1)])],
      'twice in the snapshot',
    ],
    [
      'a frame after unsubscribed',
      [
        welcome,
        subscribe(),
        snapshot([]),
        { send: { type: 'unsubscribe', sub: 's' } },
        { type: 'unsubscribed', sub: 's' },
        live('e.5-0'),
      ],
      'after it ended',
    ],
    [
      'pong naming a loading subscription',
      [welcome, subscribe(), { type: 'pong', cursors: { s: 'e.5-0' } }],
      'not a live subscription',
    ],
  ] as const)('catches %s', (_what, frames, message) => {
    expect(judge([...frames])).toContain(message);
  });

  it('lets the snapshot after a reset for a cursor newer than history carry an older cursor', () => {
    const unknown: ServerFrame = { type: 'reset', sub: 's', reason: 'cursor_unknown' };
    expect(
      judge([welcome, subscribe(undefined, 'e.9-0'), unknown, snapshot([order(1, 1)]), live('e.5-0')]),
    ).toBeUndefined();
    expect(
      judge([welcome, subscribe(undefined, 'e.6-0'), change('e.7-0', order(1, 2)), live('e.7-0', true)]),
    ).toBeUndefined();
  });

  it("catches another customer's order on a customer's socket, and data for a refused subscription", () => {
    const alice: Scope = { role: 'customer', customer: 'Alice' };
    expect(judge([welcome, subscribe(), snapshot([order(1, 1, 'Bob')])], alice)).toContain(
      'of Bob shown to Alice',
    );
    expect(
      judge(
        [welcome, subscribe(), snapshot([]), change('e.6-0', order(1, 2), { before: order(1, 1, 'Bob') })],
        alice,
      ),
    ).toContain('of Bob shown to Alice');
    expect(judge([welcome, subscribe({ customer: 'Bob' }), snapshot([])], alice)).toContain(
      'never subscribed',
    );
  });
});
