/**
 * Node 20 has no global `ErrorEvent`, and @hono/node-ws builds one for every socket error
 * (oversized or invalid UTF-8 frames from hostile clients): without this, each such frame
 * ends in a ReferenceError printed to stderr instead of reaching `onError`.
 */
if (globalThis.ErrorEvent === undefined) {
  class NodeErrorEvent extends Event {
    readonly error: unknown;
    readonly message: string;
    constructor(type: string, init: { error?: unknown; message?: string } = {}) {
      super(type);
      this.error = init.error;
      this.message = init.message ?? (init.error instanceof Error ? init.error.message : '');
    }
  }
  Object.defineProperty(globalThis, 'ErrorEvent', {
    value: NodeErrorEvent,
    configurable: true,
    writable: true,
  });
}
