import { afterEach, describe, expect, it, vi } from 'vitest';
import { EncodedFrame } from '../protocol/encoded-frame.ts';
import { createSendStats } from '../send-stats.ts';
import { Connection } from './connection.ts';

const change = (n: number) => new EncodedFrame(`{"type":"change","sub":"s","n":${n}}`);
const other = (n: number) => new EncodedFrame(`{"type":"pong","n":${n}}`);

function harness() {
  let buffered = 0;
  const sent: string[] = [];
  const conn = new Connection(
    'c1',
    { send: (frame) => sent.push(frame.text), bufferedAmount: () => buffered, close: () => {} },
    createSendStats(),
    { backpressure: { softBytes: 100, hardBytes: 100_000, maxPending: 1000, drainPollMs: 5 } },
  );
  return {
    conn,
    sent,
    setBuffered: (n: number) => {
      buffered = n;
    },
  };
}

describe('Connection batches', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('sends changes one by one unless the client asked for batches', () => {
    const h = harness();
    h.conn.batch(() => {
      h.conn.send(change(1), 's', 1);
      h.conn.send(change(2), 's', 2);
    });
    expect(h.sent).toHaveLength(2);
  });

  it('groups the changes of a batch, sends a lone change alone, and keeps other frames in place', () => {
    const h = harness();
    h.conn.batchChanges = true;
    h.conn.batch(() => {
      h.conn.send(change(1), 's', 1);
      h.conn.send(change(2), 's', 2);
      h.conn.send(other(3));
      h.conn.send(change(4), 's', 4);
    });
    expect(h.sent.map((t) => JSON.parse(t))).toEqual([
      { type: 'changes', changes: [JSON.parse(change(1).text), JSON.parse(change(2).text)] },
      { type: 'pong', n: 3 },
      { type: 'change', sub: 's', n: 4 },
    ]);
  });

  it('nests: only the outermost batch sends', () => {
    const h = harness();
    h.conn.batchChanges = true;
    h.conn.openBatch();
    h.conn.batch(() => h.conn.send(change(1), 's', 1));
    h.conn.send(change(2), 's', 2);
    expect(h.sent).toEqual([]);
    h.conn.closeBatch();
    expect(h.sent).toHaveLength(1);
  });

  it('sends changes held while the socket lagged as one batch once it drains', () => {
    vi.useFakeTimers();
    const h = harness();
    h.conn.batchChanges = true;
    h.setBuffered(1000);
    for (let n = 1; n <= 4; n++) h.conn.send(change(n), 's', n);
    expect(h.sent).toEqual([]);
    h.setBuffered(0);
    vi.advanceTimersByTime(10);
    expect(h.sent).toHaveLength(1);
    expect(JSON.parse(h.sent[0] ?? '{}').changes).toHaveLength(4);
  });
});
