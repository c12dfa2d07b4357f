import type { CapLease } from './connection-caps.ts';

/**
 * The gateway-wide ceiling (MAX_CONNECTIONS) counts open sockets and upgrades on their way to
 * one. An upgrade holds a slot from the moment it is let into authentication until its socket
 * opens (from then on the hub counts it), it is refused, or it is abandoned; otherwise a burst
 * of handshakes that all wait on authentication would pass the check before any of them opened.
 */
export class ConnectionSlots {
  #pending = 0;
  readonly #max: number;
  readonly #open: () => number;

  /** `open` counts the sockets already open. */
  constructor(max: number, open: () => number) {
    this.#max = max;
    this.#open = open;
  }

  /** Upgrades holding a slot without an open socket yet. */
  get pending(): number {
    return this.#pending;
  }

  /** A slot for one upgrade, or undefined when the gateway is full. */
  take(): CapLease | undefined {
    if (this.#open() + this.#pending >= this.#max) return undefined;
    this.#pending += 1;
    let held = true;
    return {
      release: () => {
        if (!held) return;
        held = false;
        this.#pending -= 1;
      },
    };
  }
}
