import { type Context, Hono } from 'hono';
import type { UpgradeWebSocket, WSContext } from 'hono/ws';
import type { Logger } from 'pino';
import type { Authorize } from './auth/authorize.ts';
import type { ConnectionOptions } from './hub/connection.ts';
import type { Hub } from './hub/hub.ts';
import type { SessionOptions } from './hub/socket-session.ts';
import { wsContextSink } from './hub/socket-sink.ts';
import { TokenExpiries } from './hub/token-expiry.ts';
import { ConnectionCaps } from './limits/connection-caps.ts';
import { ConnectionSlots } from './limits/connection-slots.ts';
import type { Metrics } from './metrics.ts';
import { type MetricsAccess, mountMetrics } from './ops/metrics-route.ts';
import type { SocketSink } from './protocol/socket-sink.ts';
import type { SendStats } from './send-stats.ts';
import { SharedSnapshotPages, type SharedSnapshotPagesOptions } from './snapshot/shared-pages.ts';
import { SnapshotScheduler } from './snapshot/snapshot-scheduler.ts';
import type { SnapshotSource } from './snapshot/snapshot-source.ts';
import { type GatewaySockets, SocketEvents } from './socket-events.ts';
import type { HistoryReader } from './stream/history.ts';
import { type UpgradeEnv, upgradeGuards } from './upgrade-guards.ts';

export interface GatewayDeps<T> {
  gatewayId: string;
  hub: Hub;
  stats: SendStats;
  history: HistoryReader;
  snapshots: SnapshotSource;
  metrics: Metrics;
  logger: Logger;
  upgradeWebSocket: UpgradeWebSocket<T>;
  /** Adapts the runtime's socket; defaults to sending text through the WSContext. */
  toSink?: (ws: WSContext<T>) => SocketSink;
  /** True once the stream backlog is handed over and Redis answers. */
  isReady(): boolean;
  /** True while shutting down: new sockets are refused so load balancers move on. */
  isDraining(): boolean;
  /** Runs before every upgrade; the hook where authentication plugs in. */
  authorize?: Authorize;
  /** Interval clients should ping at, announced in `welcome`. @default 15000 */
  heartbeatMs?: number;
  /** @default 500 */
  snapshotChunk?: number;
  /** @default 1000 */
  replayPage?: number;
  /** @default 10000 */
  maxBufferedEvents?: number;
  connection?: ConnectionOptions;
  session?: Pick<SessionOptions, 'maxSubscriptions' | 'rateLimit'>;
  /**
   * Open sockets, with upgrades still being authenticated or opened, above which upgrades are
   * refused with 503, so one gateway cannot be exhausted. @default 10000
   */
  maxConnections?: number;
  /** Extra routes mounted before `/ws`, e.g. the development token endpoint. */
  routes?: (app: Hono) => void;
  /** Per-address and per-principal socket caps. @default new ConnectionCaps() */
  caps?: ConnectionCaps;
  /** Peers whose `X-Forwarded-For` is believed; see {@link clientAddress}. @default none */
  trustedProxies?: ReadonlySet<string>;
  /** The direct peer's address; runtime-specific, so the entry file supplies it. */
  remoteAddress?: (c: Context) => string | undefined;
  /** Who may read `/metrics` on this app's port. @default { mode: 'open' } */
  metricsAccess?: MetricsAccess;
  /** Snapshot query concurrency, overall and per socket. @default new SnapshotScheduler() */
  snapshotScheduler?: SnapshotScheduler;
  /** How long pages read for one subscriber stay shared with others; see {@link SharedSnapshotPages}. */
  sharedPages?: SharedSnapshotPagesOptions;
}

/**
 * The gateway's HTTP and WebSocket surface as a plain Hono app. Everything runtime-specific
 * (sockets, Redis and PostgreSQL clients) comes in through `deps`.
 */
export function createGateway<T>(deps: GatewayDeps<T>): Hono {
  const app = new Hono();
  const scheduler = deps.snapshotScheduler ?? new SnapshotScheduler();
  const sessionOptions: SessionOptions = {
    history: deps.history,
    pages: new SharedSnapshotPages(deps.snapshots, scheduler, {
      counters: { reads: deps.metrics.snapshotPageReads, shared: deps.metrics.snapshotPagesShared },
      ...deps.sharedPages,
    }),
    metrics: deps.metrics,
    logger: deps.logger,
    snapshotChunk: deps.snapshotChunk ?? 500,
    replayPage: deps.replayPage ?? 1000,
    maxBufferedEvents: deps.maxBufferedEvents ?? 10_000,
    scheduler,
    expiries: new TokenExpiries(),
    ...deps.session,
  };
  const slots = new ConnectionSlots(deps.maxConnections ?? 10_000, () => deps.hub.connections.size);
  const caps = deps.caps ?? new ConnectionCaps();
  const sockets: GatewaySockets<T> = {
    gatewayId: deps.gatewayId,
    hub: deps.hub,
    stats: deps.stats,
    logger: deps.logger,
    toSink: deps.toSink ?? wsContextSink,
    connection: deps.connection,
    session: sessionOptions,
    verify: deps.authorize?.token,
    heartbeatMs: deps.heartbeatMs ?? 15_000,
    opens: 0,
  };

  // Probes learn readiness from the status code; the body says nothing an outsider could use.
  app.get('/healthz', (c) => c.text('ok'));

  app.get('/readyz', (c) => {
    const ready = deps.isReady() && !deps.isDraining();
    return ready ? c.text('ready') : c.text('not ready', 503);
  });

  mountMetrics(app, deps.metrics, deps.metricsAccess ?? { mode: 'open' });

  deps.routes?.(app);

  // The guards hand the socket's grant, cap lease and slot to the upgrade callback.
  const guard = upgradeGuards({
    isDraining: deps.isDraining,
    remoteAddress: deps.remoteAddress,
    trustedProxies: deps.trustedProxies ?? new Set<string>(),
    caps,
    slots,
    authorize: deps.authorize,
  });
  const upgrade = new Hono<UpgradeEnv>();
  upgrade.get(
    '/ws',
    guard.refuseWhileDraining,
    guard.addressCap,
    guard.gatewaySlot,
    guard.authenticate,
    guard.principalCap,
    guard.releaseIfAbandoned,
    deps.upgradeWebSocket(
      (c) =>
        new SocketEvents(sockets, {
          grant: c.get('grant'),
          lease: c.get('lease'),
          slot: c.get('slot'),
          abandoned: c.get('abandoned'),
        }),
    ),
  );
  app.route('/', upgrade);

  return app;
}
