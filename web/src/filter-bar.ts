import { h } from './dom.ts';
import { type OrderStatus, statuses, statusLabels } from './order.ts';

export interface OrdersFilter {
  /** Absent means every status. */
  status?: OrderStatus[];
  /** Exact customer name, as the gateway matches it. */
  customer?: string;
}

/** Typing settles before the page resubscribes; every keystroke would be a new snapshot. */
const TYPING_DELAY_MS = 350;

/** Status chips and a customer field; reports a new filter whenever either settles. */
export class FilterBar {
  readonly #checks = new Map<OrderStatus, HTMLInputElement>();
  readonly #customer: HTMLInputElement;
  readonly #suggestions: HTMLDataListElement;
  readonly #onChange: (filter: OrdersFilter) => void;
  #typing: ReturnType<typeof setTimeout> | undefined;
  #last = '';
  #offered = new Set<string>();

  constructor(root: HTMLElement, onChange: (filter: OrdersFilter) => void) {
    this.#onChange = onChange;
    const chips = h('div', { class: 'status-chips', role: 'group', 'aria-label': 'Status' });
    for (const status of statuses) {
      const input = h('input', { type: 'checkbox', name: 'status', value: status });
      input.checked = true;
      input.addEventListener('change', () => this.#emit());
      this.#checks.set(status, input);
      chips.append(
        h(
          'label',
          { class: `chip chip-${status}` },
          input,
          h('span', { class: 'chip-dot' }),
          statusLabels[status],
        ),
      );
    }
    this.#suggestions = h('datalist', { id: 'customer-suggestions' });
    this.#customer = h('input', {
      type: 'search',
      name: 'customer',
      class: 'customer-input',
      placeholder: 'Any customer',
      list: 'customer-suggestions',
      autocomplete: 'off',
      'aria-label': 'Customer',
    });
    this.#customer.addEventListener('input', () => {
      clearTimeout(this.#typing);
      this.#typing = setTimeout(() => this.#emit(), TYPING_DELAY_MS);
    });
    this.#customer.addEventListener('change', () => this.#emit());
    root.append(
      chips,
      h(
        'label',
        { class: 'customer-field' },
        h('span', { class: 'field-label' }, 'Customer'),
        this.#customer,
      ),
      this.#suggestions,
    );
    this.#last = JSON.stringify(this.value());
  }

  value(): OrdersFilter {
    const checked = statuses.filter((status) => this.#checks.get(status)?.checked);
    const customer = this.#customer.value.trim();
    const filter: OrdersFilter = {};
    // All statuses ticked is no filter at all; the gateway then skips the check per event.
    if (checked.length < statuses.length) filter.status = checked;
    if (customer !== '') filter.customer = customer;
    return filter;
  }

  /** Offers the customers seen so far, since the gateway matches names exactly. */
  suggest(names: ReadonlySet<string>): void {
    // The customers rarely change; comparing sets first skips the sort and the DOM most times.
    if (names.size === this.#offered.size && [...names].every((name) => this.#offered.has(name))) return;
    this.#offered = new Set(names);
    const sorted = [...names].sort((a, b) => a.localeCompare(b));
    this.#suggestions.replaceChildren(...sorted.map((name) => h('option', { value: name })));
  }

  #emit(): void {
    clearTimeout(this.#typing);
    const filter = this.value();
    const key = JSON.stringify(filter);
    if (key === this.#last) return;
    this.#last = key;
    this.#onChange(filter);
  }
}
