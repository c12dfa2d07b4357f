/**
 * Debezium-shaped records (JSON converter, schemas disabled) for the orders table, as the
 * connector in stack/ produces them: snake_case columns, timestamptz as ISO strings.
 */
import type { Message, Producer } from 'kafkajs';

export interface Row {
  id: number;
  customer_name: string;
  product_name: string;
  status: 'pending' | 'paid' | 'shipped' | 'delivered' | 'cancelled';
  version: number;
  created_at: string;
  updated_at: string;
}

const statuses = ['pending', 'paid', 'shipped', 'delivered', 'cancelled'] as const;

export function row(id: number, version: number): Row {
  const created = new Date(Date.UTC(2026, 0, 1) + id * 1000).toISOString();
  return {
    id,
    customer_name: `customer-${id % 17}`,
    product_name: `product-${id % 5}`,
    status: statuses[version % statuses.length] ?? 'pending',
    version,
    created_at: created,
    updated_at: new Date(Date.parse(created) + version).toISOString(),
  };
}

let lsn = 1_000_000;

/** Source fields a test sets by hand; without `sequence` a record has no source position. */
export interface SourceFields {
  lsn?: number;
  /** `source.sequence` as Debezium writes it: [last commit LSN, LSN], as a JSON string. */
  sequence?: [string | null, string | null];
  snapshot?: string;
}

export function change(
  op: 'c' | 'u' | 'd' | 'r' | 't',
  before: Partial<Row> | null,
  after: Row | null,
  fields: SourceFields = {},
): Message {
  lsn += 8;
  const id = (after ?? before)?.id ?? 0;
  const { sequence, ...rest } = fields;
  const source = {
    version: '3.6.1.Final',
    connector: 'postgresql',
    ts_ms: Date.now(),
    lsn,
    table: 'orders',
    ...rest,
    ...(sequence ? { sequence: JSON.stringify(sequence) } : {}),
  };
  return {
    // Debezium keys by primary key, so all changes of one order share a partition; a
    // TRUNCATE has no key.
    key: op === 't' ? null : JSON.stringify({ id }),
    value: JSON.stringify({ before, after, source, op, ts_ms: Date.now() }),
  };
}

/** Insert of `orders` rows, then `updates` updates of each, interleaved across orders. */
export function burst(orders: number, updates: number, firstId = 1): Message[] {
  const messages: Message[] = [];
  for (let id = firstId; id < firstId + orders; id++) messages.push(change('c', null, row(id, 1)));
  for (let v = 2; v <= updates + 1; v++) {
    for (let id = firstId; id < firstId + orders; id++)
      messages.push(change('u', row(id, v - 1), row(id, v)));
  }
  return messages;
}

/** A promise the test resolves by hand, to hold back the tail of a `trickle`. */
export function gate(): { released: Promise<void>; release: () => void } {
  let release = () => {};
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  return { released, release };
}

export interface TrickleOptions {
  slice?: number;
  pauseMs?: number;
  /** Hold the messages from `holdFrom` on until `release` resolves, so a test can be sure
   * part of the burst is still to come when it kills or stops a worker. */
  holdFrom?: number;
  release?: Promise<unknown>;
}

/** Sends `messages` in small slices so the burst is still arriving while the worker runs. */
export async function trickle(
  producer: Producer,
  topic: string,
  messages: Message[],
  options: TrickleOptions = {},
) {
  const { slice = 100, pauseMs = 15, holdFrom = messages.length, release } = options;
  const send = async (part: Message[]) => {
    for (let i = 0; i < part.length; i += slice) {
      await producer.send({ topic, messages: part.slice(i, i + slice) });
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  };
  await send(messages.slice(0, holdFrom));
  await release;
  await send(messages.slice(holdFrom));
}
