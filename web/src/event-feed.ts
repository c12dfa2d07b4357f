import { h } from './dom.ts';
import { formatClock, formatLatency } from './format.ts';
import { type Order, statusLabels } from './order.ts';

export interface FeedEvent {
  op: 'insert' | 'update' | 'delete';
  effect: 'upsert' | 'remove';
  row: Order;
  before: Order | null;
  committedAt: number;
  renderedAt: number;
}

/** Entries kept on screen; older ones drop off the bottom. */
const FEED_LENGTH = 40;
/** Entries added per redraw; under heavy traffic the newest are the ones worth showing. */
const PER_UPDATE = 8;
const FEED_INTERVAL_MS = 120;

/** The newest changes, one line each, with how long each took from commit to screen. */
export class EventFeed {
  readonly #list: HTMLElement;
  readonly #pending: FeedEvent[] = [];
  #drawnAt = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(list: HTMLElement) {
    this.#list = list;
  }

  /**
   * Queues one frame's events. The list itself is redrawn at most every FEED_INTERVAL_MS:
   * nobody reads a log scrolling at frame rate, and every redraw costs layout and paint.
   */
  add(events: readonly FeedEvent[], now: number): void {
    for (const event of events) this.#pending.push(event);
    if (this.#pending.length > PER_UPDATE) this.#pending.splice(0, this.#pending.length - PER_UPDATE);
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
      const event = this.#pending[i];
      if (event !== undefined) fragment.append(renderEvent(event));
    }
    this.#pending.length = 0;
    this.#list.prepend(fragment);
    while (this.#list.childElementCount > FEED_LENGTH) this.#list.lastElementChild?.remove();
  }

  clear(): void {
    this.#list.replaceChildren();
  }

  /** A line that is not a change (reset, failover), so the feed tells the whole story. */
  note(text: string, tone: 'info' | 'warn', at: number): void {
    const item = h(
      'li',
      { class: `feed-item feed-note feed-note-${tone}` },
      h('span', { class: 'feed-kind' }, tone === 'warn' ? 'Connection' : 'Stream'),
      h('span', { class: 'feed-main' }, text),
      h('span', { class: 'feed-time' }, formatClock(at)),
    );
    this.#list.prepend(item);
    while (this.#list.childElementCount > FEED_LENGTH) this.#list.lastElementChild?.remove();
  }
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
