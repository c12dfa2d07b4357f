import { h, setText } from './dom.ts';
import { formatClock, formatLatency } from './format.ts';
import { inOwnFrame } from './frame-slots.ts';
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
  /** The parts of every change line on screen, to rewrite a line instead of building one. */
  readonly #eventParts = new WeakMap<Element, EventLine>();
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
    this.#timer = setTimeout(() => inOwnFrame(() => this.#draw()), wait);
  }

  #draw(): void {
    this.#timer = undefined;
    this.#drawnAt = Date.now();
    const list = this.#list;
    // Oldest first, each placed on top, so the newest ends up first.
    for (const item of this.#pending) {
      if (item.kind === 'note') {
        list.prepend(renderNote(item));
      } else {
        // Under load every redraw pushes as many lines off the bottom as it adds on top: those
        // elements are reused, which spares creating and styling five new elements per line.
        const oldest = list.childElementCount >= FEED_LENGTH ? list.lastElementChild : null;
        const parts = oldest === null ? undefined : this.#eventParts.get(oldest);
        const line = parts ?? createEventLine();
        if (parts === undefined) this.#eventParts.set(line.element, line);
        fillEvent(line, item);
        list.prepend(line.element);
      }
    }
    this.#pending.length = 0;
    while (list.childElementCount > FEED_LENGTH) list.lastElementChild?.remove();
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

interface EventLine {
  element: HTMLElement;
  kind: HTMLElement;
  id: HTMLElement;
  customer: Text;
  latency: HTMLElement;
  time: HTMLElement;
  detail: HTMLElement;
}

function createEventLine(): EventLine {
  const line = {
    element: h('li'),
    kind: h('span', { class: 'feed-kind' }),
    id: h('strong'),
    customer: document.createTextNode(''),
    latency: h('span'),
    time: h('span', { class: 'feed-time' }),
    detail: h('span', { class: 'feed-detail' }),
  };
  line.element.append(
    line.kind,
    h('span', { class: 'feed-main' }, line.id, line.customer),
    line.latency,
    line.time,
    line.detail,
  );
  return line;
}

function fillEvent(line: EventLine, event: FeedEvent): void {
  const { row, before } = event;
  const latency = event.renderedAt - event.committedAt;
  line.element.className = `feed-item feed-${kind(event)}`;
  setText(line.kind, label(event));
  setText(line.id, `#${row.id}`);
  const customer = ` ${row.customerName}`;
  if (line.customer.data !== customer) line.customer.data = customer;
  line.latency.className = `feed-latency${latency > 1000 ? ' is-slow' : ''}`;
  setText(line.latency, formatLatency(latency));
  setText(line.time, formatClock(event.committedAt));
  setText(line.detail, describe(event.op, row, before));
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
