import { intAt } from './frame-text.ts';

/** Version gaps and repeats found, shared by the checks of one process's sockets. */
export interface VersionTally {
  gaps: number;
  repeats: number;
}

/**
 * One pipeline socket's last version of every order, from its snapshot on: every change must be
 * the next version of its order, unless the gateway marked it `conflated` (the socket fell
 * behind and older versions were replaced). A `reset` starts over from the new snapshot. A
 * version that skips one is a lost change (a gap); one at or below a version the socket had is
 * a duplicate or a change out of order (a repeat).
 */
export class VersionCheck {
  readonly #last = new Map<number, number>();

  constructor(private readonly tally: VersionTally) {}

  snapshot(text: string): void {
    const frame = JSON.parse(text) as { rows: { id: number; version: number }[] };
    for (const row of frame.rows) this.#last.set(row.id, row.version);
  }

  reset(): void {
    this.#last.clear();
  }

  change(text: string): void {
    const row = text.indexOf('"row":{"id":');
    if (row === -1) return;
    const id = intAt(text, row + 12);
    const version = intAt(text, text.indexOf('"version":', row) + 10);
    const last = this.#last.get(id);
    if (last !== undefined) {
      if (version <= last) this.tally.repeats++;
      else if (version > last + 1 && !text.includes('"conflated":true')) this.tally.gaps++;
    }
    this.#last.set(id, version);
  }
}
