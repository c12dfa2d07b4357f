import type { OrderStatus } from '@orders/contract';
import { pick, productNames } from './names.ts';
import { isTerminal, nextStatus } from './transitions.ts';

export type TrackedOrder = { id: number; status: OrderStatus; customerName: string };

export type Action =
  | { kind: 'insert'; customerName: string; productName: string }
  | { kind: 'advance'; id: number; from: OrderStatus; to: OrderStatus }
  | { kind: 'reassign'; id: number; customerName: string }
  | { kind: 'delete'; id: number };

export interface PlanOptions {
  customers: readonly string[];
  /** How many orders the simulator keeps in play; below it, inserts are favoured. */
  poolSize: number;
  random: () => number;
}

/** Share of changes to an open order that reassign it to another customer. */
const reassignShare = 0.08;

/**
 * Chooses `count` changes over the orders in play, never touching one order twice in a batch,
 * because a batch runs concurrently and two changes to one row would race.
 */
export function planBatch(
  pool: ReadonlyMap<number, TrackedOrder>,
  count: number,
  options: PlanOptions,
): Action[] {
  const open: TrackedOrder[] = [];
  const finished: TrackedOrder[] = [];
  for (const order of pool.values()) (isTerminal(order.status) ? finished : open).push(order);
  const actions: Action[] = [];
  let size = pool.size;
  for (let i = 0; i < count; i++) {
    const action = nextAction(open, finished, size, options);
    if (action.kind === 'insert') size++;
    if (action.kind === 'delete') size--;
    actions.push(action);
  }
  return actions;
}

function nextAction(
  open: TrackedOrder[],
  finished: TrackedOrder[],
  size: number,
  options: PlanOptions,
): Action {
  const { random, customers, poolSize } = options;
  const insert = (): Action => ({
    kind: 'insert',
    customerName: pick(customers, random),
    productName: pick(productNames, random),
  });
  // Finished orders are deleted at a pace that keeps the table from growing without bound.
  const deleteChance = size > poolSize ? 0.5 : 0.1;
  if (finished.length > 0 && random() < deleteChance) {
    return { kind: 'delete', id: takeRandom(finished, random).id };
  }
  const insertChance = size < poolSize ? 0.4 : 0.15;
  if (open.length === 0 || random() < insertChance) return insert();
  const order = takeRandom(open, random);
  if (random() < reassignShare && customers.length > 1) {
    const others = customers.filter((name) => name !== order.customerName);
    return { kind: 'reassign', id: order.id, customerName: pick(others, random) };
  }
  const to = nextStatus(order.status, random);
  // Open orders always have a next status; the guard keeps the types honest.
  if (to === null) return insert();
  return { kind: 'advance', id: order.id, from: order.status, to };
}

/** Removes and returns a random element in O(1) (order of the rest does not matter). */
function takeRandom<T>(items: T[], random: () => number): T {
  const index = Math.floor(random() * items.length);
  const item = items[index];
  const last = items.pop();
  if (item === undefined || last === undefined) throw new Error('takeRandom() needs a non-empty list');
  if (index < items.length) items[index] = last;
  return item;
}
