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

  /**
   * `head`, then `middle`, then `tail`, where `middle` is shared by many frames (a snapshot
   * page's rows sent to every subscriber it serves): its bytes are copied into this frame's,
   * not encoded again.
   */
  static spliced(head: string, middle: EncodedFrame, tail: string): EncodedFrame {
    return new SplicedFrame(head, middle, tail);
  }
}

class SplicedFrame extends EncodedFrame {
  #spliced: Uint8Array | undefined;

  constructor(
    readonly head: string,
    readonly middle: EncodedFrame,
    readonly tail: string,
  ) {
    super(head + middle.text + tail);
  }

  override get bytes(): Uint8Array {
    if (this.#spliced === undefined) {
      const head = encoder.encode(this.head);
      const middle = this.middle.bytes;
      const tail = encoder.encode(this.tail);
      const bytes = new Uint8Array(head.length + middle.length + tail.length);
      bytes.set(head);
      bytes.set(middle, head.length);
      bytes.set(tail, head.length + middle.length);
      this.#spliced = bytes;
    }
    return this.#spliced;
  }
}
