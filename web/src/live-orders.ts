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
  let recovery: Recovery = 'syncing';
  let resetPending = false;
  let everLive = false;
  let disconnectedAt = 0;
  let lastError = '';

  const showConnected = () => {
    const gateway = client.gateway;
    if (client.state !== 'connected' || gateway === undefined) return;
    handlers.connection({ state: 'connected', gateway, url: currentUrl, recovery });
  };

  let currentUrl = config.gatewayUrls[0] ?? '';
  const reconnecting = (phase: 'waiting' | 'connecting', connection: ConnectionState) => {
    handlers.connection({
      state: 'reconnecting',
      phase,
      retryBy: connection.retryAt,
      url: currentUrl,
      since: disconnectedAt || Date.now(),
      attempt: connection.attempt,
      reason: lastError || closeReason(currentUrl, connection.code),
    });
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
        recovery = 'syncing';
        showConnected();
        return;
      case 'disconnected': {
        if (event.previous === 'connected') {
          disconnectedAt = Date.now();
          handlers.notice(`Lost ${hostOf(currentUrl)}; reconnecting`, 'warn');
        }
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
    lastError = describeError(event.code, event.message);
    if (event.sub === sub) handlers.notice(`Gateway error: ${lastError}`, 'warn');
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
    resetPending = true;
    handlers.notice(resetNotice(event.reason), 'warn');
  });

  client.on('live', (event) => {
    if (event.sub !== sub) return;
    lastError = '';
    if (resetPending) recovery = 'reset';
    else if (event.recovered) recovery = 'resumed';
    else recovery = 'fresh';
    if (everLive && recovery !== 'fresh') {
      const gone = disconnectedAt ? ` after ${((Date.now() - disconnectedAt) / 1000).toFixed(1)} s` : '';
      handlers.notice(
        recovery === 'resumed'
          ? `Resumed on ${client.gateway ?? 'gateway'}${gone}, nothing missed`
          : `Reset on ${client.gateway ?? 'gateway'}${gone}, fresh snapshot loaded`,
        'info',
      );
    }
    resetPending = false;
    everLive = true;
    disconnectedAt = 0;
    showConnected();
  });

  return {
    setFilter(next) {
      // A new subscription, not a mutation: the gateway sends the new view's snapshot.
      sub.unsubscribe();
      sub = client.subscribe(toClientFilter(next));
      recovery = 'syncing';
      resetPending = false;
      showConnected();
    },
    close() {
      client.close();
    },
  };
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
