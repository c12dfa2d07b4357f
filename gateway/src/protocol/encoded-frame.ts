import type { ServerFrame } from '@orders/contract';

const encoder = new TextEncoder();

/**
 * A frame serialized once. The UTF-8 bytes are produced on first use and then shared by
 * every socket that receives the frame, so fan-out does not re-encode per socket.
 */
export class EncodedFrame {
  #bytes: Uint8Array | undefined;

  constructor(readonly text: string) {}

  get bytes(): Uint8Array {
    this.#bytes ??= encoder.encode(this.text);
    return this.#bytes;
  }

  static of(frame: ServerFrame): EncodedFrame {
    return new EncodedFrame(JSON.stringify(frame));
  }
}
