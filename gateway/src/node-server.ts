import type { AddressInfo } from 'node:net';
import { type HttpBindings, serve } from '@hono/node-server';
import { createNodeWebSocket } from '@hono/node-ws';
import {
  unregisterGateway as deregister,
  heartbeatGateway as heartbeat,
  keyGroups,
  readPartitionCount,
  type ShardedKeys,
} from '@orders/contract/redis';
import { Hono } from 'hono';
import type { Logger } from 'pino';
import type { Sql } from 'postgres';
import type { WebSocket } from 'ws';
import { type Authorize, createGateway, type GatewayDeps } from './app.ts';
import './error-event-polyfill.ts';
import { backoffDelay, closeCodes, limits, sleep } from '@orders/contract';
import { Hub } from './hub/hub.ts';
import { createSendStats } from './hub/send-stats.ts';
import { startReaper } from './liveness/reaper.ts';
import { createMetrics } from './metrics.ts';
import { nodeSocketSink } from './node-socket-sink.ts';
import { keepUpgradeRefusals } from './node-upgrade-refusal.ts';
import { type MetricsAccess, mountMetrics } from './ops/metrics-route.ts';
import { createPgSnapshotSource } from './snapshot/pg-snapshot-source.ts';
import { createShardedHistoryReader } from './stream/history.ts';
import { runReadLoop } from './stream/read-loop.ts';
import { connectBlocking, type GatewayRedis } from './stream/redis-client.ts';
import { breakAction, type StreamBreak } from './stream/stream-break.ts';

export interface NodeGatewayOptions {
  gatewayId: string;
  /**
   * The namespace's keys, or its shard groups' keys in group order: the gateway registers in
   * every group's registry and reads every group's stream (each with a blocking connection).
   */
  keys: ShardedKeys;
  redis: GatewayRedis;
  /** Read-only PostgreSQL pool for snapshots. */
  sql: Sql;
  logger: Logger;
  /** 0 picks a free port. */
  port: number;
  /** @default '127.0.0.1' */
  host?: string;
  /** @default 1000 */
  heartbeatIntervalMs?: number;
  /**
   * The worker's gateway TTL: heartbeats this far apart may have made the worker skip this
   * gateway. Half of it already counts as a lapse (a needless resync costs clients nothing).
   * @default 10000
   */
  gatewayTtlMs?: number;
  clientHeartbeatMs?: number;
  authorize?: Authorize;
  /** Overrides for the app (chunk sizes, limits). */
  tuning?: Pick<
    GatewayDeps<WebSocket>,
    | 'snapshotChunk'
    | 'replayPage'
    | 'maxBufferedEvents'
    | 'connection'
    | 'session'
    | 'maxConnections'
    | 'routes'
    | 'caps'
    | 'trustedProxies'
    | 'metricsAccess'
    | 'snapshotScheduler'
  >;
  /**
   * Serves `/metrics` on its own listener (and then, unless `tuning.metricsAccess` says
   * otherwise, not on the main port), so it can stay on a private interface.
   */
  metricsListener?: { port: number; host?: string; access: MetricsAccess };
  /** Largest WebSocket message accepted; a bigger one closes the socket with 1009. @default limits.maxPayloadBytes */
  maxPayloadBytes?: number;
  /** Protocol ping interval for dead-socket reaping. @default 15000 */
  reapIntervalMs?: number;
  /** Entries per read of the gateway's stream (XREADGROUP `COUNT`). @default 500 */
  streamReadCount?: number;
  /** How long one read of the stream blocks waiting for entries (`BLOCK`). @default 2000 */
  streamReadBlockMs?: number;
}

export interface RunningGateway {
  gatewayId: string;
  port: number;
  /** ws://host:port/ws */
  url: string;
  /** Port of the separate metrics listener, when there is one. */
  metricsPort?: number;
  hub: Hub;
  /** Stop accepting, close sockets with "going away, reconnect", deregister. Idempotent. */
  shutdown(): Promise<void>;
}

/** Wires one gateway into Node: HTTP server, WebSocket upgrade, stream reader and heartbeats. */
export async function startNodeGateway(options: NodeGatewayOptions): Promise<RunningGateway> {
  const { gatewayId, redis, logger } = options;
  const groups = keyGroups(options.keys);
  const streamKeys = groups.map((keys) => keys.gatewayStream(gatewayId));
  const controller = new AbortController();
  const { signal } = controller;
  const hub = new Hub();
  const stats = createSendStats();
  const metrics = createMetrics(hub, stats);
  let ready = false;
  let draining = false;

  // Per group: the last heartbeat's Redis time, and breaks the heartbeat notices (the group's
  // read loop handles them before its next dispatch).
  const lastBeat: number[] = [];
  for (const keys of groups) lastBeat.push((await heartbeat(redis, keys, gatewayId)).at);
  const history = createShardedHistoryReader(redis, groups);
  for (let group = 0; group < groups.length; group++) hub.epochs[group] = await history.epoch(group);
  // The worker writes the same count into every group; until it has, fences stay on cursors.
  const firstGroup = groups[0] as (typeof groups)[number];
  hub.index.progress.partitions = await readPartitionCount(redis, firstGroup);
  const lapseMs = (options.gatewayTtlMs ?? 10_000) / 2;
  const flagged: (StreamBreak | undefined)[] = groups.map(() => undefined);
  const flag = (group: number, gap: StreamBreak): void => {
    if (flagged[group]?.kind !== 'lapse') flagged[group] = gap;
  };
  // A blocking read holds its connection: one per group.
  const blocking: GatewayRedis[] = [];
  for (const _ of groups) blocking.push(await connectBlocking(redis, logger));

  const root = new Hono();
  const { injectWebSocket, upgradeWebSocket, wss } = createNodeWebSocket({ app: root });
  // node-ws takes no server options, but ws reads maxPayload from here at every upgrade:
  // without it one message may be 100 MiB, all buffered before the app sees a byte.
  wss.options.maxPayload = options.maxPayloadBytes ?? limits.maxPayloadBytes;
  const stopReaper = startReaper(wss.clients, {
    logger,
    ...(options.reapIntervalMs === undefined ? {} : { intervalMs: options.reapIntervalMs }),
  });
  const app = createGateway<WebSocket>({
    gatewayId,
    hub,
    stats,
    history,
    snapshots: createPgSnapshotSource(options.sql),
    metrics,
    logger,
    upgradeWebSocket,
    toSink: nodeSocketSink,
    isReady: () => ready && redis.isReady,
    isDraining: () => draining,
    // node-ws hands the upgrade's IncomingMessage in as `env`, like node-server does for plain requests.
    remoteAddress: (c) => (c.env as Partial<HttpBindings> | undefined)?.incoming?.socket.remoteAddress,
    ...(options.metricsListener === undefined ? {} : { metricsAccess: { mode: 'off' } as const }),
    ...(options.authorize === undefined ? {} : { authorize: options.authorize }),
    ...(options.clientHeartbeatMs === undefined ? {} : { heartbeatMs: options.clientHeartbeatMs }),
    ...options.tuning,
  });
  root.route('/', app);
  keepUpgradeRefusals(root);

  let caughtUp = 0;
  const readLoops = groups.map((keys, group) =>
    runReadLoop({
      ...(options.streamReadCount === undefined ? {} : { count: options.streamReadCount }),
      ...(options.streamReadBlockMs === undefined ? {} : { blockMs: options.streamReadBlockMs }),
      redis,
      blocking: blocking[group] as GatewayRedis,
      streamKey: streamKeys[group] as string,
      gatewayId,
      dispatch: (entries) => hub.dispatch(entries, group),
      ensureStream: async () => {
        lastBeat[group] = (await heartbeat(redis, keys, gatewayId)).at;
      },
      onBreak: async (gap, lastRead) => {
        // Every subscription has a position in every group, so a break of one group's
        // stream concerns all of them; the other groups' positions stay as they are.
        if (breakAction(gap, lastRead) === 'reset') hub.resetAll('stream_gap');
        else hub.resyncAll();
        // An epoch only changes with lost data, and lost data breaks the stream: look now.
        try {
          hub.epochs[group] = await history.epoch(group);
        } catch (error) {
          logger.warn({ err: error, group }, 'epoch check failed; the next heartbeat checks again');
        }
      },
      takeBreak: () => {
        const gap = flagged[group];
        flagged[group] = undefined;
        return gap;
      },
      onCaughtUp: () => {
        if (++caughtUp === groups.length) ready = true;
      },
      logger: groups.length === 1 ? logger : logger.child({ group }),
      metrics,
      signal,
    }),
  );

  const heartbeats = (async () => {
    let failures = 0;
    while (!signal.aborted) {
      await sleep(options.heartbeatIntervalMs ?? 1000, signal);
      if (signal.aborted) break;
      try {
        for (const [group, keys] of groups.entries()) {
          const beat = await heartbeat(redis, keys, gatewayId);
          // Reaped while silent, or silent long enough to be skipped: the worker wrote
          // entries to history only. Subscriptions are positioned by stream id, so replaying
          // history from there closes the gap.
          if (beat.created) flag(group, { kind: 'recreated' });
          else if (beat.at - (lastBeat[group] ?? beat.at) >= lapseMs)
            flag(group, { kind: 'lapse', at: beat.at });
          lastBeat[group] = beat.at;
          if ((await history.epoch(group)) !== hub.epochs[group]) flag(group, { kind: 'epoch' });
        }
        hub.index.progress.partitions = await readPartitionCount(redis, firstGroup);
        failures = 0;
        await updateLag(redis, streamKeys, metrics);
      } catch (error) {
        logger.warn({ err: error }, 'heartbeat failed');
        await sleep(backoffDelay(failures++, 100, 2000), signal);
      }
    }
  })();

  const server = serve({ fetch: root.fetch, port: options.port, hostname: options.host ?? '127.0.0.1' });
  injectWebSocket(server);
  await new Promise<void>((resolve, reject) => {
    if (server.listening) resolve();
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const port = (server.address() as AddressInfo).port;
  logger.info({ port, stream: streamKeys.length === 1 ? streamKeys[0] : streamKeys }, 'gateway listening');
  const metricsServer =
    options.metricsListener === undefined ? undefined : await listenMetrics(metrics, options.metricsListener);
  const metricsPort = metricsServer === undefined ? undefined : (metricsServer.address() as AddressInfo).port;
  if (metricsPort !== undefined) logger.info({ port: metricsPort }, 'metrics listening');

  let stopping: Promise<void> | undefined;
  const shutdown = (): Promise<void> => {
    stopping ??= (async () => {
      draining = true;
      logger.info({ connections: hub.connections.size }, 'gateway shutting down');
      server.close();
      metricsServer?.close();
      for (const conn of [...hub.connections]) conn.close(closeCodes.serviceRestart, 'going away, reconnect');
      controller.abort();
      stopReaper();
      // A blocked XREADGROUP holds its connection; destroying it ends the read at once.
      for (const connection of blocking) connection.destroy();
      await Promise.allSettled([...readLoops, heartbeats]);
      for (const keys of groups) {
        await deregister(redis, keys, gatewayId).catch((error: unknown) => {
          logger.warn({ err: error }, 'deregister failed; the worker will reap this gateway after its TTL');
        });
      }
      await waitForSockets(wss.clients, 2000);
      for (const client of wss.clients) client.terminate();
      logger.info('gateway stopped');
    })();
    return stopping;
  };

  return {
    gatewayId,
    port,
    url: `ws://127.0.0.1:${port}/ws`,
    hub,
    shutdown,
    ...(metricsPort === undefined ? {} : { metricsPort }),
  };
}

async function listenMetrics(
  metrics: ReturnType<typeof createMetrics>,
  listener: NonNullable<NodeGatewayOptions['metricsListener']>,
) {
  const app = new Hono();
  mountMetrics(app, metrics, listener.access);
  const server = serve({ fetch: app.fetch, port: listener.port, hostname: listener.host ?? '127.0.0.1' });
  await new Promise<void>((resolve, reject) => {
    if (server.listening) resolve();
    server.once('listening', resolve);
    server.once('error', reject);
  });
  return server;
}

/** Lag and pending entries of this gateway's streams (summed over shard groups). */
async function updateLag(
  redis: GatewayRedis,
  streamKeys: readonly string[],
  metrics: ReturnType<typeof createMetrics>,
) {
  let lag = 0;
  let pending = 0;
  let seen = false;
  for (const streamKey of streamKeys) {
    const groups = (await redis.xInfoGroups(streamKey)) as unknown as Record<string, unknown>[];
    const group = groups[0];
    if (group === undefined) continue;
    seen = true;
    lag += Number(group.lag);
    pending += Number(group.pending);
  }
  if (!seen) return;
  if (Number.isFinite(lag)) metrics.streamLag.set(lag);
  if (Number.isFinite(pending)) metrics.streamPending.set(pending);
}

async function waitForSockets(clients: Set<WebSocket>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (clients.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
}
