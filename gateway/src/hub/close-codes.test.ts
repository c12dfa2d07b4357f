import type { ErrorCode } from '@orders/contract';
import { describe, expect, it } from 'vitest';
import { createSendStats } from '../send-stats.ts';
import { Connection } from './connection.ts';

/** A connection over a sink that records frames and the close, as a socket would see them. */
function failed(code: ErrorCode) {
  const sent: string[] = [];
  const closes: { code: number; reason: string }[] = [];
  const conn = new Connection(
    'c1',
    {
      send: (frame) => sent.push(frame.text),
      bufferedAmount: () => 0,
      close: (closeCode, reason) => closes.push({ code: closeCode, reason }),
    },
    createSendStats(),
  );
  conn.fail(code, `failed with ${code}`);
  return { frames: sent.map((text) => JSON.parse(text) as { type: string; code?: string }), closes };
}

describe('policy closes', () => {
  // The numbers PROTOCOL.md documents, written out here rather than read from the mapping.
  const documented: [ErrorCode, number][] = [
    ['bad_request', 1008],
    ['too_large', 1009],
    ['unauthorized', 4401],
    ['forbidden', 4403],
    ['rate_limited', 4429],
    ['internal', 1011],
  ];

  it.each(documented)(
    '[P46] closes a connection failed with %s with %i, after an error frame with that code',
    (code, close) => {
      const { frames, closes } = failed(code);
      expect(frames).toEqual([expect.objectContaining({ type: 'error', code })]);
      expect(closes).toEqual([{ code: close, reason: code }]);
    },
  );

  it('[P93] closes a slow consumer with 4008 and no frame, since its queue is what overflowed', () => {
    const { frames, closes } = failed('slow_consumer');
    expect(frames).toEqual([]);
    expect(closes).toEqual([{ code: 4008, reason: 'slow_consumer' }]);
  });
});
