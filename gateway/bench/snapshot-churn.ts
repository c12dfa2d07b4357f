/**
 * Snapshot fairness under churn: another client's snapshot latency while one socket runs 200
 * subscribe/unsubscribe loops of expensive snapshots, against the same client's latency with
 * no churn, in one run. Writes bench/results/snapshot-churn.md.
 *
 * A gateway process over a 100,000-row table (Redis and PostgreSQL of the native stack). The
 * churner asks for snapshots that walk the whole table to return nothing (no row is `paid`)
 * and takes each back at once, 25 loops a burst, paced under the gateway's message rate
 * limit; after each burst is acknowledged the victim subscribes to five rows by id and its
 * time to `live` is taken. Idle and churn phases alternate, so drifting machine load lands on
 * both alike. Target: churn median ≤ 2× idle median.
 *
 *   npm run bench:snapshot-churn [-- --rounds 3 --samples 9 --rows 100000]
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createTestDatabase, devToken, newNamespace, spawnGateway } from '@orders/testing';
import { createClient } from 'redis';
import WebSocket from 'ws';
import { percentile } from './percentile.ts';

const TARGET_RATIO = 2;
const BATCH = 25;
/** The gateway's default sustained message rate per socket is 50/s; a burst is 2 × BATCH messages. */
const BURST_EVERY_MS = 1_100;

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    samples: { type: 'string', default: '8' },
    rows: { type: 'string', default: '100000' },
  },
});
const ROUNDS = Number(args.rounds);
const SAMPLES = Number(args.samples);
const ROWS = Number(args.rows);
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const log = (message: string) => process.stderr.write(`[churn] ${message}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A socket that resolves waits on frames by a predicate over their text. */
async function open(url: string) {
  const ws = new WebSocket(url);
  const waiters: { match: (text: string) => boolean; resolve: () => void }[] = [];
  ws.on('message', (data) => {
    const text = String(data);
    for (const w of [...waiters])
      if (w.match(text)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
  });
  const next = (match: (text: string) => boolean, what: string) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), 60_000);
      waiters.push({
        match,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  const welcomed = next((t) => t.startsWith('{"type":"welcome"'), 'welcome');
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  await welcomed;
  return { ws, next };
}

async function main() {
  const loadBefore = loadavg()[0] ?? 0;
  const ns = `churn${newNamespace()}`;
  const db = await createTestDatabase();
  const redis = createClient({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' });
  await redis.connect();
  let gw: Awaited<ReturnType<typeof spawnGateway>> | undefined;
  try {
    log(`filling ${ROWS} rows`);
    await db.sql`
      insert into orders (customer_name, product_name, status)
      select 'c' || (i % 50), ${'p'.repeat(200)}, 'pending' from generate_series(1, ${ROWS}) as i`;
    await db.sql`analyze orders`;
    gw = await spawnGateway(`${ns}-gw`, { REDIS_NS: ns, DATABASE_READER_URL: db.readerUrl });
    const token = await devToken(gw.url);
    const victim = await open(`${gw.url}?token=${token}`);
    const churner = await open(`${gw.url}?token=${token}`);

    let sub = 0;
    const snapshotLatency = async (): Promise<number> => {
      const id = `v${++sub}`;
      const started = performance.now();
      const live = victim.next((t) => t.startsWith('{"type":"live"') && t.includes(`"sub":"${id}"`), 'live');
      victim.ws.send(JSON.stringify({ type: 'subscribe', sub: id, filter: { ids: [1, 2, 3, 4, 5] } }));
      await live;
      const elapsed = performance.now() - started;
      const gone = victim.next(
        (t) => t.startsWith('{"type":"unsubscribed"') && t.includes(`"sub":"${id}"`),
        'unsub',
      );
      victim.ws.send(JSON.stringify({ type: 'unsubscribe', sub: id }));
      await gone;
      return elapsed;
    };
    let loops = 0;
    const burst = async () => {
      const acks: Promise<void>[] = [];
      for (let i = 0; i < BATCH; i++, loops++) {
        const id = `x${loops}`;
        acks.push(
          churner.next((t) => t.startsWith('{"type":"unsubscribed"') && t.includes(`"sub":"${id}"`), 'ack'),
        );
        churner.ws.send(JSON.stringify({ type: 'subscribe', sub: id, filter: { status: ['paid'] } }));
        churner.ws.send(JSON.stringify({ type: 'unsubscribe', sub: id }));
      }
      await Promise.all(acks);
    };

    // Warm-up: the first subscriptions pay for compilation and connection set-up.
    for (let i = 0; i < 5; i++) await snapshotLatency();
    const idle: number[] = [];
    const churn: number[] = [];
    const roundRatios: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const idleRound: number[] = [];
      for (let i = 0; i < SAMPLES; i++) {
        const started = performance.now();
        idleRound.push(await snapshotLatency());
        await sleep(Math.max(0, BURST_EVERY_MS - (performance.now() - started)));
      }
      const churnRound: number[] = [];
      for (let i = 0; i < SAMPLES; i++) {
        const started = performance.now();
        await burst();
        churnRound.push(await snapshotLatency());
        await sleep(Math.max(0, BURST_EVERY_MS - (performance.now() - started)));
      }
      idle.push(...idleRound);
      churn.push(...churnRound);
      roundRatios.push(percentile(churnRound, 50) / percentile(idleRound, 50));
      log(
        `round ${round + 1}: idle median ${percentile(idleRound, 50).toFixed(1)} ms, churn median ${percentile(churnRound, 50).toFixed(1)} ms (${loops} loops so far)`,
      );
    }
    const ratio = percentile(churn, 50) / percentile(idle, 50);
    const loadAfter = loadavg()[0] ?? 0;
    const md = `# Snapshot latency under subscribe/unsubscribe churn

Generated by \`npm run bench:snapshot-churn${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}\` on ${new Date().toISOString()};
${cpus().length} cores, 1-minute load average ${loadBefore.toFixed(1)} → ${loadAfter.toFixed(1)}.

One gateway process over ${ROWS.toLocaleString('en')} rows. The churning socket ran ${loops} subscribe/unsubscribe
loops (${BATCH} a burst, a burst every ${BURST_EVERY_MS} ms to stay under the per-socket message rate limit),
each subscription a snapshot that walks the whole table to return nothing. After each burst was
acknowledged, another socket subscribed to five rows by id; its time from \`subscribe\` to \`live\` is
the figure. ${ROUNDS} rounds of ${SAMPLES} idle samples then ${SAMPLES} churn samples.

| | median (ms) | p90 (ms) | max (ms) |
|---|---:|---:|---:|
| idle | ${percentile(idle, 50).toFixed(1)} | ${percentile(idle, 90).toFixed(1)} | ${Math.max(...idle).toFixed(1)} |
| under churn | ${percentile(churn, 50).toFixed(1)} | ${percentile(churn, 90).toFixed(1)} | ${Math.max(...churn).toFixed(1)} |
| **churn / idle, medians** | **${ratio.toFixed(2)}×** (rounds ${roundRatios.map((r) => r.toFixed(2)).join(', ')}) | | target ≤ ${TARGET_RATIO}× ${ratio <= TARGET_RATIO ? '✅ met' : '❌ missed'} |

Unsubscribing cancels a snapshot's running query and drops its queued ones (see
\`gateway/test/snapshot-load.test.ts\`, which checks that nothing is left behind), so the victim
only ever waits behind what a burst still has in flight.
`;
    await mkdir(`${repoRoot}bench/results`, { recursive: true });
    await writeFile(`${repoRoot}bench/results/snapshot-churn.md`, md);
    process.stdout.write(md);
    victim.ws.terminate();
    churner.ws.terminate();
  } finally {
    await gw?.kill('SIGTERM');
    for await (const keys of redis.scanIterator({ MATCH: `{${ns}}*`, COUNT: 1000 }))
      if (keys.length > 0) await redis.del(keys);
    await redis.close();
    await db.drop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    log(String(error instanceof Error ? (error.stack ?? error.message) : error));
    process.exit(1);
  },
);
