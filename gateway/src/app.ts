import { FEATURES, PROTOCOL_VERSION } from '@orders/contract';
import { type Context, Hono } from 'hono';
import type { UpgradeWebSocket, WSContext } from 'hono/ws';
import type { Logger } from 'pino';
import type { Authorize } from './auth/authorize.ts';
import type { Grant } from './auth/grant.ts';
import { STAFF } from './auth/principal.ts';
import { Connection, type ConnectionOptions } from './hub/connection.ts';
import type { Hub } from './hub/hub.ts';
import { createSocketSession, type SessionOptions } from './hub/socket-session.ts';
import { wsContextSink } from './hub/socket-sink.ts';
import { clientAddress } from './limits/client-address.ts';
import { type CapLease, ConnectionCaps } from './limits/connection-caps.ts';
import { ConnectionSlots } from './limits/connection-slots.ts';
import type { Metrics } from './metrics.ts';
import { type MetricsAccess, mountMetrics } from './ops/metrics-route.ts';
import type { SocketSink } from './protocol/socket-sink.ts';
import type { SendStats } from './send-stats.ts';
import { SnapshotScheduler } from './snapshot/snapshot-scheduler.ts';
import type { SnapshotSource } from './snapshot/snapshot-source.ts';
import type { HistoryReader } from './stream/history.ts';

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
}

/** Seconds a client refused by a connection cap should wait: slots free only as sockets close. */
const CAP_RETRY_AFTER_S = 10;

interface UpgradeVariables {
  grant: Grant;
  lease: CapLease;
  /** The upgrade's share of MAX_CONNECTIONS until its socket is open. */
  slot: CapLease;
}

/**
 * The gateway's HTTP and WebSocket surface as a plain Hono app. Everything runtime-specific
 * (sockets, Redis and PostgreSQL clients) comes in through `deps`.
 */
export function createGateway<T>(deps: GatewayDeps<T>): Hono {
  const app = new Hono();
  const toSink = deps.toSink ?? wsContextSink;
  const heartbeatMs = deps.heartbeatMs ?? 15_000;
  const sessionOptions: SessionOptions = {
    history: deps.history,
    snapshots: deps.snapshots,
    metrics: deps.metrics,
    logger: deps.logger,
    snapshotChunk: deps.snapshotChunk ?? 500,
    replayPage: deps.replayPage ?? 1000,
    maxBufferedEvents: deps.maxBufferedEvents ?? 10_000,
    scheduler: deps.snapshotScheduler ?? new SnapshotScheduler(),
    ...deps.session,
  };
  let connections = 0;
  const slots = new ConnectionSlots(deps.maxConnections ?? 10_000, () => deps.hub.connections.size);
  const opened = new WeakSet<CapLease>();
  const caps = deps.caps ?? new ConnectionCaps();
  const trustedProxies = deps.trustedProxies ?? new Set<string>();
  const capRefusal = (c: Context, which: string) =>
    c.json({ error: `too many connections for this ${which}` }, 429, {
      'retry-after': String(CAP_RETRY_AFTER_S),
    });

  // Probes learn readiness from the status code; the body says nothing an outsider could use.
  app.get('/healthz', (c) => c.text('ok'));

  app.get('/readyz', (c) => {
    const ready = deps.isReady() && !deps.isDraining();
    return ready ? c.text('ready') : c.text('not ready', 503);
  });

  mountMetrics(app, deps.metrics, deps.metricsAccess ?? { mode: 'open' });

  deps.routes?.(app);

  // The upgrade middleware hands the socket's grant and cap lease to the upgrade callback.
  const upgrade = new Hono<{ Variables: UpgradeVariables }>();
  upgrade.get(
    '/ws',
    async (c, next) => {
      // Another gateway can take the client at once; the header tells it not to wait long.
      if (deps.isDraining()) return c.json({ error: 'draining' }, 503, { 'retry-after': '1' });
      // A runtime that cannot name the peer gets no address cap rather than one shared by everyone.
      const address =
        deps.remoteAddress === undefined
          ? undefined
          : clientAddress(deps.remoteAddress(c), c.req.header('x-forwarded-for'), trustedProxies);
      if (address !== undefined && caps.addressFull(address)) return capRefusal(c, 'address');
      // Taken before authentication: upgrades waiting on it count towards MAX_CONNECTIONS.
      const slot = slots.take();
      if (slot === undefined)
        return c.json({ error: 'gateway full, try another' }, 503, { 'retry-after': '1' });
      let verdict: Awaited<ReturnType<Authorize['upgrade']>>;
      try {
        verdict = await deps.authorize?.upgrade(c.req.raw);
      } catch (error) {
        slot.release();
        throw error;
      }
      if (verdict instanceof Response) {
        slot.release();
        return verdict;
      }
      // Without an authorize hook nobody is identified, so only the address cap applies.
      const lease = caps.acquire(address, verdict?.principal);
      if (typeof lease === 'string') {
        slot.release();
        return capRefusal(c, lease);
      }
      c.set('grant', verdict ?? { principal: STAFF });
      c.set('lease', lease);
      c.set('slot', slot);
      // An upgrade that never opens (the client vanished mid-handshake) must not keep its slots.
      const abandoned = setTimeout(() => {
        if (!opened.has(lease)) lease.release();
        slot.release();
      }, 10_000);
      abandoned.unref?.();
      await next();
    },
    deps.upgradeWebSocket((c) => {
      const grant = c.get('grant');
      const lease = c.get('lease');
      const slot = c.get('slot');
      let conn: Connection | undefined;
      let session: ReturnType<typeof createSocketSession> | undefined;
      return {
        onOpen(_event, ws) {
          if (lease !== undefined) opened.add(lease);
          conn = new Connection(
            `${deps.gatewayId}.${++connections}`,
            toSink(ws),
            deps.stats,
            deps.connection,
          );
          session = createSocketSession(conn, sessionOptions, deps.logger, grant, deps.authorize?.token);
          deps.hub.add(conn);
          // Counted by the hub from here on.
          slot?.release();
          conn.send({
            type: 'welcome',
            gateway: deps.gatewayId,
            protocol: PROTOCOL_VERSION,
            heartbeatMs,
            features: FEATURES,
          });
        },
        onMessage(event) {
          session?.onMessage(event.data);
        },
        onClose() {
          session?.close();
          lease?.release();
          if (conn !== undefined) deps.hub.remove(conn);
        },
        onError(event) {
          deps.logger.debug({ conn: conn?.id, event: event.type }, 'socket error');
        },
      };
    }),
  );
  app.route('/', upgrade);

  return app;
}
