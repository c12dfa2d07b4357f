/**
 * The page's only contact with the gateway client: it turns the client's events into the
 * few things the page draws (connection, snapshot, change, notice), so a change in the
 * client's API is a change in this file alone.
 */
import {
  type ConnectionState,
  createOrdersClient,
  type OrdersClient,
  type Subscription,
  type SubscriptionFilter,
  type SubscriptionState,
} from '@orders/client';
import type { PageConfig } from './config.ts';
import type { ConnectionView, Recovery } from './connection-view.ts';
import type { OrdersFilter } from './filter-bar.ts';
import type { Order } from './order.ts';
import { resetNotice } from './reset-notice.ts';
import { createTokenSource } from './token.ts';

export interface RowChange {
  op: 'insert' | 'update' | 'delete';
  effect: 'upsert' | 'remove';
  row: Order;
  before: Order | null;
  /** Commit time in PostgreSQL, epoch ms. */
  committedAt: number;
}

export interface LiveOrdersHandlers {
  connection(view: ConnectionView): void;
  /** Replace every row: a first snapshot, a new filter, or a reset. */
  snapshot(rows: Order[]): void;
  /** Only changes the view did not already hold; duplicates never reach the page. */
  change(change: RowChange): void;
  notice(text: string, tone: 'info' | 'warn'): void;
}

export interface LiveOrders {
  setFilter(filter: OrdersFilter): void;
  close(): void;
}

export interface StartOptions {
  config: PageConfig;
  filter: OrdersFilter;
  handlers: LiveOrdersHandlers;
}

/** Reconnect delay ceilings: the first retry comes within half a second, later ones back off to 8 s. */
const MIN_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 8000;

export function startLiveOrders({ config, filter, handlers }: StartOptions): LiveOrders {
  const client: OrdersClient = createOrdersClient({
    urls: config.gatewayUrls,
    token: createTokenSource(config.gatewayUrls, config.tokenUrl),
    minBackoffMs: MIN_BACKOFF_MS,
    maxBackoffMs: MAX_BACKOFF_MS,
    batchChanges: config.batchChanges,
  });
  let sub: Subscription = client.subscribe(toClientFilter(filter));
  let unwatch = sub.on('state', ({ state }) => onState(state));

  const showConnected = () => {
    const gateway = client.gateway;
    if (client.state !== 'connected' || gateway === undefined) return;
    handlers.connection({ state: 'connected', gateway, url: currentUrl, recovery: recoveryOf(sub.state) });
  };

  let currentUrl = config.gatewayUrls[0] ?? '';
  const reconnecting = (phase: 'waiting' | 'connecting', connection: ConnectionState) => {
    const state = sub.state;
    const offline = state.phase === 'offline' ? state : undefined;
    handlers.connection({
      state: 'reconnecting',
      phase,
      retryBy: connection.retryAt,
      url: currentUrl,
      since: offline?.since ?? Date.now(),
      attempt: connection.attempt,
      reason:
        offline?.lastError === undefined
          ? closeReason(currentUrl, connection.code)
          : describeError(offline.lastError.code, offline.lastError.message),
    });
  };

  /** The subscription caught up (again): say how, when it had been live before. */
  const onState = (state: SubscriptionState) => {
    if (state.phase !== 'live') return;
    const recovery = recoveryOf(state);
    if (state.again && recovery !== 'fresh') {
      const gone =
        state.offlineSince === undefined
          ? ''
          : ` after ${((Date.now() - state.offlineSince) / 1000).toFixed(1)} s`;
      handlers.notice(
        recovery === 'resumed'
          ? `Resumed on ${client.gateway ?? 'gateway'}${gone}, nothing missed`
          : `Reset on ${client.gateway ?? 'gateway'}${gone}, fresh snapshot loaded`,
        'info',
      );
    }
    showConnected();
  };

  client.on('state', (event) => {
    currentUrl = event.url ?? currentUrl;
    switch (event.state) {
      case 'idle':
      case 'connecting':
        if (event.attempt === 0) handlers.connection({ state: 'connecting', url: currentUrl });
        else reconnecting('connecting', event);
        return;
      case 'connected':
        showConnected();
        return;
      case 'disconnected': {
        if (event.previous === 'connected')
          handlers.notice(`Lost ${hostOf(currentUrl)}; reconnecting`, 'warn');
        reconnecting('waiting', event);
        return;
      }
      case 'closed':
        handlers.connection({ state: 'closed', reason: 'Closed' });
        return;
    }
  });

  client.on('error', (event) => {
    // A browser reports nothing useful about a failed socket; only the gateway's own errors
    // (refused token, bad request) say something worth showing.
    if (event.code === 'connect_failed') return;
    if (event.sub === sub)
      handlers.notice(`Gateway error: ${describeError(event.code, event.message)}`, 'warn');
  });

  client.on('snapshot', (event) => {
    if (event.sub !== sub) return;
    handlers.snapshot([...event.rows.values()]);
  });

  client.on('change', (event) => {
    if (event.sub !== sub || !event.applied) return;
    const { op, effect, row, before, committedAt } = event.change;
    handlers.change({ op, effect, row, before, committedAt });
  });

  client.on('reset', (event) => {
    if (event.sub !== sub) return;
    handlers.notice(resetNotice(event.reason), 'warn');
  });

  return {
    setFilter(next) {
      // A new subscription, not a mutation: the gateway sends the new view's snapshot.
      unwatch();
      sub.unsubscribe();
      sub = client.subscribe(toClientFilter(next));
      unwatch = sub.on('state', ({ state }) => onState(state));
      showConnected();
    },
    close() {
      client.close();
    },
  };
}

/** How the subscription joined the stream on this connection, as the connection line shows it. */
function recoveryOf(state: SubscriptionState): Recovery {
  if (state.phase !== 'live') return 'syncing';
  if (state.reset !== undefined) return 'reset';
  return state.recovered ? 'resumed' : 'fresh';
}

function toClientFilter(filter: OrdersFilter): SubscriptionFilter {
  return {
    ...(filter.status === undefined ? {} : { status: [...filter.status] }),
    ...(filter.customer === undefined ? {} : { customer: filter.customer }),
  };
}

function describeError(code: string, message: string): string {
  return message ? `${code}: ${message}` : code;
}

/** Why the last socket ended, as far as the browser lets the page know. */
function closeReason(url: string, code: number | undefined): string {
  // 1006 is the browser's own "no close frame": the gateway was unreachable or went away.
  if (code === undefined || code === 1006) return `${hostOf(url)} unreachable`;
  return `${hostOf(url)} closed the connection (${code})`;
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}
