import type { ChangeFrame, Subscription } from '@orders/client';
import type { Order } from '@orders/drizzle';

/**
 * Watches one subscription and records every violation of "per order, versions strictly
 * increase, nothing twice": the frames themselves are checked, not the merged rows,
 * so a duplicate hidden by the client's merge still counts.
 */
export function recordSubscription(sub: Subscription) {
  const seen = new Map<number, number>();
  const violations: string[] = [];
  let snapshots = 0;
  let changes = 0;
  let recovered = 0;
  sub.on('snapshot', ({ rows }) => {
    snapshots++;
    seen.clear();
    for (const row of rows.values()) seen.set(row.id, row.version);
  });
  sub.on('reset', () => seen.clear());
  sub.on('live', (e) => {
    if (e.recovered) recovered++;
  });
  sub.on('change', ({ change }: { change: ChangeFrame }) => {
    changes++;
    const previous = seen.get(change.row.id);
    const ok =
      previous === undefined ||
      (change.op === 'delete' ? change.row.version >= previous : change.row.version > previous);
    if (!ok)
      violations.push(`order ${change.row.id}: v${change.row.version} after v${previous} (${change.op})`);
    seen.set(change.row.id, change.row.version);
  });
  return {
    violations,
    get snapshots() {
      return snapshots;
    },
    get changes() {
      return changes;
    },
    get recovered() {
      return recovered;
    },
  };
}

/** Same id → same version and fields; returns a readable difference or undefined. */
export function diffRows(
  actual: ReadonlyMap<number, Order>,
  expected: ReadonlyMap<number, Order>,
): string | undefined {
  const problems: string[] = [];
  for (const [id, row] of expected) {
    const got = actual.get(id);
    if (got === undefined) problems.push(`missing ${id}@v${row.version}`);
    else if (
      got.version !== row.version ||
      got.status !== row.status ||
      got.customerName !== row.customerName
    )
      problems.push(
        `stale ${id}: v${got.version} ${got.status} ${got.customerName} vs v${row.version} ${row.status} ${row.customerName}`,
      );
  }
  for (const id of actual.keys()) if (!expected.has(id)) problems.push(`extra ${id}`);
  return problems.length === 0
    ? undefined
    : `${problems.length} differences: ${problems.slice(0, 5).join('; ')}`;
}
