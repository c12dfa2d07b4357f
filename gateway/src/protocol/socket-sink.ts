import type { EncodedFrame } from './encoded-frame.ts';

/**
 * What the hub needs from a WebSocket. Runtimes differ in how they send text without
 * re-encoding and in whether they expose queued bytes, so the entry file provides this.
 */
export interface SocketSink {
  send(frame: EncodedFrame): void;
  /** Bytes accepted by `send` but not yet written to the network; 0 when unknown. */
  bufferedAmount(): number;
  close(code: number, reason: string): void;
  /**
   * Optional: hold writes until `uncork`, so the frames one stream read produces for this
   * socket leave in one system call instead of one each.
   */
  cork?(): void;
  uncork?(): void;
}
