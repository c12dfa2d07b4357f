import type { Order, Sql } from '@orders/drizzle';
import type { Page } from 'playwright-core';

/** The fields a person sees; timestamps are left out because their formatting may differ. */
export type Visible = Pick<Order, 'id' | 'customerName' | 'productName' | 'status' | 'version'>;

export interface OrderFilter {
  status?: Order['status'][];
  customer?: string;
}

export async function databaseOrders(sql: Sql, filter: OrderFilter = {}): Promise<Visible[]> {
  const rows = await sql<
    { id: number; customer_name: string; product_name: string; status: Order['status']; version: number }[]
  >`SELECT id, customer_name, product_name, status, version FROM orders ORDER BY id`;
  return rows
    .map((row) => ({
      id: Number(row.id),
      customerName: row.customer_name,
      productName: row.product_name,
      status: row.status,
      version: Number(row.version),
    }))
    .filter((row) => filter.status === undefined || filter.status.includes(row.status))
    .filter((row) => filter.customer === undefined || filter.customer === row.customerName);
}

export async function pageOrders(page: Page): Promise<Visible[]> {
  const rows = await page.evaluate(() => window.__ordersPage?.rows() ?? []);
  return rows.map(({ id, customerName, productName, status, version }) => ({
    id,
    customerName,
    productName,
    status,
    version,
  }));
}

/** The rows as the DOM shows them (what a person sees), from the data attributes. */
export async function domOrders(page: Page): Promise<{ id: number; version: number; status: string }[]> {
  return page.$$eval('[data-order-id]', (elements) =>
    elements
      .map((element) => {
        const data = (element as HTMLElement).dataset;
        return { id: Number(data.orderId), version: Number(data.version), status: data.status ?? '' };
      })
      .sort((a, b) => a.id - b.id),
  );
}

/** Waits until the page shows exactly the database's rows (for a filter); returns the last difference. */
export async function waitForPageToMatch(
  page: Page,
  sql: Sql,
  filter: OrderFilter,
  timeoutMs: number,
): Promise<{ ok: boolean; detail: string }> {
  const deadline = Date.now() + timeoutMs;
  let detail = '';
  for (;;) {
    const [expected, actual] = [await databaseOrders(sql, filter), await pageOrders(page)];
    detail = describeDifference(expected, actual);
    if (detail === '') return { ok: true, detail };
    if (Date.now() > deadline) return { ok: false, detail };
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

export function describeDifference(expected: Visible[], actual: Visible[]): string {
  const byId = new Map(actual.map((row) => [row.id, row]));
  const problems: string[] = [];
  for (const row of expected) {
    const shown = byId.get(row.id);
    byId.delete(row.id);
    if (shown === undefined) problems.push(`#${row.id} missing`);
    else if (JSON.stringify(shown) !== JSON.stringify(row)) {
      problems.push(`#${row.id} shows ${JSON.stringify(shown)}, database has ${JSON.stringify(row)}`);
    }
  }
  for (const id of byId.keys()) problems.push(`#${id} shown but not in the database`);
  return problems.length === 0
    ? ''
    : `${problems.length} differences (db ${expected.length}, page ${actual.length}): ${problems.slice(0, 8).join('; ')}`;
}
