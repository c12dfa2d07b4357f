import type { ChangeFrame, ServerFrame } from '@orders/contract';
import type { EncodedFrame } from '../../protocol/encoded-frame.ts';
import { createSendStats } from '../../send-stats.ts';
import { Connection } from '../connection.ts';

/**
 * A connection on a stand-in socket that never lags and records every frame it is sent, as
 * the bytes that went out (`texts`, to tell shared frames from per-socket ones) and parsed.
 */
export function recordingConnection(id = 'c1') {
  const sent: ServerFrame[] = [];
  const texts: EncodedFrame[] = [];
  const conn = new Connection(
    id,
    {
      send: (frame) => {
        texts.push(frame);
        sent.push(JSON.parse(frame.text) as ServerFrame);
      },
      bufferedAmount: () => 0,
      close: () => {},
    },
    createSendStats(),
  );
  const changes = () => sent.filter((f): f is ChangeFrame => f.type === 'change');
  return { conn, sent, texts, changes };
}
