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
/**
 * Entries added per frame. At a few hundred changes a second nobody reads every line; the
 * newest ones are what matters, and building all of them would cost frames.
 */
const PER_FRAME = 8;

/** The newest changes, one line each, with how long each took from commit to screen. */
export class EventFeed {
  readonly #list: HTMLElement;

  constructor(list: HTMLElement) {
    this.#list = list;
  }

  /** Adds one frame's events; under heavy load only the newest few are worth building. */
  add(events: readonly FeedEvent[]): void {
    if (events.length === 0) return;
    const fragment = document.createDocumentFragment();
    const newest = events.slice(-PER_FRAME);
    for (let i = newest.length - 1; i >= 0; i--) {
      const event = newest[i];
      if (event !== undefined) fragment.append(renderEvent(event));
    }
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
      h('span', { class: 'feed-time' }, formatClock(at)),
      h('span', { class: 'feed-text' }, text),
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
    h('span', { class: 'feed-time' }, formatClock(event.committedAt)),
    h('span', { class: 'feed-kind' }, label(event)),
    h(
      'span',
      { class: 'feed-text' },
      h('strong', {}, `#${row.id}`),
      ` ${row.customerName} · `,
      describe(event.op, row, before),
    ),
    h('span', { class: `feed-latency${latency > 1000 ? ' is-slow' : ''}` }, formatLatency(latency)),
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
