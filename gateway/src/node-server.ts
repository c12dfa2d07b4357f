import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type HttpBindings, serve } from '@hono/node-server';
import { createNodeWebSocket } from '@hono/node-ws';
import { unregisterGateway as deregister, keyGroups, type ShardedKeys } from '@orders/contract/redis';
import { Hono } from 'hono';
import type { Logger } from 'pino';
import type { Sql } from 'postgres';
import type { WebSocket } from 'ws';
import { createGateway, type GatewayDeps } from './app.ts';
import type { Authorize } from './auth/authorize.ts';
import './error-event-polyfill.ts';
import { closeCodes, limits } from '@orders/contract';
import { Hub } from './hub/hub.ts';
import { leanUpgradeWebSocket } from './lean-node-ws.ts';
import { startReaper } from './liveness/reaper.ts';
import { createMetrics } from './metrics.ts';
import { nodeSocketSink } from './node-socket-sink.ts';
import { keepUpgradeRefusals } from './node-upgrade-refusal.ts';
import { type MetricsAccess, mountMetrics } from './ops/metrics-route.ts';
import { createSendStats } from './send-stats.ts';
import { createPgSnapshotSource } from './snapshot/pg-snapshot-source.ts';
import { createShardedHistoryReader } from './stream/history.ts';
import type { GatewayRedis } from './stream/redis-client.ts';
import { startStreamSupervisor } from './stream/supervisor.ts';

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
    | 'sharedPages'
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

/** Wires one gateway into Node: HTTP server, WebSocket upgrade, and the supervised streams that feed it. */
export async function startNodeGateway(options: NodeGatewayOptions): Promise<RunningGateway> {
  const { gatewayId, redis, logger } = options;
  const groups = keyGroups(options.keys);
  const streamKeys = groups.map((keys) => keys.gatewayStream(gatewayId));
  const controller = new AbortController();
  const { signal } = controller;
  const hub = new Hub();
  const stats = createSendStats();
  const metrics = createMetrics(hub, stats);
  let draining = false;

  const history = createShardedHistoryReader(redis, groups);
  const streams = await startStreamSupervisor({
    redis,
    groups,
    gatewayId,
    history,
    target: hub,
    metrics,
    logger,
    signal,
    heartbeatIntervalMs: options.heartbeatIntervalMs,
    gatewayTtlMs: options.gatewayTtlMs,
    readCount: options.streamReadCount,
    readBlockMs: options.streamReadBlockMs,
  });

  const root = new Hono();
  const nodeWs = createNodeWebSocket({ app: root });
  const { injectWebSocket, wss } = nodeWs;
  const upgradeWebSocket = leanUpgradeWebSocket(nodeWs.upgradeWebSocket);
  // node-ws takes no server options, but ws reads maxPayload from here at every upgrade:
  // without it one message may be 100 MiB, all buffered before the app sees a byte.
  wss.options.maxPayload = options.maxPayloadBytes ?? limits.maxPayloadBytes;
  // The handshake's response and the `welcome` the socket's opening writes leave in one socket
  // write: ws writes the response right after this event, node-ws opens the socket a few
  // microtasks later, and the cork lasts until the event loop's next check phase.
  wss.on('headers', (_headers: string[], request: IncomingMessage) => {
    const { socket } = request;
    socket.cork();
    setImmediate(() => socket.uncork());
  });
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
    isReady: () => streams.caughtUp() && redis.isReady,
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
      await streams.stop();
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

async function waitForSockets(clients: Set<WebSocket>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (clients.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
}
