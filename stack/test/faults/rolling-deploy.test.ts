/**
 * A rolling deploy of the worker while history replays a long backlog: changes pile up in
 * Kafka with no worker running (a new consumer group, or a long outage), clients subscribe
 * (their snapshots already show every one of those changes), then a worker starts
 * forwarding the backlog, a second joins the group mid-burst and the first is killed 4 s
 * later. The gateway streams are capped far below the backlog, so they are trimmed faster
 * than the gateways read them and subscriptions resync from history again and again, while
 * history holds records older than every snapshot. No client may get a version it already
 * passed, nothing twice, and every view must end equal to the database.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor } from '@orders/test-harness';
import { Kafka, logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { PHASE_WRITES, untilSubscribed } from './burst.ts';
import { expectDeliveredIn } from './checks.ts';
import { useEnvironment } from './environment.ts';
import { METRICS_TOKEN } from './metrics-token.ts';
import { KAFKA_BROKERS } from './private-stack.ts';
import { startTraffic } from './traffic.ts';

const BACKLOG_ROWS = 4_000;
const BACKLOG_ROUNDS = 5;
const env = useEnvironment({ workerStopped: true, worker: { GATEWAY_MAXLEN: '300' } });

/** Records in the pipeline's topic, over all partitions. */
async function topicRecords(): Promise<number> {
  const admin = new Kafka({
    clientId: 'fault-suite',
    brokers: [KAFKA_BROKERS],
    logLevel: logLevel.NOTHING,
  }).admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(env().pipeline.topic);
    return offsets.reduce((sum, p) => sum + Number(p.high), 0);
  } finally {
    await admin.disconnect();
  }
}

describe('a worker rolling deploy while history replays a backlog', () => {
  it('no client gets a passed version or a change twice, and every view converges', async () => {
    const { sql } = env().pipeline;
    // The backlog: committed in PostgreSQL and captured into Kafka while no worker runs.
    await sql`
      insert into orders (customer_name, product_name, status)
      select (array['Alice','Bob','Carol','Dave'])[1 + i % 4], 'backlog', 'pending'
      from generate_series(1, ${BACKLOG_ROWS}) as i`;
    const statuses = ['paid', 'shipped', 'delivered', 'paid', 'cancelled'] as const;
    for (let round = 0; round < BACKLOG_ROUNDS; round++)
      await sql`update orders set status = ${statuses[round] ?? 'paid'}::order_status where product_name = 'backlog'`;
    const backlog = BACKLOG_ROWS * (1 + BACKLOG_ROUNDS);
    await waitFor(async () => ((await topicRecords()) >= backlog ? true : undefined), {
      description: `the ${backlog}-change backlog to reach Kafka`,
      timeoutMs: 120_000,
      intervalMs: 500,
    });

    const clients = await env().connectClients();
    await untilSubscribed(clients);
    const traffic = startTraffic(sql, { concurrency: 3, pauseMs: 5 });
    try {
      await env().worker.start();
      await traffic.after(PHASE_WRITES / 4);
      const successor = await env().secondWorker();
      await successor.start();
      await sleep(4_000);
      await env().worker.kill('SIGKILL');
      await traffic.after(PHASE_WRITES);
    } finally {
      await traffic.stop();
    }
    // The fault took effect: the gateways' streams broke under them.
    let breaks = 0;
    for (const url of env().gatewayHttpUrls()) {
      const text = await fetch(`${url}/metrics`, {
        headers: { authorization: `Bearer ${METRICS_TOKEN}` },
      }).then((r) => r.text());
      for (const match of text.matchAll(/^gateway_stream_breaks_total(?:\{[^}]*\})? (\S+)$/gm))
        breaks += Number(match[1]);
    }
    expect(breaks).toBeGreaterThan(0);
    await expectDeliveredIn(env(), clients, {
      resets: () => 'none',
    });
  });
});
