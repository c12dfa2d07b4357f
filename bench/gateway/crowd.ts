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
function openLive(url: string): Promise<{ rows: number; ws: WebSocket }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    let rows = 0;
    const timer = setTimeout(() => reject(new Error('no live within 300 s')), 300_000);
    ws.on('message', (data: Buffer) => {
      if (startsWith(data, SNAPSHOT)) rows += rowsIn(data);
      else if (startsWith(data, LIVE)) {
        clearTimeout(timer);
        resolve({ rows, ws });
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

/** Milliseconds until `count` clients opening at once are all live. */
async function timeToLive(url: string, count: number): Promise<number> {
  const started = performance.now();
  const clients = await Promise.all(Array.from({ length: count }, () => openLive(url)));
  const ms = performance.now() - started;
  for (const { rows, ws } of clients) {
    ws.terminate();
    if (rows !== args.rows)
      throw new Error(`a client got ${rows} snapshot rows, the table holds ${args.rows}`);
  }
  return ms;
}

interface Sample {
  round: number;
  sharing: 'on' | 'off';
  oneMs: number;
  crowdMs: number;
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
    const spawn = async (sharing: 'on' | 'off'): Promise<string> => {
      const env = ground.gatewayEnv(args.clients * 4, { SNAPSHOT_SHARING: sharing });
      const gw = await spawnMeasuredGateway(`${ns}-${sharing}`, env);
      children.push(gw.child);
      return socketUrl(gw);
    };
    const gateways = { on: await spawn('on'), off: await spawn('off') };
    // Warm-up: compiled code, PostgreSQL's cache, the pools' connections.
    for (const url of Object.values(gateways)) {
      await timeToLive(url, 1);
      await timeToLive(url, Math.min(10, args.clients));
    }
    for (let round = 1; round <= args.rounds; round++) {
      const order: ('on' | 'off')[] = round % 2 === 1 ? ['on', 'off'] : ['off', 'on'];
      for (const sharing of order) {
        const url = gateways[sharing];
        let oneMs: number;
        let crowdMs: number;
        if (round % 2 === 1) {
          oneMs = await timeToLive(url, 1);
          crowdMs = await timeToLive(url, args.clients);
        } else {
          crowdMs = await timeToLive(url, args.clients);
          oneMs = await timeToLive(url, 1);
        }
        samples.push({ round, sharing, oneMs, crowdMs });
        log(
          `round ${round}, sharing ${sharing}: one ${oneMs.toFixed(0)} ms, ${args.clients} at once ${crowdMs.toFixed(0)} ms (${(crowdMs / oneMs).toFixed(2)}×)`,
        );
      }
    }
    await report(samples, loadBefore, load1());
  } finally {
    for (const child of children) child.kill('SIGKILL');
    await ground.drop();
  }
}

async function report(samples: Sample[], loadBefore: number, loadAfter: number) {
  const of = (sharing: 'on' | 'off') => samples.filter((s) => s.sharing === sharing);
  const line = (sharing: 'on' | 'off') => {
    const s = of(sharing);
    return `| ${sharing} | ${formatSpread(spread(s.map((x) => x.oneMs)))} | ${formatSpread(spread(s.map((x) => x.crowdMs)))} | ${formatSpread(spread(s.map((x) => x.crowdMs / x.oneMs)), 2)} |`;
  };
  const ratio = spread(of('on').map((x) => x.crowdMs / x.oneMs)).median;
  const versusOff =
    spread(of('on').map((x) => x.crowdMs)).median / spread(of('off').map((x) => x.crowdMs)).median;
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

## Every round

| round | sharing | one client, ms | ${args.clients} at once, ms | ratio |
|---|---|---|---|---|
${samples.map((s) => `| ${s.round} | ${s.sharing} | ${s.oneMs.toFixed(0)} | ${s.crowdMs.toFixed(0)} | ${(s.crowdMs / s.oneMs).toFixed(2)} |`).join('\n')}
`;
  log(`wrote ${await writeResult(`${args.out}.md`, md)}`);
  await writeResult(
    `${args.out}.json`,
    `${JSON.stringify({ samples, ratio, versusOff, loadBefore, loadAfter, config: args }, null, 2)}\n`,
  );
}

runBench(main, log, children);
