/**
 * Many subscribers opening the same view at once: how long until all of them are live, against
 * one subscriber alone, on a gateway that shares snapshot pages and on one that does not
 * (`SNAPSHOT_SHARING=off`), both in the same run on the same database.
 * Writes bench/results/crowd.md and crowd.json (or `--out <name>`) at the repository root.
 *
 * Each round measures, on each gateway (the gateway order and the one/crowd order alternate
 * round by round): one staff client opening a socket and subscribing to everything until its
 * `live`; then `--clients` clients doing the same at once, until the last `live`. Every client
 * must receive the whole table (its snapshot rows are counted) and no error.
 *
 *   npm run bench:crowd [-- --rows 50000 --clients 50 --rounds 4]
 */

import type { ChildProcess } from 'node:child_process';
import { cpus } from 'node:os';
import {
  benchLog,
  benchOptions,
  formatSpread,
  generatedBy,
  load1,
  machine,
  runBench,
  spread,
  writeResult,
} from '@orders/test-harness';
import WebSocket from 'ws';
import { cpuWindow } from './cpu-shares.ts';
import { benchGround, buildGateway, socketUrl, spawnMeasuredGateway } from './load-kit.ts';

/** All live within this multiple of one client's time, with sharing on. */
const TARGET_RATIO = 2;

const args = benchOptions({ rows: 50_000, clients: 50, rounds: 4, out: 'crowd' });
const log = benchLog('crowd');
const children: ChildProcess[] = [];

const LIVE = Buffer.from('{"type":"live"');
const SNAPSHOT = Buffer.from('{"type":"snapshot"');
const ERROR = Buffer.from('{"type":"error"');
const ROW = Buffer.from('{"id":');

const startsWith = (data: Buffer, prefix: Buffer) =>
  data.length >= prefix.length && data.compare(prefix, 0, prefix.length, 0, prefix.length) === 0;

/** Rows in a snapshot frame, counted without parsing it (the client must not be the bottleneck). */
function rowsIn(data: Buffer): number {
  let count = 0;
  for (let at = data.indexOf(ROW); at >= 0; at = data.indexOf(ROW, at + ROW.length)) count++;
  return count;
}

/** One client: socket, subscribe to everything, resolves with the rows it got once `live` arrives. */
function openLive(url: string): Promise<{ rows: number; bytes: number; ws: WebSocket }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    let rows = 0;
    let bytes = 0;
    const timer = setTimeout(() => reject(new Error('no live within 300 s')), 300_000);
    ws.on('message', (data: Buffer) => {
      bytes += data.length;
      if (startsWith(data, SNAPSHOT)) rows += rowsIn(data);
      else if (startsWith(data, LIVE)) {
        clearTimeout(timer);
        resolve({ rows, bytes, ws });
      } else if (startsWith(data, ERROR)) {
        clearTimeout(timer);
        reject(new Error(`error frame: ${data.toString().slice(0, 200)}`));
      }
    });
    ws.once('open', () => ws.send(JSON.stringify({ type: 'subscribe', sub: 's', filter: {} })));
    ws.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** One measurement: `count` clients opening at once, until all are live. */
interface Opening {
  ms: number;
  /** CPU seconds over the window, by process (see {@link CPU_GROUPS}). */
  cpu: Record<string, number>;
  /** Bytes of frames the clients received in all. */
  bytes: number;
}

/** Where an opening's time goes: the gateway measured, this process (the clients), PostgreSQL, the rest. */
const CPU_GROUPS = ['gateway', 'clients', 'postgres', 'other'] as const;

async function timeToLive(gateway: { url: string; pid: number }, count: number): Promise<Opening> {
  const window = cpuWindow([
    { name: 'gateway', pids: [gateway.pid] },
    { name: 'clients', pids: [process.pid] },
    { name: 'postgres', comm: 'postgres' },
  ]);
  const started = performance.now();
  const clients = await Promise.all(Array.from({ length: count }, () => openLive(gateway.url)));
  const ms = performance.now() - started;
  const cpu = window.stop();
  let bytes = 0;
  for (const client of clients) {
    client.ws.terminate();
    bytes += client.bytes;
    if (client.rows !== args.rows)
      throw new Error(`a client got ${client.rows} snapshot rows, the table holds ${args.rows}`);
  }
  return { ms, cpu, bytes };
}

interface Sample {
  round: number;
  sharing: 'on' | 'off';
  one: Opening;
  crowd: Opening;
}

async function main() {
  const loadBefore = load1();
  const ground = await benchGround('benchcrowd');
  const { db, ns } = ground;
  const samples: Sample[] = [];
  try {
    log(`filling ${args.rows} rows`);
    await db.sql`
      insert into orders (customer_name, product_name, status)
      select 'c' || (i % 50), 'widget-' || (i % 7), 'pending' from generate_series(1, ${args.rows}) as i`;
    await db.sql`analyze orders`;
    buildGateway();
    const spawn = async (sharing: 'on' | 'off') => {
      const env = ground.gatewayEnv(args.clients * 4, { SNAPSHOT_SHARING: sharing });
      const gw = await spawnMeasuredGateway(`${ns}-${sharing}`, env);
      children.push(gw.child);
      return { url: await socketUrl(gw), pid: gw.child.pid ?? 0 };
    };
    const gateways = { on: await spawn('on'), off: await spawn('off') };
    // Warm-up: compiled code, PostgreSQL's cache, the pools' connections.
    for (const gateway of Object.values(gateways)) {
      await timeToLive(gateway, 1);
      await timeToLive(gateway, Math.min(10, args.clients));
    }
    for (let round = 1; round <= args.rounds; round++) {
      const order: ('on' | 'off')[] = round % 2 === 1 ? ['on', 'off'] : ['off', 'on'];
      for (const sharing of order) {
        const gateway = gateways[sharing];
        let one: Opening;
        let crowd: Opening;
        if (round % 2 === 1) {
          one = await timeToLive(gateway, 1);
          crowd = await timeToLive(gateway, args.clients);
        } else {
          crowd = await timeToLive(gateway, args.clients);
          one = await timeToLive(gateway, 1);
        }
        samples.push({ round, sharing, one, crowd });
        log(
          `round ${round}, sharing ${sharing}: one ${one.ms.toFixed(0)} ms, ${args.clients} at once ${crowd.ms.toFixed(0)} ms (${(crowd.ms / one.ms).toFixed(2)}×)`,
        );
      }
    }
    await report(samples, loadBefore, load1());
  } finally {
    for (const child of children) child.kill('SIGKILL');
    await ground.drop();
  }
}

const median = (values: number[]) => spread(values).median;

function cpuLine(label: string, openings: Opening[]): string {
  const cells = [
    median(openings.map((o) => o.ms / 1000)),
    ...CPU_GROUPS.map((group) => median(openings.map((o) => o.cpu[group] ?? 0))),
  ].map((v) => v.toFixed(2));
  return `| ${label} | ${cells.join(' | ')} | ${median(openings.map((o) => o.bytes / 1e6)).toFixed(1)} |`;
}

/** Why the crowd takes what it takes, from the medians: which process's CPU grew with the clients. */
function why(samples: Sample[]): string {
  const at = (pick: (s: Sample) => Opening, group: string) =>
    median(samples.map((s) => pick(s).cpu[group] ?? 0));
  const wall = median(samples.map((s) => s.crowd.ms / 1000));
  const grown = CPU_GROUPS.map((group) => ({
    group,
    one: at((s) => s.one, group),
    crowd: at((s) => s.crowd, group),
  })).sort((a, b) => b.crowd - a.crowd);
  const total = grown.reduce((sum, g) => sum + g.crowd, 0);
  const lines = grown.map(
    (g) =>
      `${g.group} ${g.crowd.toFixed(2)} s (${g.one.toFixed(2)} s for one client, ${(g.crowd / Math.max(g.one, 0.01)).toFixed(1)}×)`,
  );
  const mb = (pick: (s: Sample) => Opening) => median(samples.map((s) => pick(s).bytes / 1e6)).toFixed(1);
  const gatewayCrowd = at((s) => s.crowd, 'gateway');
  const oneWall = median(samples.map((s) => s.one.ms / 1000));
  const floor = `The gateway is one thread: its ${gatewayCrowd.toFixed(2)} s alone is ${(gatewayCrowd / oneWall).toFixed(1)}× one client's ${oneWall.toFixed(2)} s of wall time.`;
  return `With ${args.clients} clients the processes spent ${total.toFixed(2)} s of CPU in ${wall.toFixed(2)} s of wall time on ${cpus().length} cores: ${lines.join('; ')}. With shared pages PostgreSQL reads each page once for the crowd (its CPU is in the list above), but every client still receives the whole table (${mb((s) => s.crowd)} MB in all, against ${mb((s) => s.one)} MB for one): the gateway writes it ${args.clients} times and the clients read it ${args.clients} times, on the same cores. Within ${TARGET_RATIO}× of one client, those ${args.clients}-fold writes and reads would have to cost less than one client's whole opening. ${floor}`;
}

async function report(samples: Sample[], loadBefore: number, loadAfter: number) {
  const of = (sharing: 'on' | 'off') => samples.filter((s) => s.sharing === sharing);
  const line = (sharing: 'on' | 'off') => {
    const s = of(sharing);
    return `| ${sharing} | ${formatSpread(spread(s.map((x) => x.one.ms)))} | ${formatSpread(spread(s.map((x) => x.crowd.ms)))} | ${formatSpread(spread(s.map((x) => x.crowd.ms / x.one.ms)), 2)} |`;
  };
  const ratio = spread(of('on').map((x) => x.crowd.ms / x.one.ms)).median;
  const versusOff =
    spread(of('on').map((x) => x.crowd.ms)).median / spread(of('off').map((x) => x.crowd.ms)).median;
  const met = ratio <= TARGET_RATIO ? '✅ met' : '❌ missed';
  const md = `# Many subscribers, one snapshot

${generatedBy('bench:crowd')}.
Machine: ${machine()}.
1-minute load average ${loadBefore.toFixed(1)} before, ${loadAfter.toFixed(1)} after, on ${cpus().length} cores (shared with other work).

A ${args.rows}-row table; staff clients subscribing to everything, each on a socket of its own, from
opening the socket to \`live\` (every client's snapshot rows are counted: each got the whole
table). Two gateways, one with snapshot pages shared (the default) and one with
\`SNAPSHOT_SHARING=off\`, on the same database, measured in the same ${args.rounds} rounds (their order,
and whether one client or ${args.clients} go first, alternate round by round). Median (min–max) over the rounds, ms;
the ratio is per round.

| sharing | one client | ${args.clients} clients at once | ratio |
|---|---|---|---|
${line('on')}
${line('off')}

**${args.clients} clients at once / one client, sharing on** (median of the rounds' ratios): **${ratio.toFixed(2)}×**,
target ≤ ${TARGET_RATIO}× ${met}. ${args.clients} clients with sharing on take ${versusOff.toFixed(2)}× the time they take without.

## Where the time goes, sharing on

CPU seconds spent by each process while the clients opened (from \`/proc/<pid>/stat\`, 10 ms
ticks; "clients" is this benchmark's process, which holds every client socket and counts the
rows without parsing them), and the bytes of frames the clients received; medians of the rounds.

| | wall, s | gateway | clients | PostgreSQL | rest of the machine | received, MB |
|---|---|---|---|---|---|---|
${cpuLine(
  'one client',
  of('on').map((x) => x.one),
)}
${cpuLine(
  `${args.clients} clients`,
  of('on').map((x) => x.crowd),
)}

${why(of('on'))}

## Every round

| round | sharing | one client, ms | ${args.clients} at once, ms | ratio |
|---|---|---|---|---|
${samples.map((s) => `| ${s.round} | ${s.sharing} | ${s.one.ms.toFixed(0)} | ${s.crowd.ms.toFixed(0)} | ${(s.crowd.ms / s.one.ms).toFixed(2)} |`).join('\n')}
`;
  log(`wrote ${await writeResult(`${args.out}.md`, md)}`);
  await writeResult(
    `${args.out}.json`,
    `${JSON.stringify({ samples, ratio, versusOff, loadBefore, loadAfter, config: args }, null, 2)}\n`,
  );
}

runBench(main, log, children);
