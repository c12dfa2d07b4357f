/**
 * The end-of-case checks: every client's view equals PostgreSQL, nothing was delivered twice
 * or out of order, no silent gap, and `reset` exactly where the protocol calls for one.
 */
import type { Sql } from '@orders/drizzle';
import { expect } from 'vitest';
import type { Environment } from './environment.ts';
import { METRICS_TOKEN } from './metrics-token.ts';
import type { ProtocolClient } from './protocol-client.ts';
import type { Filter } from './server-frames.ts';

interface Row {
  id: number;
  customerName: string;
  productName: string;
  status: string;
  version: number;
}

const line = (r: Row) => `${r.id} v${r.version} ${r.status} ${r.customerName} ${r.productName}`;

function matches(filter: Filter | undefined, row: Row): boolean {
  if (filter?.status && !filter.status.includes(row.status as never)) return false;
  if (filter?.customer !== undefined && row.customerName !== filter.customer) return false;
  return true;
}

export async function databaseRows(sql: Sql): Promise<Row[]> {
  return sql<Row[]>`
    select id, customer_name as "customerName", product_name as "productName", status::text as status, version
    from orders order by id`;
}

/** What differs between a client's view and the rows its filter selects, or undefined. */
function difference(client: ProtocolClient, rows: Row[]): string | undefined {
  const want = rows.filter((r) => matches(client.scope, r)).map(line);
  const have = [...client.view.values()].sort((a, b) => a.id - b.id).map(line);
  const wantSet = new Set(want);
  const haveSet = new Set(have);
  const missing = want.filter((l) => !haveSet.has(l));
  const extra = have.filter((l) => !wantSet.has(l));
  if (missing.length === 0 && extra.length === 0) return undefined;
  const parts = [
    missing.length > 0
      ? `${missing.length} rows missing or stale (e.g. ${missing.slice(0, 3).join('; ')})`
      : '',
    extra.length > 0 ? `${extra.length} rows extra or stale (e.g. ${extra.slice(0, 3).join('; ')})` : '',
  ];
  return `${client.name}: ${parts.filter((p) => p !== '').join(', ')}`;
}

/**
 * Polls until every client's view equals the database (writes must have stopped). The
 * deadline is generous: only a view that never converges is a problem.
 */
export async function convergence(clients: ProtocolClient[], sql: Sql, timeoutMs: number): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = await databaseRows(sql);
    const differences = clients.flatMap((c) => difference(c, rows) ?? []);
    if (differences.length === 0) return [];
    if (Date.now() > deadline) return [`not converged after ${timeoutMs} ms: ${differences.join(' | ')}`];
    await new Promise((r) => setTimeout(r, 1000));
  }
}

export type ResetRule = 'none' | 'allowed' | 'required';

/**
 * Duplicates, changes out of order, gaps, bad frames, and resets against `resets`; a reset
 * counts only with one of `resetReasons` (any reason when not given).
 */
export function violations(
  client: ProtocolClient,
  resets: ResetRule,
  resetReasons?: readonly string[],
): string[] {
  const v = client.violations;
  const problems: string[] = [];
  const list = (what: string, items: string[]) => {
    if (items.length > 0) problems.push(`${items.length} ${what} (e.g. ${items.slice(0, 5).join(', ')})`);
  };
  list('invalid or error frames', v.bad);
  // Frame by frame against PROTOCOL.md, per socket: order of frames, repeats, cursors, effects.
  for (const violation of client.conformanceViolations()) problems.push(violation);
  list('changes delivered twice', v.duplicates);
  list('changes not newer than what the client had', v.notNewer);
  // Conflation legitimately skips versions; it happens only for a socket far behind.
  // Versions a gateway skipped on purpose come marked `conflated`; every other jump is a gap.
  list('skipped versions without a reset (silent gap)', v.gaps);
  if (v.unannouncedSnapshots > 0) problems.push(`${v.unannouncedSnapshots} snapshots without a reset`);
  const reasons = client.resets.map((r) => r.reason);
  if (resets === 'none' && reasons.length > 0)
    problems.push(`reset where none is due: ${reasons.join(', ')}`);
  if (resets === 'required' && reasons.length === 0) problems.push('no reset although one is due');
  const foreign = reasons.filter((reason) => resetReasons !== undefined && !resetReasons.includes(reason));
  if (resets !== 'none' && foreign.length > 0)
    problems.push(`reset for a reason this fault does not call for: ${foreign.join(', ')}`);
  // A gap names an order: what the client got for it, against its resets and snapshots, is
  // what tells a lost insert from a snapshot that should have held the row.
  for (const gap of v.gaps.slice(0, 3)) problems.push(trail(client, gap));
  return problems.map((p) => `${client.name}: ${p}`);
}

/** The frames of one run of a subscription that matter for order `gap` (`op:id:version ...`). */
function trail(client: ProtocolClient, gap: string): string {
  const id = Number(gap.split(':')[1]);
  const lines: string[] = [];
  let snapshotRows = 0;
  // Times are epoch ms, like the gateways' log lines.
  for (const { at, gateway, frame } of client.frames) {
    const when = `${at} ${gateway.replace(/^ws:\/\/127\.0\.0\.1:/, ':')}`;
    if (frame.type === 'snapshot') {
      snapshotRows += frame.rows.length;
      const row = frame.rows.find((r) => r.id === id);
      if (row !== undefined)
        lines.push(`${when} snapshot holds ${id} v${row.version} cursor ${frame.cursor}`);
      if (frame.done) {
        lines.push(`${when} snapshot done (${snapshotRows} rows) cursor ${frame.cursor}`);
        snapshotRows = 0;
      }
    } else if (frame.type === 'change') {
      if (frame.row.id === id)
        lines.push(
          `${when} ${frame.op} ${id} v${frame.row.version} ${frame.effect} committed ${frame.committedAt} cursor ${frame.cursor}`,
        );
    } else if (frame.type === 'reset') lines.push(`${when} reset ${frame.reason}`);
    else if (frame.type === 'live') lines.push(`${when} live cursor ${frame.cursor}`);
  }
  return `frames around ${gap}: ${lines.join(' | ')}`;
}

/**
 * Waits for convergence, then fails with every problem of every client at once, so one run
 * shows the whole picture rather than the first broken promise.
 */
export async function expectDelivered(
  clients: ProtocolClient[],
  sql: Sql,
  options: {
    resets: (client: ProtocolClient) => ResetRule;
    /** The reasons a reset may give in this case; a reset with any other fails it. */
    resetReasons?: readonly string[];
    /** Services that exited without being told to (and were restarted): each fails the case. */
    crashed?: readonly string[];
    gatewayHttpUrls: string[];
    /** Printed with the summary (e.g. processes the supervisor had to restart). */
    note?: string;
    timeoutMs?: number;
  },
): Promise<void> {
  const problems = await convergence(clients, sql, options.timeoutMs ?? 120_000);
  const conflatedCount = await conflatedChanges(options.gatewayHttpUrls);
  for (const client of clients)
    problems.push(...violations(client, options.resets(client), options.resetReasons));
  for (const service of options.crashed ?? []) problems.push(`${service} crashed during the case`);
  const changes = clients.map(
    (c) =>
      `${c.name}: ${c.changeFrames().length} changes, ${c.resets.length} resets` +
      (c.resets.length > 0 ? ` (${[...new Set(c.resets.map((r) => r.reason))].join(', ')})` : '') +
      `, ${c.reconnects} reconnects` +
      (c.recoverableErrors > 0 ? `, ${c.recoverableErrors} internal/slow_consumer errors` : ''),
  );
  const notes = [options.note, conflatedCount > 0 ? `${conflatedCount} changes conflated` : undefined].filter(
    Boolean,
  );
  console.log(`delivered: ${changes.join('; ')}${notes.map((n) => `; ${n}`).join('')}`);
  expect(problems, problems.join('\n')).toEqual([]);
}

/** Sum of `gateway_conflated_changes_total` over the gateways. */
export async function conflatedChanges(gatewayHttpUrls: string[]): Promise<number> {
  let total = 0;
  for (const url of gatewayHttpUrls) {
    const response = await fetch(`${url}/metrics`, {
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
      signal: AbortSignal.timeout(5000),
    });
    // Unread, the counter would read as 0 and a gateway that conflated would look like a gap.
    if (response.status !== 200) throw new Error(`${url}/metrics answered ${response.status}`);
    const text = await response.text();
    const match = /^gateway_conflated_changes_total(?:\{[^}]*\})? (\S+)$/m.exec(text);
    total += Number(match?.[1] ?? 0);
  }
  return total;
}

/** {@link expectDelivered} against a fault-suite environment: its gateways, its crashes. */
export function expectDeliveredIn(
  env: Environment,
  clients: ProtocolClient[],
  rules: {
    resets: (client: ProtocolClient) => ResetRule;
    resetReasons?: readonly string[];
    timeoutMs?: number;
  },
): Promise<void> {
  return expectDelivered(clients, env.pipeline.sql, {
    ...rules,
    gatewayHttpUrls: env.gatewayHttpUrls(),
    note: env.crashes(),
    crashed: env.crashed(),
  });
}

/** A counter of the environment's worker (summed over its labels), from its `/metrics`. */
export async function workerCounter(env: Environment, name: string): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${env.worker.spec.env.WORKER_PORT}/metrics`);
  const text = await response.text();
  let total = 0;
  for (const match of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm')))
    total += Number(match[1]);
  return total;
}
