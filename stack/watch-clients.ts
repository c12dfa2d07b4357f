/**
 * `npm run watch:clients -- [options]`: checks a running system from the outside while you
 * break it by hand. Protocol-only clients (the fault suite's, written from PROTOCOL.md alone)
 * subscribe through the given gateways, writers change the orders table, and a line every few
 * seconds shows what each client received. Ctrl-C (or --seconds) stops the writes, waits until
 * every client's view equals PostgreSQL, and prints every broken promise: a change delivered
 * twice, one not newer than what the client had, a skipped version without a reset, a
 * snapshot without a reset, a view that never converges. Exit code 1 if there is any.
 *
 * Resets are listed with their reasons rather than judged: whether one was due depends on
 * the fault you injected (Redis losing its data calls for one; a killed process does not).
 */
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { convergence, violations } from './test/faults/checks.ts';
import { ProtocolClient } from './test/faults/protocol-client.ts';
import type { Filter } from './test/faults/server-frames.ts';
import { startTraffic } from './test/faults/traffic.ts';

const usage = `usage: npm run watch:clients -- [options]
  --gateways <urls>   comma-separated ws:// URLs (default ws://127.0.0.1:8080/ws,ws://127.0.0.1:8081/ws)
  --token <jwt>       staff token; default: fetched from the first gateway's /dev/token (development mode)
  --database <url>    PostgreSQL URL of the orders database (default postgres://postgres@127.0.0.1:5432/orders)
  --writers <n>       concurrent writers, 0 to only watch (default 3)
  --pause <ms>        pause of each writer between writes (default 20)
  --seconds <n>       stop by itself after n seconds (default: run until Ctrl-C)
  --converge <s>      how long the views may take to equal the database at the end (default 120)`;

function options() {
  try {
    const { values } = parseArgs({
      options: {
        gateways: { type: 'string', default: 'ws://127.0.0.1:8080/ws,ws://127.0.0.1:8081/ws' },
        token: { type: 'string' },
        database: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/orders' },
        writers: { type: 'string', default: '3' },
        pause: { type: 'string', default: '20' },
        seconds: { type: 'string' },
        converge: { type: 'string', default: '120' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help === true) {
      console.log(usage);
      process.exit(0);
    }
    const count = (name: string, text: string | undefined, min: number): number | undefined => {
      if (text === undefined) return undefined;
      const n = Number(text);
      if (!Number.isInteger(n) || n < min)
        throw new Error(`--${name} must be an integer ≥ ${min}, not "${text}"`);
      return n;
    };
    const gateways = values.gateways.split(',').map((u) => u.trim());
    for (const url of gateways)
      if (!/^wss?:\/\//.test(url)) throw new Error(`--gateways: "${url}" is not a ws:// or wss:// URL`);
    return {
      gateways,
      token: values.token,
      database: values.database,
      writers: count('writers', values.writers, 0) ?? 3,
      pauseMs: count('pause', values.pause, 0) ?? 20,
      seconds: count('seconds', values.seconds, 1),
      convergeMs: (count('converge', values.converge, 1) ?? 120) * 1000,
    };
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\n${usage}`);
    process.exit(2);
  }
}

const httpOf = (ws: string) => ws.replace(/^ws/, 'http').replace(/\/ws$/, '');

async function devToken(gateway: string): Promise<string> {
  const url = `${httpOf(gateway)}/dev/token?role=staff`;
  const response = await fetch(url, { signal: AbortSignal.timeout(5000) }).catch((error: unknown) => {
    throw new Error(`could not reach ${url} (is the system up? npm run dev): ${String(error)}`);
  });
  if (!response.ok)
    throw new Error(
      `${url} answered ${response.status}: a gateway in production mode mints no tokens; pass --token`,
    );
  const body = (await response.json()) as { token?: unknown };
  if (typeof body.token !== 'string') throw new Error(`${url} returned no token`);
  return body.token;
}

const filters: { name: string; filter?: Filter }[] = [
  { name: 'all' },
  { name: 'pending-or-paid', filter: { status: ['pending', 'paid'] } },
  { name: 'alice', filter: { customer: 'Alice' } },
];

async function main(): Promise<void> {
  const o = options();
  const token = o.token ?? (await devToken(o.gateways[0] ?? ''));
  const sql = postgres(o.database, { max: Math.max(2, o.writers + 1), onnotice: () => {} });
  await sql`select 1 from orders limit 1`.catch((error: unknown) => {
    throw new Error(`cannot read orders at ${o.database}: ${String(error)}`);
  });

  // One client per filter starting on each gateway; each moves on to the next gateway on a close.
  const clients = o.gateways.flatMap((_, start) =>
    filters.map(
      ({ name, filter }) =>
        new ProtocolClient({
          name: `${name}@${start + 1}`,
          gateways: () => [...o.gateways.slice(start), ...o.gateways.slice(0, start)],
          token,
          ...(filter === undefined ? {} : { filter }),
        }),
    ),
  );
  await Promise.all(clients.map((c) => c.connect()));
  const traffic =
    o.writers > 0 ? startTraffic(sql, { concurrency: o.writers, pauseMs: o.pauseMs }) : undefined;
  console.log(
    `${clients.length} clients on ${o.gateways.join(', ')}; ${o.writers} writers. Break something; Ctrl-C to check.`,
  );

  const status = () =>
    clients
      .map((c) => {
        const resets = c.resets.length > 0 ? ` resets:${c.resets.map((r) => r.reason).join('+')}` : '';
        return `${c.name} ${c.changeFrames().length}${c.connected ? '' : ' (away)'}${c.reconnects > 0 ? ` rc:${c.reconnects}` : ''}${resets}`;
      })
      .join(' | ');
  const ticker = setInterval(() => {
    console.log(`${new Date().toISOString().slice(11, 19)} writes ${traffic?.writes ?? 0} | ${status()}`);
  }, 5000);

  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
    if (o.seconds !== undefined) setTimeout(resolve, o.seconds * 1000);
  });
  console.log('\nstopping the writes; waiting for every view to equal the database…');
  const writes = (await traffic?.stop()) ?? 0;
  const problems = await convergence(clients, sql, o.convergeMs);
  clearInterval(ticker);
  for (const client of clients) problems.push(...violations(client, 'allowed'));
  console.log(`${writes} writes. ${status()}`);
  for (const client of clients)
    for (const r of client.resets)
      console.log(`${client.name}: reset ${r.reason} at ${new Date(r.at).toISOString()}`);
  await Promise.all(clients.map((c) => c.close()));
  await sql.end();
  if (problems.length > 0) {
    console.log(`\nBROKEN (${problems.length}):\n${problems.join('\n')}`);
    process.exitCode = 1;
  } else
    console.log('\nOK: every view equals the database; nothing twice, nothing out of order, no silent gap.');
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
