import { h, setText } from './dom.ts';
import { formatTimestamp } from './format.ts';
import { type Order, statusLabels } from './order.ts';

interface RowView {
  element: HTMLElement;
  cells: {
    customer: HTMLElement;
    product: HTMLElement;
    status: HTMLElement;
    version: HTMLElement;
    updated: HTMLElement;
  };
  /** Alternates between two identical animations: switching the name restarts the flash without a reflow. */
  flashPhase: boolean;
  leaving?: Animation;
}

const LEAVE_MS = 600;

/**
 * The orders as a keyed list of rows, newest order first. Each change touches only its own
 * row, so the cost of a frame follows the number of changes in it, not the size of the table.
 */
export class OrdersTable {
  readonly #body: HTMLElement;
  readonly #empty: HTMLElement;
  readonly #rows = new Map<number, RowView>();
  /** Ids currently shown (leaving rows excluded), descending, for ordered inserts. */
  readonly #ids: number[] = [];

  constructor(body: HTMLElement, empty: HTMLElement) {
    this.#body = body;
    this.#empty = empty;
  }

  get size(): number {
    return this.#ids.length;
  }

  /** Replaces every row at once (snapshot): no flashes, no animations, one DOM insertion. */
  replaceAll(orders: Iterable<Order>): void {
    for (const view of this.#rows.values()) view.leaving?.cancel();
    this.#rows.clear();
    this.#ids.length = 0;
    const sorted = [...orders].sort((a, b) => b.id - a.id);
    const fragment = document.createDocumentFragment();
    for (const order of sorted) {
      const view = createRow(order);
      this.#rows.set(order.id, view);
      this.#ids.push(order.id);
      fragment.append(view.element);
    }
    this.#body.replaceChildren(fragment);
    this.#updateEmpty();
  }

  upsert(order: Order): void {
    const existing = this.#rows.get(order.id);
    if (existing?.leaving === undefined && existing !== undefined) {
      fillRow(existing, order);
      flash(existing);
      return;
    }
    if (existing?.leaving !== undefined) {
      // The order came back (e.g. moved into the filter again) while its row was fading out.
      existing.leaving.cancel();
      existing.element.remove();
    }
    const view = createRow(order);
    view.element.classList.add('is-new');
    this.#rows.set(order.id, view);
    const index = this.#insertId(order.id);
    const nextId = this.#ids[index + 1];
    const next = nextId === undefined ? null : (this.#rows.get(nextId)?.element ?? null);
    this.#body.insertBefore(view.element, next);
    this.#updateEmpty();
  }

  remove(id: number): void {
    const view = this.#rows.get(id);
    if (view === undefined || view.leaving !== undefined) return;
    this.#removeId(id);
    const { element } = view;
    // A leaving row no longer counts as shown; tests and the row count read these attributes.
    element.removeAttribute('data-order-id');
    element.classList.add('is-leaving');
    view.leaving = element.animate(
      [
        { opacity: 1, transform: 'translateX(0)' },
        { opacity: 0, transform: 'translateX(12px)' },
      ],
      { duration: LEAVE_MS, easing: 'ease-in', fill: 'forwards' },
    );
    view.leaving.finished.then(
      () => {
        element.remove();
        if (this.#rows.get(id) === view) this.#rows.delete(id);
      },
      // Cancelled because the order came back; the new row replaced this one already.
      () => {},
    );
    this.#updateEmpty();
  }

  #insertId(id: number): number {
    // Binary search in a descending array; new orders usually land at index 0.
    let low = 0;
    let high = this.#ids.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((this.#ids[mid] ?? 0) > id) low = mid + 1;
      else high = mid;
    }
    this.#ids.splice(low, 0, id);
    return low;
  }

  #removeId(id: number): void {
    const index = this.#ids.indexOf(id);
    if (index >= 0) this.#ids.splice(index, 1);
  }

  #updateEmpty(): void {
    this.#empty.hidden = this.#ids.length > 0;
  }
}

function createRow(order: Order): RowView {
  const cell = (className: string) => h('td', { class: `cell ${className}` });
  const cells = {
    customer: cell('col-customer'),
    product: cell('col-product'),
    status: h('span', { class: 'badge' }),
    version: cell('col-version'),
    updated: cell('col-updated'),
  };
  const element = h(
    'tr',
    { class: 'row' },
    h('td', { class: 'cell col-id' }, `#${order.id}`),
    cells.customer,
    cells.product,
    h('td', { class: 'cell col-status' }, cells.status),
    cells.version,
    cells.updated,
  );
  const view: RowView = { element, cells, flashPhase: false };
  fillRow(view, order);
  return view;
}

function fillRow(view: RowView, order: Order): void {
  const { element, cells } = view;
  element.dataset.orderId = String(order.id);
  element.dataset.version = String(order.version);
  element.dataset.status = order.status;
  setText(cells.customer, order.customerName);
  setText(cells.product, order.productName);
  setText(cells.status, statusLabels[order.status]);
  cells.status.className = `badge badge-${order.status}`;
  setText(cells.version, `v${order.version}`);
  setText(cells.updated, formatTimestamp(order.updatedAt));
  cells.updated.title = order.updatedAt;
}

function flash(view: RowView): void {
  view.flashPhase = !view.flashPhase;
  view.element.classList.remove('is-new');
  view.element.classList.toggle('flash-a', view.flashPhase);
  view.element.classList.toggle('flash-b', !view.flashPhase);
}
