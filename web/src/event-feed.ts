import { h } from './dom.ts';
import { formatClock, formatLatency } from './format.ts';
import { type Order, statusLabels } from './order.ts';

export interface FeedEvent {
  kind: 'change';
  op: 'insert' | 'update' | 'delete';
  effect: 'upsert' | 'remove';
  row: Order;
  before: Order | null;
  committedAt: number;
  renderedAt: number;
}

/** A line that is not a change (failover, reset), so the feed tells the whole story. */
export interface FeedNote {
  kind: 'note';
  text: string;
  tone: 'info' | 'warn';
  at: number;
}

export type FeedItem = FeedEvent | FeedNote;

/** Entries kept on screen; older ones drop off the bottom. */
const FEED_LENGTH = 40;
/** Entries added per redraw; under heavy traffic the newest are the ones worth showing. */
const PER_UPDATE = 8;
const FEED_INTERVAL_MS = 120;

/** The newest changes, one line each, with how long each took from commit to screen. */
export class EventFeed {
  readonly #list: HTMLElement;
  readonly #pending: FeedItem[] = [];
  #drawnAt = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(list: HTMLElement) {
    this.#list = list;
  }

  /**
   * Queues one frame's events. The list itself is redrawn at most every FEED_INTERVAL_MS:
   * nobody reads a log scrolling at frame rate, and every redraw costs layout and paint.
   */
  add(items: readonly FeedItem[], now: number): void {
    for (const item of items) this.#pending.push(item);
    this.#trim();
    if (this.#pending.length === 0 || this.#timer !== undefined) return;
    // The last events of a burst must show too, so a skipped redraw becomes a scheduled one.
    const wait = Math.max(0, this.#drawnAt + FEED_INTERVAL_MS - now);
    this.#timer = setTimeout(() => requestAnimationFrame(() => this.#draw()), wait);
  }

  #draw(): void {
    this.#timer = undefined;
    this.#drawnAt = Date.now();
    const fragment = document.createDocumentFragment();
    for (let i = this.#pending.length - 1; i >= 0; i--) {
      const item = this.#pending[i];
      if (item !== undefined) fragment.append(item.kind === 'note' ? renderNote(item) : renderEvent(item));
    }
    this.#pending.length = 0;
    this.#list.prepend(fragment);
    while (this.#list.childElementCount > FEED_LENGTH) this.#list.lastElementChild?.remove();
  }

  /** Keeps every note but only the newest changes, in their order. */
  #trim(): void {
    let changes = 0;
    for (const item of this.#pending) if (item.kind === 'change') changes++;
    let excess = changes - PER_UPDATE;
    if (excess <= 0) return;
    for (let i = 0; i < this.#pending.length && excess > 0; ) {
      if (this.#pending[i]?.kind === 'change') {
        this.#pending.splice(i, 1);
        excess--;
      } else i++;
    }
  }
}

function renderNote(note: FeedNote): HTMLElement {
  return h(
    'li',
    { class: `feed-item feed-note feed-note-${note.tone}` },
    h('span', { class: 'feed-kind' }, note.tone === 'warn' ? 'Connection' : 'Stream'),
    h('span', { class: 'feed-main' }, note.text),
    h('span', { class: 'feed-time' }, formatClock(note.at)),
  );
}

function renderEvent(event: FeedEvent): HTMLElement {
  const { row, before } = event;
  const latency = event.renderedAt - event.committedAt;
  return h(
    'li',
    { class: `feed-item feed-${kind(event)}` },
    h('span', { class: 'feed-kind' }, label(event)),
    h('span', { class: 'feed-main' }, h('strong', {}, `#${row.id}`), ` ${row.customerName}`),
    h('span', { class: `feed-latency${latency > 1000 ? ' is-slow' : ''}` }, formatLatency(latency)),
    h('span', { class: 'feed-time' }, formatClock(event.committedAt)),
    h('span', { class: 'feed-detail' }, describe(event.op, row, before)),
  );
}

function kind(event: FeedEvent): string {
  if (event.op === 'update' && event.effect === 'remove') return 'moved';
  return event.op;
}

function label(event: FeedEvent): string {
  switch (event.op) {
    case 'insert':
      return 'New';
    case 'delete':
      return 'Deleted';
    case 'update':
      return event.effect === 'remove' ? 'Left view' : 'Updated';
  }
}

function describe(op: FeedEvent['op'], row: Order, before: Order | null): string {
  if (op === 'insert') return `${row.productName}, ${statusLabels[row.status]}`;
  if (op === 'delete') return row.productName;
  if (before !== null && before.status !== row.status) {
    return `${statusLabels[before.status]} → ${statusLabels[row.status]}`;
  }
  if (before !== null && before.customerName !== row.customerName) return `from ${before.customerName}`;
  return `${statusLabels[row.status]}, v${row.version}`;
}
