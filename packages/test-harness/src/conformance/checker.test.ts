import type { AddressInfo } from 'node:net';
import type { Order, ServerFrame } from '@orders/contract';
import { describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { CheckedWebSocket } from './checked-socket.ts';
import { ConformanceChecker, type FaultDeclaration, type Scope } from './checker.ts';

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
const COMMITTED = Date.UTC(2026, 0, 1);
const welcome: ServerFrame = { type: 'welcome', gateway: 'g', protocol: 1, heartbeatMs: 15_000 };
/** Snapshot cursors carry the highest fence: the snapshot is unfinished when its first chunks leave. */
const FENCED = '@18446744073709551615';
const snapshot = (rows: Order[], done = true, cursor = `e.5-0${FENCED}`): ServerFrame => ({
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
  committedAt: COMMITTED,
  ...extra,
});
const reset = (reason: Extract<ServerFrame, { type: 'reset' }>['reason'], sub = 's'): ServerFrame => ({
  type: 'reset',
  sub,
  reason,
});

/** One step of a socket's life: a frame the gateway sent, or what the client or the test did. */
type Step =
  | ServerFrame
  | { send: unknown }
  /** Text from the gateway as it is, for frames no type describes. */
  | { text: string }
  | { close: [code: number, reason: string] }
  | { clientCloses: true }
  | { declare: FaultDeclaration };

/** The first violation of a sequence. */
function judge(steps: readonly Step[], scope: Scope = { role: 'staff' }) {
  const checker = new ConformanceChecker('test', scope);
  for (const step of steps) {
    if ('send' in step) checker.onClientText(JSON.stringify(step.send));
    else if ('text' in step) checker.onServerText(step.text);
    else if ('close' in step) checker.onClose(...step.close);
    else if ('clientCloses' in step) checker.onClientClose();
    else if ('declare' in step) checker.expectFaults(step.declare);
    else checker.onServerText(JSON.stringify(step));
  }
  return checker.violation?.split('\n')[0];
}
const subscribe = (filter?: object, cursor?: string, sub = 's') => ({
  send: { type: 'subscribe', sub, filter, cursor },
});
const declare = (declaration: FaultDeclaration) => ({ declare: declaration });
/** A server frame with one field replaced (or removed, with undefined), as text. */
const altered = (frame: ServerFrame, field: string, value: unknown) => ({
  text: JSON.stringify({ ...frame, [field]: value }),
});
const alteredRow = (field: keyof Order, value: unknown) =>
  altered(change('e.6-0', order(1, 2)), 'row', { ...order(1, 2), [field]: value });

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
        change('e.6-0', order(1, 1), { op: 'delete', effect: 'remove', before: order(1, 1) }),
        change('e.7-0', order(1, 1), { op: 'delete', effect: 'remove', before: order(1, 1) }),
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
      judge([
        declare({ faults: ['future_cursor'] }),
        welcome,
        subscribe(undefined, 'e.9-0'),
        unknown,
        snapshot([order(1, 1)]),
        live('e.5-0'),
      ]),
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

describe('conformance checker: resets against the faults a test declared', () => {
  const resumed = [welcome, subscribe(undefined, 'e.9-0')];

  it('fails any reset when the test declared nothing', () => {
    expect(judge([...resumed, reset('cursor_expired')])).toContain(
      'declared no fault that calls for a reset',
    );
  });

  it('accepts the reasons PROTOCOL.md prescribes for a declared fault, and no others', () => {
    expect(
      judge([declare({ faults: ['trimmed_history'] }), ...resumed, reset('cursor_expired')]),
    ).toBeUndefined();
    expect(judge([declare({ faults: ['trimmed_history'] }), ...resumed, reset('epoch_changed')])).toContain(
      'faults that call for cursor_expired only',
    );
    expect(
      judge([declare({ reasons: ['epoch_changed'] }), ...resumed, reset('epoch_changed')]),
    ).toBeUndefined();
  });

  it('holds a declaration for one subscription to that subscription', () => {
    const lost = declare({ faults: ['lost_history'], sub: 'other' });
    expect(judge([lost, welcome, subscribe(), reset('epoch_changed')])).toContain('declared no fault');
    expect(
      judge([lost, welcome, subscribe(undefined, undefined, 'other'), reset('epoch_changed', 'other')]),
    ).toBeUndefined();
  });

  it('fails a reset judging the client cursor on a subscription that brought none', () => {
    const expired = declare({ faults: ['trimmed_history'] });
    expect(judge([expired, welcome, subscribe(), snapshot([]), reset('cursor_expired')])).toContain(
      'which did not resume from a cursor',
    );
  });

  it('lets a live subscription learn that its own position is newer than history, never one without a position', () => {
    const unknown = declare({ faults: ['future_cursor'] });
    // Refilled from a history that went back in time: the subscription's cursor is past its head.
    expect(
      judge([unknown, welcome, subscribe(), snapshot([order(1, 1)]), live('e.5-0'), reset('cursor_unknown')]),
    ).toBeUndefined();
    expect(judge([unknown, welcome, subscribe(), reset('cursor_unknown')])).toContain('held no position yet');
  });
});

describe('conformance checker: cursor epochs', () => {
  it('fails a cursor whose epoch changed without a reset', () => {
    expect(
      judge([welcome, subscribe(undefined, 'e.6-0'), change('f.7-0', order(1, 2)), live('f.7-0', true)]),
    ).toContain('went from epoch e to f without a reset');
    expect(
      judge([welcome, subscribe(), snapshot([]), live('e.6-0'), { type: 'pong', cursors: { s: 'f.7-0' } }]),
    ).toContain('went from epoch e to f without a reset');
  });

  it('fails a cursor that changed its number of shard groups without a reset', () => {
    expect(judge([welcome, subscribe(), snapshot([]), live('e.5-0~e.5-0')])).toContain(
      'went from 1 to 2 shard groups without a reset',
    );
  });

  it('lets the epoch change across a reset', () => {
    expect(
      judge([
        declare({ faults: ['lost_history'] }),
        welcome,
        subscribe(undefined, 'e.6-0'),
        reset('epoch_changed'),
        snapshot([], true, `f.1-0${FENCED}`),
        live('f.1-0'),
      ]),
    ).toBeUndefined();
  });

  it('lets a fence come and go on one epoch', () => {
    expect(
      judge([
        welcome,
        subscribe(),
        snapshot([order(1, 1)]),
        change('e.6-0@4096', order(1, 2)),
        live('e.6-0@4096'),
        change('e.7-0', order(1, 3)),
        change('e.8-0@4200', order(1, 4)),
      ]),
    ).toBeUndefined();
  });

  it('fails a snapshot whose cursor lacks the highest fence', () => {
    expect(judge([welcome, subscribe(), snapshot([], true, 'e.5-0@4096')])).toContain(
      'lacks the highest fence',
    );
  });

  it('fails anything but a reset first for a cursor from before epochs', () => {
    expect(judge([welcome, subscribe(undefined, '6-0'), change('e.7-0', order(1, 2))])).toContain(
      'before its reset',
    );
  });
});

describe('conformance checker: close codes', () => {
  const open = [welcome, subscribe(), snapshot([])];
  const error = (code: Extract<ServerFrame, { type: 'error' }>['code']): ServerFrame => ({
    type: 'error',
    code,
    message: code,
  });

  it('accepts a shutdown and a lost connection without a declaration, and any close the client made', () => {
    expect(judge([...open, { close: [1012, 'going away, reconnect'] }])).toBeUndefined();
    expect(judge([...open, { close: [1006, ''] }])).toBeUndefined();
    expect(judge([...open, { clientCloses: true }, { close: [1000, ''] }])).toBeUndefined();
  });

  it('fails a code PROTOCOL.md does not list', () => {
    expect(judge([...open, { close: [1000, ''] }])).toContain('a code PROTOCOL.md does not list');
    expect(judge([...open, { close: [4000, 'bye'] }])).toContain('a code PROTOCOL.md does not list');
  });

  it('fails a listed code that no declared fault calls for', () => {
    expect(judge([...open, { close: [4008, 'slow_consumer'] }])).toContain(
      'declared no fault that calls for it',
    );
    expect(
      judge([declare({ faults: ['slow_reader'] }), ...open, { close: [4008, 'slow_consumer'] }]),
    ).toBeUndefined();
    expect(
      judge([declare({ faults: ['token_expiry'] }), ...open, { close: [4008, 'slow_consumer'] }]),
    ).toContain('declared no fault that calls for it');
  });

  it('fails a close whose reason or error frame says something else than its code', () => {
    expect(judge([...open, { close: [1012, 'bye'] }])).toContain('not going away, reconnect');
    const foreign = declare({ faults: ['foreign_principal'] });
    expect(judge([foreign, ...open, { close: [4403, 'forbidden'] }])).toContain(
      'without the forbidden error frame',
    );
    expect(judge([foreign, ...open, error('unauthorized'), { close: [4403, 'forbidden'] }])).toContain(
      'without the forbidden error frame',
    );
    expect(judge([foreign, ...open, error('forbidden'), { close: [4403, 'forbidden'] }])).toBeUndefined();
  });
});

describe('conformance checker: fields and formats of every server frame', () => {
  const base = [welcome, subscribe(), snapshot([order(1, 1)])];
  const bad: [string, Step, string][] = [
    [
      'committedAt in fractions of a millisecond',
      altered(change('e.6-0', order(1, 2)), 'committedAt', COMMITTED + 0.5),
      'committedAt',
    ],
    [
      'committedAt in seconds',
      altered(change('e.6-0', order(1, 2)), 'committedAt', COMMITTED / 1000),
      'committedAt',
    ],
    [
      'committedAt as a string',
      altered(change('e.6-0', order(1, 2)), 'committedAt', String(COMMITTED)),
      'committedAt',
    ],
    [
      'committedAt a week ahead',
      altered(change('e.6-0', order(1, 2)), 'committedAt', Date.now() + 7 * 86_400_000),
      'committedAt',
    ],
    ['a timestamp without milliseconds', alteredRow('updatedAt', '2026-01-01T00:00:00Z'), 'updatedAt'],
    ['a timestamp with an offset', alteredRow('updatedAt', '2026-01-01T01:00:00.000+01:00'), 'updatedAt'],
    ['a date that does not exist', alteredRow('createdAt', '2026-02-30T00:00:00.000Z'), 'createdAt'],
    ['a timestamp as a number', alteredRow('createdAt', COMMITTED), 'createdAt'],
    ['id zero', alteredRow('id', 0), 'id 0'],
    ['id as a string', alteredRow('id', '1'), 'id "1"'],
    ['a fractional version', alteredRow('version', 2.5), 'version 2.5'],
    ['version zero', alteredRow('version', 0), 'version 0'],
    ['an unknown status', alteredRow('status', 'lost'), 'status "lost"'],
    ['a customer that is not a string', alteredRow('customerName', null), 'customerName'],
    ['a row without productName', alteredRow('productName', undefined), 'lacks productName'],
    ['a row with an extra field', alteredRow('total' as keyof Order, 3), 'does not define: total'],
    ['a change with an extra field', altered(change('e.6-0', order(1, 2)), 'seq', 1), 'does not define: seq'],
    ['an unknown op', altered(change('e.6-0', order(1, 2)), 'op', 'upsert'), 'op "upsert"'],
    ['an unknown effect', altered(change('e.6-0', order(1, 2)), 'effect', 'none'), 'effect "none"'],
    ['conflated false', altered(change('e.6-0', order(1, 2)), 'conflated', false), 'conflated false'],
    [
      'a before image of another order',
      change('e.6-0', order(1, 2), { before: order(2, 1) }),
      'another order',
    ],
    [
      'an insert with a before image',
      change('e.6-0', order(1, 2), { op: 'insert', before: order(1, 1) }),
      'insert with a before',
    ],
    ['a cursor that is not one', altered(change('e.6-0', order(1, 2)), 'cursor', 'soon'), 'cursor soon'],
    ['a sub of 65 characters', altered(live('e.6-0'), 'sub', 'x'.repeat(65)), 'has sub'],
    [
      'an error naming a sub that is not a string',
      { text: '{"type":"error","code":"bad_request","message":"m","sub":5}' },
      'has sub 5',
    ],
    ['recovered as a string', altered(live('e.6-0'), 'recovered', 'no'), 'recovered "no"'],
    ['done missing', altered(snapshot([]), 'done', undefined), 'lacks done'],
    ['an undocumented reset reason', altered(reset('stream_gap'), 'reason', 'flush'), 'reason "flush"'],
    [
      'an undocumented error code',
      { type: 'error', code: 'oops', message: 'x' } as unknown as ServerFrame,
      'code "oops"',
    ],
    ['an error without message', { text: '{"type":"error","code":"internal"}' }, 'lacks message'],
    ['authed exp in milliseconds', { type: 'authed', exp: Date.now() + 60_000 }, 'not seconds'],
    [
      'a pong cursor that is not one',
      { type: 'pong', cursors: { s: 42 } } as unknown as ServerFrame,
      'not a string',
    ],
    ['an unknown frame type', { text: '{"type":"hello"}' }, 'unknown frame type "hello"'],
    ['a frame that is an array', { text: '[]' }, 'not a JSON object'],
  ];

  it.each(bad)('catches %s', (_what, step, message) => {
    const problem = judge([...base, step]);
    expect(problem).toContain(message);
  });

  it('checks the welcome too', () => {
    expect(judge([altered(welcome, 'protocol', 2)])).toContain('protocol 2');
    expect(judge([altered(welcome, 'heartbeatMs', '15000')])).toContain('heartbeatMs');
    expect(judge([altered(welcome, 'features', ['changes', 'zip'])])).toContain('features');
  });

  it('checks each change inside a batch', () => {
    const batch = {
      text: JSON.stringify({
        type: 'changes',
        changes: [change('e.6-0', order(1, 2)), { ...change('e.7-0', order(1, 3)), committedAt: -1 }],
      }),
    };
    expect(judge([...base, { send: { type: 'options', changes: true } }, batch])).toContain(
      'inside changes, at 1',
    );
  });
});

describe('conformance checker: effects by its own reference', () => {
  const paid = subscribe({ status: ['paid'] });

  it('fails an update into the filter sent as remove, and one that never concerned it', () => {
    const into = change('e.6-0', order(1, 2, 'Alice', 'paid'), {
      effect: 'remove',
      before: order(1, 1, 'Alice', 'pending'),
    });
    expect(judge([welcome, paid, snapshot([]), into])).toContain('its filter says upsert');
    const outside = change('e.6-0', order(1, 2, 'Alice', 'shipped'), {
      effect: 'remove',
      before: order(1, 1, 'Alice', 'pending'),
    });
    expect(judge([welcome, paid, snapshot([]), outside])).toContain('its filter says not sent');
  });

  it('fails a delete of an order outside the filter, and passes one inside it', () => {
    const gone = (status: Order['status']) =>
      change('e.6-0', order(1, 1, 'Alice', status), {
        op: 'delete',
        effect: 'remove',
        before: order(1, 1, 'Alice', status),
      });
    expect(judge([welcome, paid, snapshot([]), gone('pending')])).toContain('its filter says not sent');
    expect(judge([welcome, paid, snapshot([order(1, 1, 'Alice', 'paid')]), gone('paid')])).toBeUndefined();
  });

  it('passes a key-only delete only to a view that holds the order, at the version it holds', () => {
    // Debezium's stand-in: no customer, column defaults; the gateway puts in the held version.
    const standIn = (version: number) => ({ ...order(1, version, '', 'pending'), productName: '' });
    const keyOnly = (version: number) =>
      change('e.6-0', standIn(version), { op: 'delete', effect: 'remove', before: null });
    expect(judge([welcome, paid, snapshot([order(1, 3, 'Alice', 'paid')]), keyOnly(3)])).toBeUndefined();
    expect(judge([welcome, paid, snapshot([order(2, 3, 'Alice', 'paid')]), keyOnly(3)])).toContain(
      'of an order it does not hold',
    );
    expect(judge([welcome, paid, snapshot([order(1, 3, 'Alice', 'paid')]), keyOnly(4)])).toContain(
      'the view holds v3',
    );
  });

  it("passes a customer's before-less remove only for an order the view holds, never after a cursor", () => {
    const alice: Scope = { role: 'customer', customer: 'Alice' };
    // Reassigned away without a before image: the row is a stand-in in the customer's name.
    const away = change('e.6-0', { ...order(1, 2), productName: '' }, { effect: 'remove', before: null });
    expect(judge([welcome, subscribe(), snapshot([order(1, 1)]), away], alice)).toBeUndefined();
    expect(judge([welcome, subscribe(), snapshot([order(2, 1)]), away], alice)).toContain(
      'of an order it does not hold',
    );
    expect(judge([welcome, subscribe(undefined, 'e.5-0'), away], alice)).toContain(
      'after a cursor, not a reset',
    );
  });

  it("passes a customer's reassigned-away order as a remove of what they saw, at the new version", () => {
    const alice: Scope = { role: 'customer', customer: 'Alice' };
    const away = change('e.6-0', order(1, 2, 'Alice', 'pending'), {
      effect: 'remove',
      before: order(1, 1, 'Alice', 'pending'),
    });
    expect(judge([welcome, subscribe(), snapshot([order(1, 1)]), away], alice)).toBeUndefined();
    // The same frame on a staff socket is an update inside the filter sent as a remove.
    expect(judge([welcome, subscribe(), snapshot([order(1, 1)]), away])).toContain('its filter says upsert');
  });
});

describe('checked sockets: whose close it is', () => {
  /** A server that welcomes, then closes with `code` (or waits for the client to close). */
  async function serve(code: number | undefined): Promise<{ url: string; stop: () => Promise<void> }> {
    const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    server.on('connection', (ws) => {
      ws.send(JSON.stringify(welcome));
      if (code !== undefined) setTimeout(() => ws.close(code, 'bye'), 20);
    });
    const { port } = server.address() as AddressInfo;
    return {
      url: `ws://127.0.0.1:${port}/ws`,
      stop: () => new Promise((resolve) => server.close(() => resolve())),
    };
  }
  const closed = (ws: CheckedWebSocket) => new Promise<void>((resolve) => ws.once('close', () => resolve()));

  it("judges the gateway's close by its code, though `ws` echoes it through close()", async () => {
    const server = await serve(4000);
    const ws = new CheckedWebSocket(server.url);
    await closed(ws);
    expect(ws.checker.violation).toContain('closed with 4000 ("bye"), a code PROTOCOL.md does not list');
    ws.checker.reported = true; // seen here, not a violation of this test
    await server.stop();
  });

  it('leaves a close the client started to the client', async () => {
    const server = await serve(undefined);
    const ws = new CheckedWebSocket(server.url);
    await new Promise<void>((resolve) => ws.once('message', () => resolve()));
    ws.close(4000, 'done');
    await closed(ws);
    expect(ws.checker.violation).toBeUndefined();
    await server.stop();
  });
});
