/**
 * What an open socket costs a gateway, against a bare `ws` server in the same run.
 * Writes bench/results/connections.md (or `--out <name>`) at the repository root.
 *
 * 1. Memory and opening time: a gateway process and a bare `ws` process (bare-server.ts)
 *    take turns, a fresh process each round, gateway first. Each opens `--connections`
 *    sockets from a separate holder process (connection-holder.ts), each socket with one
 *    subscription that matches nothing (`ids: [999999]`). Before and after, the measured
 *    process collects garbage (memory-probe.ts) and its RSS is read from /proc; the
 *    difference divided by the sockets is the cost per connection. The timer runs from the
 *    first connect to the last `live` (gateway: JWT verification, welcome, subscribe, empty
 *    snapshot; bare: greeting and one answer).
 * 2. Latency while idle sockets pile up: `--active` clients in this process subscribed to
 *    everything, changes written with the worker's own fan-out script at `--rate`, while the
 *    gateway holds 1,000 and then `--hold` sockets in all, alternating. Latency runs from the
 *    write to the client's frame, on this process's clock.
 *
 *   npm run bench:connections [-- --connections 5000 --rounds 3 --hold 10000 --active 100 --rate 50 --seconds 10]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { redisKeys, type StreamChange } from '@orders/contract/redis';
import {
  createStandInForwarder,
  createTestDatabase,
  devToken,
  freePort,
  type GatewayProcess,
  newNamespace,
  spawnGateway,
} from '@orders/testing';
import { createClient } from 'redis';
import WebSocket from 'ws';
import { percentile } from './percentile.ts';

const TARGET_MEMORY_RATIO = 1.5;
const TARGET_OPEN_RATIO = 1.5;
const TARGET_P99_GROWTH = 1.2;

const { values: args } = parseArgs({
  options: {
    connections: { type: 'string', default: '5000' },
    rounds: { type: 'string', default: '3' },
    window: { type: 'string', default: '50' },
    hold: { type: 'string', default: '10000' },
    base: { type: 'string', default: '1000' },
    active: { type: 'string', default: '100' },
    rate: { type: 'string', default: '50' },
    seconds: { type: 'string', default: '10' },
    'latency-rounds': { type: 'string', default: '2' },
    out: { type: 'string', default: 'connections' },
    'skip-latency': { type: 'boolean', default: false },
    'skip-memory': { type: 'boolean', default: false },
  },
});
const CONNECTIONS = Number(args.connections);
const ROUNDS = Number(args.rounds);
const WINDOW = Number(args.window);
const HOLD = Number(args.hold);
const BASE = Number(args.base);
const ACTIVE = Number(args.active);
const RATE = Number(args.rate);
const SECONDS = Number(args.seconds);
const LATENCY_ROUNDS = Number(args['latency-rounds']);

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const probe = fileURLToPath(new URL('./memory-probe.ts', import.meta.url));
// tsx first, so the probe (TypeScript) can load; the gateway's own `--import tsx` follows.
const measuredNodeArgs = ['--expose-gc', '--import', 'tsx', '--import', probe];
const log = (message: string) => process.stderr.write(`[connections] ${message}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const children: ChildProcess[] = [];

async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

function spread(values: number[]): { median: number; min: number; max: number } {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = Math.floor(sorted.length / 2);
  const median =
    sorted.length % 2 === 1 ? (sorted[mid] ?? Number.NaN) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
  return { median, min: sorted[0] ?? Number.NaN, max: sorted.at(-1) ?? Number.NaN };
}
const fmt = (s: { median: number; min: number; max: number }, digits = 1) =>
  `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`;

/** The holder process and a request/answer call over its IPC channel. */
function startHolder() {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(new URL('./connection-holder.ts', import.meta.url))],
    { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
  );
  children.push(child);
  const call = <T>(command: object): Promise<T> =>
    new Promise((resolve, reject) => {
      const onExit = () => reject(new Error('connection holder exited'));
      child.once('exit', onExit);
      child.once('message', (answer: { type: string; message?: string }) => {
        child.off('exit', onExit);
        if (answer.type === 'failed') reject(new Error(`opening sockets failed: ${answer.message}`));
        else resolve(answer as T);
      });
      child.send(command);
    });
  return {
    open: (url: string, count: number) =>
      call<{ ms: number; open: number }>({ type: 'open', url, count, window: WINDOW }),
    close: (count: number) => call<{ open: number }>({ type: 'close', count }),
  };
}
type Holder = ReturnType<typeof startHolder>;

/** Settled memory of a process that preloads memory-probe.ts: RSS from /proc, heap from Node. */
async function memoryOf(pid: number): Promise<{ rss: number; heapUsed: number; external: number }> {
  const file = `${tmpdir()}/memory-probe-${pid}.json`;
  rmSync(file, { force: true });
  await sleep(500);
  process.kill(pid, 'SIGUSR2');
  await until(() => existsSync(file), `memory probe of ${pid}`, 10_000);
  await sleep(50);
  const usage = JSON.parse(readFileSync(file, 'utf8')) as {
    heapUsed: number;
    external: number;
    arrayBuffers: number;
    collected: boolean;
  };
  if (!usage.collected) throw new Error('the measured process cannot collect garbage (--expose-gc missing)');
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1]);
  return { rss: kb * 1024, heapUsed: usage.heapUsed, external: usage.external };
}

interface Cost {
  rssPerConn: number;
  heapPerConn: number;
  externalPerConn: number;
  openMs: number;
}

/** Opens and measures on a server that is already warm; closes everything it opened. */
async function measure(holder: Holder, pid: number, url: string, open: () => Promise<number>): Promise<Cost> {
  // Warm-up: compiled code and lazily created structures are not per-connection cost.
  await holder.open(url, 200);
  await holder.close(200);
  await until(async () => (await open()) === 0, 'warm-up sockets closed');
  const before = await memoryOf(pid);
  const opened = await holder.open(url, CONNECTIONS);
  await until(async () => (await open()) === CONNECTIONS, 'server counts every socket');
  const after = await memoryOf(pid);
  await holder.close(CONNECTIONS);
  return {
    rssPerConn: (after.rss - before.rss) / CONNECTIONS,
    heapPerConn: (after.heapUsed - before.heapUsed) / CONNECTIONS,
    externalPerConn: (after.external - before.external) / CONNECTIONS,
    openMs: opened.ms,
  };
}

async function gatewayConnections(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return Number(/^gateway_connections (\d+)/m.exec(text)?.[1] ?? Number.NaN);
}

async function gatewayRound(holder: Holder, env: Record<string, string>, round: number): Promise<Cost> {
  const gw = await spawnGateway(`${env.REDIS_NS}-mem-${round}`, env, undefined, measuredNodeArgs);
  children.push(gw.child);
  try {
    const url = `${gw.url}?token=${await devToken(gw.url)}`;
    return await measure(holder, gw.child.pid ?? 0, url, () => gatewayConnections(gw.port));
  } finally {
    await gw.kill('SIGKILL');
  }
}

async function bareRound(holder: Holder): Promise<Cost> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [...measuredNodeArgs, fileURLToPath(new URL('./bare-server.ts', import.meta.url)), String(port)],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  children.push(child);
  try {
    const count = async () => Number(await (await fetch(`http://127.0.0.1:${port}/`)).text());
    await until(async () => {
      try {
        return (await count()) === 0;
      } catch {
        return false;
      }
    }, 'bare server');
    return await measure(holder, child.pid ?? 0, `ws://127.0.0.1:${port}/`, count);
  } finally {
    child.kill('SIGKILL');
  }
}

/** Clients subscribed to everything; `arrived` gets every change frame's order id. */
async function activeClients(url: string, count: number, arrived: (id: number) => void) {
  const sockets: WebSocket[] = [];
  for (let i = 0; i < count; i++) {
    const ws = new WebSocket(url);
    sockets.push(ws);
    await new Promise<void>((resolve, reject) => {
      let live = false;
      ws.on('error', reject);
      ws.on('open', () => ws.send('{"type":"subscribe","sub":"s1"}'));
      ws.on('message', (data) => {
        const text = String(data);
        if (live) {
          const frame = JSON.parse(text) as { type: string; row?: { id: number } };
          if (frame.type === 'change' && frame.row !== undefined) arrived(frame.row.id);
        } else if (text.includes('"type":"live"')) {
          live = true;
          resolve();
        }
      });
    });
  }
  return () => {
    for (const ws of sockets) ws.terminate();
  };
}

async function latencyRun(holder: Holder, env: Record<string, string>, keys: ReturnType<typeof redisKeys>) {
  const redis = createClient({ url: 'redis://127.0.0.1:6379' });
  redis.on('error', () => {});
  await redis.connect();
  const gw: GatewayProcess = await spawnGateway(`${env.REDIS_NS}-lat`, env, undefined, measuredNodeArgs);
  children.push(gw.child);
  const forwarder = createStandInForwarder(redis, keys, 'bench-connections', 200_000);
  const sentAt = new Map<number, number>();
  let samples: number[] = [];
  let measuring = false;
  const stop = await activeClients(`${gw.url}?token=${await devToken(gw.url)}`, ACTIVE, (id) => {
    const start = sentAt.get(id);
    if (measuring && start !== undefined) samples.push(performance.now() - start);
  });
  let offset = 0;
  const drive = async (seconds: number) => {
    const started = performance.now();
    let written = 0;
    const total = Math.round(seconds * RATE);
    while (written < total) {
      const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * RATE)) - written;
      if (due > 0) {
        const changes: StreamChange[] = [];
        const now = new Date().toISOString();
        for (let k = 0; k < due; k++) {
          offset++;
          changes.push({
            op: 'insert',
            row: {
              id: 300_000 + offset,
              customerName: `c${offset % 100}`,
              productName: 'widget',
              status: 'pending',
              version: 1,
              createdAt: now,
              updatedAt: now,
            },
            before: null,
            committedAt: Date.now(),
            lsn: '0',
            kafka: {
              topic: 'bench-connections',
              partition: 0,
              offset: String(offset),
              timestamp: Date.now(),
            },
          });
          sentAt.set(300_000 + offset, performance.now());
        }
        await forwarder.forward('bench-connections', 0, String(offset), changes);
        written += due;
      }
      await sleep(5);
    }
  };
  const idle = { open: 0 };
  const holdIdle = async (total: number) => {
    const target = total - ACTIVE;
    if (target > idle.open)
      idle.open = (await holder.open(`${gw.url}?token=${await devToken(gw.url)}`, target - idle.open)).open;
    else if (target < idle.open) idle.open = (await holder.close(idle.open - target)).open;
    await until(
      async () => (await gatewayConnections(gw.port)) === total,
      `gateway holding ${total} sockets`,
    );
  };
  const phases: { held: number; p50: number; p99: number; max: number; samples: number; rss: number }[] = [];
  try {
    await drive(2); // warm-up
    for (let round = 0; round < LATENCY_ROUNDS; round++) {
      for (const held of [BASE, HOLD]) {
        await holdIdle(held);
        const { rss } = await memoryOf(gw.child.pid ?? 0);
        await drive(1);
        samples = [];
        measuring = true;
        await drive(SECONDS);
        await sleep(1000);
        measuring = false;
        const expected = SECONDS * RATE * ACTIVE;
        // A change that never arrived within the phase is later than any that did: without
        // this a gateway that falls behind would report the fine latency of the few it delivered.
        const missing = Math.max(0, expected - samples.length);
        for (let k = 0; k < missing; k++) samples.push(Number.POSITIVE_INFINITY);
        phases.push({
          held,
          p50: percentile(samples, 50),
          p99: percentile(samples, 99),
          max: percentile(samples, 100),
          samples: samples.length - missing,
          rss,
        });
        log(
          `latency with ${held} sockets: p50 ${percentile(samples, 50).toFixed(2)} ms, p99 ${percentile(samples, 99).toFixed(2)} ms (${samples.length}/${expected} deliveries)`,
        );
      }
    }
  } finally {
    stop();
    await holder.close(idle.open);
    await gw.kill('SIGKILL');
    await redis.close();
  }
  return phases;
}

async function main() {
  const loadBefore = loadavg()[0] ?? 0;
  const ns = `benchconn${newNamespace()}`;
  const keys = redisKeys(ns);
  const db = await createTestDatabase();
  const holder = startHolder();
  const perSource = String(Math.max(CONNECTIONS, HOLD) * 2);
  const env = {
    REDIS_NS: ns,
    DATABASE_READER_URL: db.readerUrl,
    LOG_LEVEL: 'warn',
    MAX_CONNECTIONS_PER_IP: perSource,
    MAX_CONNECTIONS_PER_PRINCIPAL: perSource,
  };
  try {
    const gateway: Cost[] = [];
    const bare: Cost[] = [];
    // Alternating rounds: load from other work on the machine lands on both sides alike.
    for (let round = 0; round < (args['skip-memory'] ? 0 : ROUNDS); round++) {
      gateway.push(await gatewayRound(holder, env, round));
      bare.push(await bareRound(holder));
      const g = gateway.at(-1) as Cost;
      const b = bare.at(-1) as Cost;
      log(
        `round ${round + 1}: gateway ${(g.rssPerConn / 1024).toFixed(1)} KB/conn, ${(g.openMs / 1000).toFixed(1)} s; bare ${(b.rssPerConn / 1024).toFixed(1)} KB/conn, ${(b.openMs / 1000).toFixed(1)} s`,
      );
    }
    const phases = args['skip-latency'] ? [] : await latencyRun(holder, env, keys);
    const loadAfter = loadavg()[0] ?? 0;

    const kb = (costs: Cost[], key: keyof Cost) => spread(costs.map((c) => c[key] / 1024));
    const seconds = (costs: Cost[]) => spread(costs.map((c) => c.openMs / 1000));
    const memoryRatios = gateway.map((g, i) => g.rssPerConn / (bare[i]?.rssPerConn ?? Number.NaN));
    const openRatios = gateway.map((g, i) => g.openMs / (bare[i]?.openMs ?? Number.NaN));
    const memoryRatio = kb(gateway, 'rssPerConn').median / kb(bare, 'rssPerConn').median;
    const openRatio = seconds(gateway).median / seconds(bare).median;
    const at = (held: number) => spread(phases.filter((p) => p.held === held).map((p) => p.p99));
    const p99Growth = phases.length === 0 ? Number.NaN : at(HOLD).median / at(BASE).median;
    const mark = (ok: boolean) => (ok ? '✅ met' : '❌ missed');
    const range = (values: number[]) =>
      `${Math.min(...values).toFixed(2)}–${Math.max(...values).toFixed(2)}×`;

    const memorySection = () => `## Memory and opening time per connection

${ROUNDS} rounds, alternating gateway and bare server, a fresh process each; ${CONNECTIONS} sockets each, every
socket with one subscription that matches nothing (\`ids: [999999]\`); median (min–max) of the rounds.

| | gateway | bare \`ws\` | ratio (medians) | rounds | target |
|---|---|---|---|---|---|
| RSS per connection, KB | ${fmt(kb(gateway, 'rssPerConn'))} | ${fmt(kb(bare, 'rssPerConn'))} | **${memoryRatio.toFixed(2)}×** | ${range(memoryRatios)} | ≤ ${TARGET_MEMORY_RATIO}× ${mark(memoryRatio <= TARGET_MEMORY_RATIO)} |
| JS heap per connection, KB | ${fmt(kb(gateway, 'heapPerConn'))} | ${fmt(kb(bare, 'heapPerConn'))} | | | |
| external memory per connection, KB | ${fmt(kb(gateway, 'externalPerConn'))} | ${fmt(kb(bare, 'externalPerConn'))} | | | |
| opening ${CONNECTIONS} sockets, s | ${fmt(seconds(gateway), 2)} | ${fmt(seconds(bare), 2)} | **${openRatio.toFixed(2)}×** | ${range(openRatios)} | ≤ ${TARGET_OPEN_RATIO}× ${mark(openRatio <= TARGET_OPEN_RATIO)} |

Memory is read after two forced collections (\`--expose-gc\`, a SIGUSR2 handler preloaded
into both processes) before and after opening, RSS from \`/proc/<pid>/status\`; each side
first opened and closed 200 sockets so compiled code and lazily built structures are not
counted. Sockets come from a separate process, at most ${WINDOW} opening at once. Opening
runs from the first connect to the last answer: for the gateway the upgrade with JWT
verification (\`?token=\`), \`welcome\`, \`subscribe\`, the (empty) snapshot query and \`live\`;
for the bare server its greeting and one answer.
`;
    const ms = (value: number) => (Number.isFinite(value) ? value.toFixed(2) : 'not delivered');
    const memory = gateway.length === 0 ? '' : memorySection();
    const md = `# Connection cost: one gateway vs a bare \`ws\` server

Generated by \`npm run bench:connections${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}\` on ${new Date().toISOString()}.
Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}.
1-minute load average ${loadBefore.toFixed(1)} before, ${loadAfter.toFixed(1)} after, on ${cpus().length} cores (shared with other work).

${memory}${
  phases.length === 0
    ? ''
    : `
## Latency for other clients while the gateway holds ${HOLD} sockets

${ACTIVE} clients subscribed to everything, ${RATE} changes/s written with the worker's fan-out
script (${RATE * ACTIVE} deliveries/s), ${SECONDS} s per phase; the rest of the sockets are idle
subscribers as above. Phases alternate between ${BASE} and ${HOLD} sockets held in all. Latency
runs from the write to Redis to the client's frame, on one clock; a change not delivered
within its phase (plus 1 s) counts as infinitely late, so a gateway that falls behind cannot
report the latency of the few changes it did deliver.

| sockets held | p50, ms | p99, ms | max, ms | deliveries | gateway RSS, MB |
|---|---|---|---|---|---|
${phases.map((p) => `| ${p.held} | ${ms(p.p50)} | ${ms(p.p99)} | ${ms(p.max)} | ${p.samples} / ${SECONDS * RATE * ACTIVE} | ${(p.rss / 2 ** 20).toFixed(0)} |`).join('\n')}
| **p99 at ${HOLD} / p99 at ${BASE}** (medians) | | **${p99Growth.toFixed(2)}×** | | | target ≤ ${TARGET_P99_GROWTH}× ${mark(p99Growth <= TARGET_P99_GROWTH)} |
`
}`;
    await mkdir(`${repoRoot}bench/results`, { recursive: true });
    await writeFile(`${repoRoot}bench/results/${args.out}.md`, md);
    await writeFile(
      `${repoRoot}bench/results/${args.out}.json`,
      `${JSON.stringify({ gateway, bare, phases, memoryRatio, openRatio, p99Growth, loadBefore, loadAfter, config: args }, null, 2)}\n`,
    );
    log(`wrote bench/results/${args.out}.md`);
  } finally {
    for (const child of children) child.kill('SIGKILL');
    const redis = createClient({ url: 'redis://127.0.0.1:6379' });
    redis.on('error', () => {});
    await redis.connect();
    for await (const batch of redis.scanIterator({ MATCH: `{${ns}}*`, COUNT: 1000 })) {
      if (batch.length > 0) await redis.del(batch);
    }
    await redis.close();
    await db.drop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    log(String(error instanceof Error ? (error.stack ?? error.message) : error));
    for (const child of children) child.kill('SIGKILL');
    process.exit(1);
  },
);
