import type { WebSocketLike } from '../src/web-socket-like.ts';

/** A scriptable socket: the test plays the gateway. */
export class FakeSocket implements WebSocketLike {
  static all: FakeSocket[] = [];
  readyState = 0;
  sent: unknown[] = [];
  onopen: ((event: never) => void) | null = null;
  onmessage: ((event: never) => void) | null = null;
  onclose: ((event: never) => void) | null = null;
  onerror: ((event: never) => void) | null = null;
  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }
  send(data: string) {
    this.sent.push(JSON.parse(data));
  }
  close() {
    this.readyState = 3;
  }
  open(gateway = 'g') {
    this.readyState = 1;
    this.deliver({ type: 'welcome', gateway, protocol: 1, heartbeatMs: 60_000 });
  }
  deliver(frame: unknown) {
    this.deliverRaw(JSON.stringify(frame));
  }
  /** A message as it comes off the wire: text, or anything else a socket may hand over. */
  deliverRaw(data: unknown) {
    (this.onmessage as ((e: { data: unknown }) => void) | null)?.({ data });
  }
  drop(code = 1006) {
    this.readyState = 3;
    (this.onclose as ((e: { code: number }) => void) | null)?.({ code });
  }
}
