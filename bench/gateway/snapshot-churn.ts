import { cpus } from 'node:os';
import {
  benchLog,
  benchOptions,
  createTestDatabase,
  devToken,
  dropRedisNamespace,
  generatedBy,
  load1,
  newNamespace,
  runBench,
  sleep,
  spawnGateway,
  writeResult,
} from '@orders/test-harness';
import { createClient } from 'redis';
import WebSocket from 'ws';
import { percentile } from './percentile.ts';

const TARGET_RATIO = 2;
const BATCH = 25;
/** The gateway's default sustained message rate per socket is 50/s; a burst is 2 × BATCH messages. */
const BURST_EVERY_MS = 1_100;

const args = benchOptions({ rounds: 3, samples: 8, rows: 100000 });
const log = benchLog('churn');

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
  const loadBefore = load1();
  const ns = `churn${newNamespace()}`;
  const db = await createTestDatabase();
  const redis = createClient({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' });
  await redis.connect();
  let gw: Awaited<ReturnType<typeof spawnGateway>> | undefined;
  try {
    log(`filling ${args.rows} rows`);
    await db.sql`
      insert into orders (customer_name, product_name, status)
      select 'c' || (i % 50), ${'p'.repeat(200)}, 'pending' from generate_series(1, ${args.rows}) as i`;
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
    for (let round = 0; round < args.rounds; round++) {
      const idleRound: number[] = [];
      for (let i = 0; i < args.samples; i++) {
        const started = performance.now();
        idleRound.push(await snapshotLatency());
        await sleep(Math.max(0, BURST_EVERY_MS - (performance.now() - started)));
      }
      const churnRound: number[] = [];
      for (let i = 0; i < args.samples; i++) {
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
    const loadAfter = load1();
    const md = `# Snapshot latency under subscribe/unsubscribe churn

${generatedBy('bench:snapshot-churn')};
${cpus().length} cores, 1-minute load average ${loadBefore.toFixed(1)} → ${loadAfter.toFixed(1)}.

One gateway process over ${args.rows.toLocaleString('en')} rows. The churning socket ran ${loops} subscribe/unsubscribe
loops (${BATCH} a burst, a burst every ${BURST_EVERY_MS} ms to stay under the per-socket message rate limit),
each subscription a snapshot that walks the whole table to return nothing. After each burst was
acknowledged, another socket subscribed to five rows by id; its time from \`subscribe\` to \`live\` is
the figure. ${args.rounds} rounds of ${args.samples} idle samples then ${args.samples} churn samples.

| | median (ms) | p90 (ms) | max (ms) |
|---|---:|---:|---:|
| idle | ${percentile(idle, 50).toFixed(1)} | ${percentile(idle, 90).toFixed(1)} | ${Math.max(...idle).toFixed(1)} |
| under churn | ${percentile(churn, 50).toFixed(1)} | ${percentile(churn, 90).toFixed(1)} | ${Math.max(...churn).toFixed(1)} |
| **churn / idle, medians** | **${ratio.toFixed(2)}×** (rounds ${roundRatios.map((r) => r.toFixed(2)).join(', ')}) | | target ≤ ${TARGET_RATIO}× ${ratio <= TARGET_RATIO ? '✅ met' : '❌ missed'} |

Unsubscribing cancels a snapshot's running query and drops its queued ones (see
\`gateway/test/snapshot-load.test.ts\`, which checks that nothing is left behind), so the victim
only ever waits behind what a burst still has in flight.
`;
    await writeResult('snapshot-churn.md', md);
    process.stdout.write(md);
    victim.ws.terminate();
    churner.ws.terminate();
  } finally {
    await gw?.kill('SIGTERM');
    await dropRedisNamespace(redis, ns);
    await redis.close();
    await db.drop();
  }
}

runBench(main, log);
