import { h, setText } from './dom.ts';
import { formatTimestamp } from './format.ts';
import { inOwnFrame } from './frame-slots.ts';
import { type Order, statusLabels } from './order.ts';

/** Must match `--row-h` in styles.css; rows are positioned by arithmetic, not by layout. */
const ROW_HEIGHT = 44;
/** Rows built beyond the visible ones, so a quick scroll does not show blank space. */
const OVERSCAN = 3;
/** How long a removed order stays on screen fading out; matches the `leave` animation. */
const LEAVE_MS = 600;
/**
 * Highlights fade in a few discrete steps driven by the renders, not by a CSS animation: an
 * animation on every changed row would make each of 60 frames a second restyle and repaint
 * the table, which at hundreds of changes a second is most of the page's cost.
 */
const HIGHLIGHT_STEPS = 4;
const HIGHLIGHT_STEP_MS = 250;

interface RowView {
  element: HTMLElement;
  cells: {
    id: HTMLElement;
    customer: HTMLElement;
    product: HTMLElement;
    status: HTMLElement;
    version: HTMLElement;
    updated: HTMLElement;
  };
  /** What the row currently shows, to skip rewriting it when nothing changed. */
  order: Order | undefined;
  index: number;
  /** The highlight currently drawn, e.g. `changed-1`, to touch the DOM only when it steps. */
  highlight: string;
}

/**
 * The orders, newest first, as a keyed and windowed list: only the rows in view (plus a few)
 * exist in the DOM, each bound to one order for as long as it stays in view. A frame costs
 * the changes in view, not the size of the table, so a thousand changes a second stay cheap.
 */
export class OrdersTable {
  readonly #scroller: HTMLElement;
  readonly #canvas: HTMLElement;
  readonly #empty: HTMLElement;
  readonly #orders = new Map<number, Order>();
  /** Removed orders still fading out, with the time they disappear for good. */
  readonly #leaving = new Map<number, { order: Order; until: number }>();
  /** Every id on screen (leaving ones included), descending. */
  readonly #ids: number[] = [];
  /** Ids changed since the last render, and whether each is new to the view. */
  readonly #touched = new Map<number, 'changed' | 'added'>();
  /** Rows highlighted recently: what happened and when, until the highlight has faded. */
  readonly #highlights = new Map<number, { kind: 'changed' | 'added'; at: number }>();
  #highlightTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #views = new Map<number, RowView>();
  /** Detached rows, ready for reuse. */
  readonly #pool: RowView[] = [];
  /**
   * Rows let go during this render but still in the document. New orders go on top, so the
   * typical frame lets rows go at the bottom and needs as many at the top: taking these first
   * turns a detach and an attach (styling and building every cell anew) into new text and a
   * new position. Whatever is left over is detached at the end of the render.
   */
  readonly #spare: RowView[] = [];
  #viewportHeight = 0;
  /** The sticky header's height, read once: it never changes. */
  #canvasTop = 0;
  #renderQueued = false;
  /** Renders so far; a queued render that finds another one happened since has nothing to do. */
  #renders = 0;
  #leaveTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(scroller: HTMLElement, canvas: HTMLElement, empty: HTMLElement) {
    this.#scroller = scroller;
    this.#canvas = canvas;
    this.#empty = empty;
    scroller.addEventListener('scroll', () => this.#queueRender(), { passive: true });
    new ResizeObserver(() => {
      this.#viewportHeight = scroller.clientHeight;
      this.#queueRender();
    }).observe(scroller);
  }

  /** Replaces every row at once (snapshot): no flashes, no fading. */
  replaceAll(orders: Iterable<Order>): void {
    this.#orders.clear();
    this.#leaving.clear();
    this.#touched.clear();
    this.#highlights.clear();
    for (const order of orders) this.#orders.set(order.id, order);
    this.#ids.length = 0;
    this.#ids.push(...[...this.#orders.keys()].sort((a, b) => b - a));
    // Rows keep their elements only while they show the same order; a snapshot is a new view.
    for (const id of [...this.#views.keys()]) this.#release(id);
  }

  upsert(order: Order): void {
    const known = this.#orders.has(order.id) || this.#leaving.delete(order.id);
    this.#orders.set(order.id, order);
    if (!known) insertDescending(this.#ids, order.id);
    this.#touched.set(order.id, this.#touched.get(order.id) ?? (known ? 'changed' : 'added'));
  }

  remove(id: number, now: number): void {
    const order = this.#orders.get(id);
    if (order === undefined) return;
    this.#orders.delete(id);
    this.#touched.delete(id);
    // Only a row someone can see needs to leave visibly; any other just goes.
    if (this.#views.has(id)) {
      this.#leaving.set(id, { order, until: now + LEAVE_MS });
      this.#scheduleLeaveSweep(LEAVE_MS);
    } else {
      removeDescending(this.#ids, id);
    }
  }

  /** Brings the DOM in line with the model; call once per frame after applying changes. */
  render(now = Date.now()): void {
    this.#renders++;
    // Geometry is read before anything is written: layout is still clean from the last frame,
    // so these reads are free, while after a write each would force a layout of its own.
    const viewport = this.#viewportHeight || this.#scroller.clientHeight;
    this.#canvasTop ||= this.#canvas.offsetTop;
    const scrollTop = this.#scroller.scrollTop;
    this.#sweepLeaving(now);
    const count = this.#ids.length;
    const height = `${count * ROW_HEIGHT}px`;
    if (this.#canvas.style.height !== height) this.#canvas.style.height = height;
    const empty = this.#orders.size === 0;
    if (this.#empty.hidden === empty) this.#empty.hidden = !empty;

    const top = Math.max(0, scrollTop - this.#canvasTop);
    const first = Math.max(0, Math.floor(top / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(count, Math.ceil((top + viewport) / ROW_HEIGHT) + OVERSCAN);
    const inWindow = new Set<number>();
    for (let index = first; index < last; index++) {
      const id = this.#ids[index];
      if (id !== undefined) inWindow.add(id);
    }
    for (const id of [...this.#views.keys()]) if (!inWindow.has(id)) this.#release(id);

    for (let index = first; index < last; index++) {
      const id = this.#ids[index];
      if (id === undefined) continue;
      let view = this.#views.get(id);
      if (view === undefined) {
        view = this.#acquire();
        this.#views.set(id, view);
      }
      const leaving = this.#leaving.get(id);
      const order = leaving?.order ?? this.#orders.get(id);
      if (order === undefined) continue;
      if (view.order !== order) fill(view, order);
      if (view.index !== index) {
        view.index = index;
        // `translate`, not `transform`, which the leave animation uses.
        view.element.style.translate = `0 ${index * ROW_HEIGHT}px`;
      }
      setLeaving(view, leaving !== undefined);
      const touched = this.#touched.get(id);
      if (touched !== undefined) this.#highlights.set(id, { kind: touched, at: now });
      this.#paintHighlight(view, id, now);
    }
    this.#touched.clear();
    this.#detachSpare();
    this.#scheduleHighlightStep(now);
  }

  #paintHighlight(view: RowView, id: number, now: number): void {
    const highlight = this.#highlights.get(id);
    const step =
      highlight === undefined ? HIGHLIGHT_STEPS : Math.floor((now - highlight.at) / HIGHLIGHT_STEP_MS);
    if (highlight !== undefined && step >= HIGHLIGHT_STEPS) this.#highlights.delete(id);
    const name = highlight !== undefined && step < HIGHLIGHT_STEPS ? `${highlight.kind}-${step}` : '';
    if (name === view.highlight) return;
    view.highlight = name;
    if (name === '') delete view.element.dataset.highlight;
    else view.element.dataset.highlight = name;
  }

  /** Renders again when the next highlight is due to fade a step; nothing runs once all have faded. */
  #scheduleHighlightStep(now: number): void {
    for (const id of this.#highlights.keys()) if (!this.#views.has(id)) this.#highlights.delete(id);
    if (this.#highlights.size === 0 || this.#highlightTimer !== undefined) return;
    let next = Number.POSITIVE_INFINITY;
    for (const { at } of this.#highlights.values()) {
      const elapsed = now - at;
      next = Math.min(next, HIGHLIGHT_STEP_MS - (elapsed % HIGHLIGHT_STEP_MS));
    }
    this.#highlightTimer = setTimeout(() => {
      this.#highlightTimer = undefined;
      this.#queueRender();
    }, next);
  }

  #acquire(): RowView {
    const spare = this.#spare.pop();
    if (spare !== undefined) return spare;
    const view = this.#pool.pop() ?? createRow();
    this.#canvas.append(view.element);
    return view;
  }

  /** Unbinds a row; its element keeps what it shows until it is reused or detached. */
  #release(id: number): void {
    const view = this.#views.get(id);
    if (view === undefined) return;
    this.#views.delete(id);
    view.order = undefined;
    this.#spare.push(view);
  }

  #detachSpare(): void {
    for (let view = this.#spare.pop(); view !== undefined; view = this.#spare.pop()) {
      view.element.remove();
      view.element.className = 'row';
      delete view.element.dataset.highlight;
      delete view.element.dataset.orderId;
      view.highlight = '';
      view.index = -1;
      this.#pool.push(view);
    }
  }

  #sweepLeaving(now: number): void {
    let next = Number.POSITIVE_INFINITY;
    for (const [id, { until }] of this.#leaving) {
      if (until <= now) {
        this.#leaving.delete(id);
        removeDescending(this.#ids, id);
        this.#release(id);
      } else next = Math.min(next, until);
    }
    if (next !== Number.POSITIVE_INFINITY) this.#scheduleLeaveSweep(next - now);
  }

  #scheduleLeaveSweep(delay: number): void {
    if (this.#leaveTimer !== undefined) return;
    this.#leaveTimer = setTimeout(() => {
      this.#leaveTimer = undefined;
      this.#queueRender();
    }, delay + 16);
  }

  /** For scrolling and fading; changes render through the page's frame batch instead. */
  #queueRender(): void {
    if (this.#renderQueued) return;
    this.#renderQueued = true;
    const queuedAfter = this.#renders;
    inOwnFrame(() => {
      this.#renderQueued = false;
      // The page's batch rendered in the meantime: done already.
      if (this.#renders !== queuedAfter) return;
      this.render();
    });
  }
}

/** Index of the first id not above `id` in a descending list (where `id` is or would go). */
function positionDescending(ids: readonly number[], id: number): number {
  let low = 0;
  let high = ids.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((ids[mid] ?? 0) > id) low = mid + 1;
    else high = mid;
  }
  return low;
}

function insertDescending(ids: number[], id: number): void {
  // New orders have the highest ids, so this is almost always index 0.
  ids.splice(positionDescending(ids, id), 0, id);
}

function removeDescending(ids: number[], id: number): void {
  const at = positionDescending(ids, id);
  if (ids[at] === id) ids.splice(at, 1);
}

function createRow(): RowView {
  const cell = (className: string) => h('div', { class: `cell ${className}` });
  const status = h('span', { class: 'badge' });
  const cells = {
    id: cell('col-id'),
    customer: cell('col-customer'),
    product: cell('col-product'),
    status,
    version: cell('col-version'),
    updated: cell('col-updated'),
  };
  const element = h(
    'div',
    { class: 'row' },
    cells.id,
    cells.customer,
    cells.product,
    h('div', { class: 'cell col-status' }, status),
    cells.version,
    cells.updated,
  );
  return { element, cells, order: undefined, index: -1, highlight: '' };
}

function fill(view: RowView, order: Order): void {
  const { element, cells } = view;
  view.order = order;
  element.dataset.version = String(order.version);
  element.dataset.status = order.status;
  setText(cells.id, `#${order.id}`);
  setText(cells.customer, order.customerName);
  setText(cells.product, order.productName);
  setText(cells.status, statusLabels[order.status]);
  const badge = `badge badge-${order.status}`;
  if (cells.status.className !== badge) cells.status.className = badge;
  setText(cells.version, `v${order.version}`);
  setText(cells.updated, formatTimestamp(order.updatedAt));
  cells.updated.title = order.updatedAt;
  // Set last: the attribute tests and tools look for means the row is complete.
  if (!element.classList.contains('is-leaving')) element.dataset.orderId = String(order.id);
}

function setLeaving(view: RowView, leaving: boolean): void {
  const { element } = view;
  if (leaving === element.classList.contains('is-leaving')) return;
  element.classList.toggle('is-leaving', leaving);
  // A leaving row no longer counts as shown; tests and the row count read this attribute.
  if (leaving) delete element.dataset.orderId;
  else if (view.order !== undefined) element.dataset.orderId = String(view.order.id);
}
