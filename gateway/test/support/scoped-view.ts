import type { ServerFrame } from '@orders/contract';
import type { Order } from '@orders/drizzle';
import type WebSocket from 'ws';

/**
 * Applies one subscription's frames to a map of rows, as a page would, and counts every
 * frame that shows an order of someone other than `customer` (in `row` or `before`); `*` sees all.
 */
export function watchScopedView(ws: WebSocket, sub: string, customer: string) {
  const view = {
    rows: new Map<number, Order>(),
    cursor: undefined as string | undefined,
    leaks: [] as string[],
    snapshotRows: 0,
    changes: 0,
    removes: 0,
    live: 0,
    recovered: 0,
  };
  const check = (order: Order | null, where: string) => {
    if (order !== null && customer !== '*' && order.customerName !== customer) {
      view.leaks.push(`${where}: order ${order.id} of ${order.customerName}`);
    }
  };
  ws.on('message', (data) => {
    const frame = JSON.parse(String(data)) as ServerFrame;
    if (!('sub' in frame) || frame.sub !== sub) return;
    switch (frame.type) {
      case 'snapshot':
        if (view.snapshotRows === 0 || frame.rows.length === 0) view.rows.clear();
        for (const row of frame.rows) {
          check(row, 'snapshot');
          view.rows.set(row.id, row);
        }
        view.snapshotRows += frame.rows.length;
        view.cursor = frame.cursor;
        break;
      case 'change':
        check(frame.row, `${frame.op}/${frame.effect} row`);
        check(frame.before, `${frame.op}/${frame.effect} before`);
        view.changes++;
        view.cursor = frame.cursor;
        if (frame.effect === 'upsert') view.rows.set(frame.row.id, frame.row);
        else {
          view.removes++;
          view.rows.delete(frame.row.id);
        }
        break;
      case 'live':
        view.live++;
        if (frame.recovered) view.recovered++;
        view.cursor = frame.cursor;
        break;
      case 'reset':
        view.rows.clear();
        view.snapshotRows = 0;
        break;
      default:
        break;
    }
  });
  return view;
}

/** Why two row sets differ, or undefined when they are equal. */
export function diffViews(
  got: ReadonlyMap<number, Order>,
  want: ReadonlyMap<number, Order>,
): string | undefined {
  for (const [id, row] of want) {
    const mine = got.get(id);
    if (mine === undefined) return `missing order ${id}`;
    if (
      mine.version !== row.version ||
      mine.customerName !== row.customerName ||
      mine.status !== row.status
    ) {
      return `order ${id}: have v${mine.version} ${mine.customerName}/${mine.status}, want v${row.version} ${row.customerName}/${row.status}`;
    }
  }
  for (const id of got.keys()) if (!want.has(id)) return `extra order ${id}`;
  return undefined;
}
